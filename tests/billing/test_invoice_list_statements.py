"""The invoice list's hand-written reads and markup (issue 18) against what they replace: each
filter's page, paged both ways, is the ORM's `search_invoices`; "Select all N matching" counts what
the ORM's `submittable_matching` holds; the filter form's <option>s, built in the view, are the
markup of the template's loops they replaced; and another practice's invoices never show."""

from __future__ import annotations

import pytest
from django.template import Context, Template

from openpractice.billing import selectors
from openpractice.billing.models import HealthcodeStatus, RecordStatus
from openpractice.billing.views import _filter_options
from tests.list_world import TODAY, build_world

pytestmark = pytest.mark.django_db

FILTERS = [
    {},
    {"owing": True},
    {"bill_to": "insurer", "record_status": RecordStatus.ISSUED},
    {"healthcode_status": HealthcodeStatus.NOT_SUBMITTED, "age": "0-30"},
    {"age": "31-60"},
    {"age": "90+", "bill_to": "patient"},
    {"query": "benn", "age": "90+"},
    {"query": "LST0000"},
    {"query": "5"},  # neither a number's start nor a surname's: nothing
    {"healthcode_status": "no such status", "bill_to": "nobody", "record_status": "?", "age": "old"},
]


@pytest.fixture
def world(practice, other_practice):
    build_world(other_practice, invoices=40, patients=8)
    return build_world(practice, invoices=90, patients=12)


def _filters(world, filters: dict) -> dict:
    return {"today": TODAY, **filters}


@pytest.mark.parametrize("filters", FILTERS)
def test_each_filter_pages_both_ways_as_the_orm_reads_it(world, filters):
    filters = _filters(world, filters)
    expected = list(selectors.search_invoices(practice=world.practice, **filters).values_list("pk", flat=True))
    pages, seen, after = [], [], None
    while True:
        page = selectors.invoice_page(practice=world.practice, after=after, page_size=6, **filters)
        pages.append(page)
        seen += [row.pk for row in page.rows]
        if not page.older:
            break
        after = page.older
    assert seen == expected
    for earlier, later in zip(pages, pages[1:]):
        back = selectors.invoice_page(practice=world.practice, before=later.newer, page_size=6, **filters)
        assert [row.pk for row in back.rows] == [row.pk for row in earlier.rows]


def test_insurer_and_practitioner_filters_and_the_rows_columns(world):
    filters = _filters(world, {"insurer_id": world.insurers[0].pk, "practitioner_id": world.practitioner.pk})
    page = selectors.invoice_page(practice=world.practice, page_size=200, **filters)
    orm = list(selectors.search_invoices(practice=world.practice, **filters))
    assert page.rows and [row.pk for row in page.rows] == [i.pk for i in orm]
    for row, invoice in zip(page.rows, orm):
        assert (row.number, row.invoice_date, row.total, row.balance) == (
            invoice.number,
            invoice.invoice_date,
            invoice.total,
            invoice.balance,
        )
        assert (row.patient.last_name, row.insurer_contact.name, row.practitioner.user.full_name) == (
            invoice.patient.last_name,
            invoice.insurer_contact.name,
            invoice.practitioner.user.full_name,
        )


@pytest.mark.parametrize("filters", [f for f in FILTERS if not f.get("query")])
def test_the_count_and_select_all_count_are_the_orms(world, filters, monkeypatch):
    monkeypatch.setattr(selectors, "COUNT_CAP", 25)
    filters = _filters(world, filters)
    everything = selectors.search_invoices(practice=world.practice, **filters).count()
    page = selectors.invoice_page(practice=world.practice, **filters)
    assert (page.count, page.count_capped) == (min(everything, 25), everything > 25)
    submittable = selectors.submittable_matching(practice=world.practice, **filters).count()
    assert selectors.count_submittable(practice=world.practice, **filters) == min(submittable, 26)


def test_an_id_no_row_can_have_matches_nothing(world):
    for filters in ({"insurer_id": 10**20}, {"practitioner_id": -(10**20), "age": "90+"}):
        page = selectors.invoice_page(practice=world.practice, **filters)
        assert (page.rows, page.count) == ([], 0)
        assert selectors.count_submittable(practice=world.practice, **filters) == 0
        assert not selectors.search_invoices(practice=world.practice, **filters).exists()


def test_no_other_practices_invoice(world, other_practice):
    page = selectors.invoice_page(practice=other_practice, page_size=200)
    assert len(page.rows) == 40 and all(row.practice_id == other_practice.pk for row in page.rows)
    assert selectors.invoice_page(practice=None).rows == []


# The filter form's loops as billing/list.html had them before the view built its <option>s.
OLD_OPTIONS = {
    "healthcode_status": '{% for value, label in statuses %}<option value="{{ value }}" {% if value == filters.healthcode_status %}selected{% endif %}>{{ label }}</option>{% endfor %}',
    "insurer": '{% for c in insurers %}<option value="{{ c.id }}" {% if c.id == filters.insurer_id %}selected{% endif %}>{{ c.name }}</option>{% endfor %}',
    "practitioner": '{% for m in practitioners %}<option value="{{ m.id }}" {% if m.id == filters.practitioner_id %}selected{% endif %}>{{ m.full_name }}</option>{% endfor %}',
    "age": "{% for a in ages %}<option {% if a == filters.age %}selected{% endif %}>{{ a }}</option>{% endfor %}",
}


@pytest.mark.parametrize(
    "filters",
    [
        {"healthcode_status": "", "insurer_id": None, "practitioner_id": None, "age": ""},
        {"healthcode_status": HealthcodeStatus.FAILED, "insurer_id": 7, "practitioner_id": 12, "age": "90+"},
        {"healthcode_status": "bogus", "insurer_id": 999, "practitioner_id": 3, "age": "0-30"},
    ],
)
def test_the_options_are_the_markup_of_the_old_loops(filters):
    insurers = [{"id": 7, "name": "Bupa & Co <Health>"}, {"id": 1234, "name": 'A "quoted" insurer'}]
    practitioners = [{"id": 3, "full_name": "Dr O'Neil"}, {"id": 12, "full_name": "Zoë Smith"}]
    context = {
        "statuses": HealthcodeStatus.choices,
        "insurers": insurers,
        "practitioners": practitioners,
        "ages": list(selectors.AGE_BUCKETS),
        "filters": filters,
    }
    new = _filter_options(filters, insurers, practitioners)
    for name, old in OLD_OPTIONS.items():
        assert new[name] == Template(old).render(Context(context)), name
    assert ("selected" in new["age"]) == bool(filters["age"])
