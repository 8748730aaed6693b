"""The invoice list pages by keyset on (invoice date, id), newest first: Older and Newer walk the
whole list without gaps or repeats, under every filter and search; a cursor that has been
tampered with (or is not one) shows the first page, never a server error; and the list never
counts every row."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from openpractice.billing import selectors
from openpractice.billing.models import HealthcodeStatus, Invoice, RecordStatus
from tests.list_world import build_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(practice):
    return build_world(practice, invoices=130, patients=20)


def _expected(world, **filters) -> list[int]:
    return list(selectors.search_invoices(practice=world.practice, **filters).values_list("pk", flat=True))


def _walk(practice, *, page_size=7, **filters) -> tuple[list[int], list[selectors.InvoicePage]]:
    pages, seen, after = [], [], None
    while True:
        page = selectors.invoice_page(practice=practice, after=after, page_size=page_size, **filters)
        pages.append(page)
        seen += [i.pk for i in page.rows]
        if not page.older:
            return seen, pages
        after = page.older


def test_older_walks_every_invoice_once_in_list_order(world):
    seen, pages = _walk(world.practice)
    everyone = list(
        Invoice.objects.filter(practice=world.practice).order_by("-invoice_date", "-id").values_list("pk", flat=True)
    )
    assert seen == everyone and len(seen) == 130
    assert pages[0].newer is None and all(p.newer for p in pages[1:])
    assert all(len(p.rows) == 7 for p in pages[:-1])


def test_newer_comes_back_to_the_same_pages(world):
    _, pages = _walk(world.practice)
    for earlier, later in zip(pages, pages[1:]):
        back = selectors.invoice_page(practice=world.practice, before=later.newer, page_size=7)
        assert [i.pk for i in back.rows] == [i.pk for i in earlier.rows]
        assert back.older == earlier.older
        assert (back.newer is None) == (earlier.newer is None)


@pytest.mark.parametrize(
    "filters",
    [
        {"healthcode_status": HealthcodeStatus.FAILED},
        {"record_status": RecordStatus.DRAFT},
        {"age": "90+"},
        {"bill_to": "patient", "owing": True},
        {"query": "benn"},  # surname prefix: Bennett and Benson
        {"query": "lst00001"},  # number prefix, typed in lower case
        {"query": "Patel", "healthcode_status": HealthcodeStatus.FAILED},
    ],
)
def test_filters_and_search_page_like_the_whole_filter(world, filters):
    seen, _ = _walk(world.practice, page_size=4, **filters)
    assert seen == _expected(world, **filters)
    assert seen, "the world has invoices for every filter here"


def test_filter_by_insurer_and_practitioner(world):
    bupa = world.insurers[0]
    seen, _ = _walk(world.practice, insurer_id=bupa.pk, practitioner_id=world.practitioner.pk)
    assert seen and seen == _expected(world, insurer_id=bupa.pk, practitioner_id=world.practitioner.pk)
    assert set(Invoice.objects.filter(pk__in=seen).values_list("insurer_contact", flat=True)) == {bupa.pk}


def test_search_merges_number_and_surname_matches(practice):
    world = build_world(practice, invoices=12, patients=8)
    # A surname that looks like the number prefix: "Lst" patients and LST numbers both match "lst".
    namesake = world.patients[0]
    namesake.last_name, namesake.last_name_key = "Lstone", "lstone"
    namesake.save()
    found = selectors.invoice_page(practice=practice, query="lst")
    numbered = set(Invoice.objects.filter(practice=practice).exclude(number="").values_list("pk", flat=True))
    namesakes = set(Invoice.objects.filter(patient=namesake).values_list("pk", flat=True))
    assert {i.pk for i in found.rows} == numbered | namesakes
    assert namesakes - numbered, "a draft of the namesake is found by surname alone"
    keys = [(i.invoice_date, i.pk) for i in found.rows]
    assert keys == sorted(keys, reverse=True)


def test_a_search_finds_nothing_of_another_practice(practice, other_practice):
    build_world(practice, invoices=6)
    build_world(other_practice, invoices=6)
    page = selectors.invoice_page(practice=practice, query="benn")
    assert page.rows and all(i.practice_id == practice.pk for i in page.rows)


@pytest.mark.parametrize("cursor", ["", "x", "2026-01-01.5", "2026-01-01.5:forged", "%00", "a" * 5000])
def test_a_bad_cursor_is_the_first_page(world, cursor):
    first = selectors.invoice_page(practice=world.practice)
    for key in ("after", "before"):
        page = selectors.invoice_page(practice=world.practice, **{key: cursor})
        assert [i.pk for i in page.rows] == [i.pk for i in first.rows]


def test_a_cursor_edited_to_skip_ahead_is_refused(world):
    page = selectors.invoice_page(practice=world.practice)
    value, signature = page.older.rsplit(":", 1)
    forged = f"2020-01-01.{value.split('.')[1]}:{signature}"
    assert selectors.read_cursor(page.older) is not None
    assert selectors.read_cursor(forged) is None


def test_the_count_is_capped(practice, monkeypatch):
    build_world(practice, invoices=30)
    monkeypatch.setattr(selectors, "COUNT_CAP", 20)
    page = selectors.invoice_page(practice=practice, page_size=10)
    assert (page.count, page.count_capped) == (20, True)
    exact = selectors.invoice_page(practice=practice, page_size=10, healthcode_status=HealthcodeStatus.FAILED)
    assert (exact.count, exact.count_capped) == (
        Invoice.objects.filter(practice=practice, healthcode_status=HealthcodeStatus.FAILED).count(),
        False,
    )


# -- the page -------------------------------------------------------------------------------------
def _client(world) -> Client:
    client = Client()
    client.force_login(world.user)
    return client


def _numbers_and_links(html: str) -> tuple[list[str], str | None, str | None]:
    rows = re.findall(r'<a href="/invoices/(\d+)/">', html)
    older = re.search(r'<a href="\?([^"]*)" rel="next">Older', html)
    newer = re.search(r'<a href="\?([^"]*)" rel="prev">', html)
    return (
        rows,
        (older.group(1).replace("&amp;", "&") if older else None),
        (newer.group(1).replace("&amp;", "&") if newer else None),
    )


def test_the_page_walks_older_and_newer_keeping_its_filters(world):
    client = _client(world)
    expected = [str(pk) for pk in _expected(world, bill_to="insurer")]
    assert len(expected) > 50
    first = client.get("/invoices/?bill_to=insurer").content.decode()
    rows, older, newer = _numbers_and_links(first)
    assert rows == expected[:50] and newer is None and older.startswith("bill_to=insurer&after=")
    assert "invoices, 50 on this page" in first
    second = client.get(f"/invoices/?{older}").content.decode()
    rows2, older2, newer2 = _numbers_and_links(second)
    assert rows2 == expected[50:100] and older2 is None and newer2.startswith("bill_to=insurer&before=")
    back = client.get(f"/invoices/?{newer2}").content.decode()
    assert _numbers_and_links(back)[0] == expected[:50]


def test_the_page_with_a_tampered_cursor_is_the_first_page(world):
    client = _client(world)
    first = client.get("/invoices/")
    for bad in ("after=nonsense", "before=2026-01-01.1:abc", "after=%FF%FE"):
        answer = client.get(f"/invoices/?{bad}")
        assert answer.status_code == 200
        assert _numbers_and_links(answer.content.decode())[0] == _numbers_and_links(first.content.decode())[0]


def test_a_short_list_has_no_pager(practice):
    world = build_world(practice, invoices=5)
    html = _client(world).get("/invoices/").content.decode()
    assert "5 invoices." in html and 'rel="next"' not in html and 'rel="prev"' not in html


def test_a_search_is_not_counted_beyond_its_page(practice):
    build_world(practice, invoices=12, patients=4)
    page = selectors.invoice_page(practice=practice, query="lst", page_size=5)
    assert (page.count, page.count_capped) == (5, True)
    last = selectors.invoice_page(practice=practice, query="benn", page_size=50)
    assert (last.count, last.count_capped) == (len(last.rows), False)


def test_select_all_matching_is_counted_unless_searching(practice):
    world = build_world(practice, invoices=300, patients=20)
    client = _client(world)
    submittable = selectors.submittable_matching(practice=world.practice).count()
    assert submittable > 50
    listing = client.get("/invoices/").content.decode()
    assert f"Select all {submittable} matching this filter" in listing
    searched = client.get("/invoices/?q=lst").content.decode()
    assert "Select all matching this filter" in searched and 'name="q" value="lst"' in searched


@pytest.mark.parametrize(
    "url",
    ["/invoices/", "/invoices/?q=benn", "/invoices/?q=lst", "/invoices/?bill_to=patient&owing=1"],
)
def test_a_page_of_rows_costs_what_a_page_of_one_does(practice, url):
    """The list reads each row's columns alone (selectors.LIST_FIELDS): a column the page shows
    but the read leaves out would cost a query per row, which a page of 50 rows and a page of
    one tell apart (the fixed-queries test compares two worlds of full pages, which it cannot)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from openpractice.healthcode.stored_checks import recheck_all

    world = build_world(practice, invoices=120, patients=10)
    recheck_all(practice=practice)
    client = _client(world)
    counts = []
    for size in (1, 50):
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(selectors, "PAGE_SIZE", size)
            patch.setattr(
                selectors.invoice_page, "__kwdefaults__", {**selectors.invoice_page.__kwdefaults__, "page_size": size}
            )
            client.get(url)
            with CaptureQueriesContext(connection) as captured:
                response = client.get(url)
        assert response.status_code == 200
        counts.append(len(captured.captured_queries))
    assert counts[0] == counts[1], counts
