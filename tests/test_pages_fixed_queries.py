"""Every list and report page runs the same number of queries whatever the size of the practice's
history (issue 18): each page is opened in a small world and in a bigger one (tests/list_world.py:
several pages of invoices, patients, remittances) and the two counts must be equal. A page that
reads a query per row (an N+1), or counts its way through every row page by page, fails here."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.list_world import build_world

pytestmark = pytest.mark.django_db

# Each page: a name, and its address in a world (some name a row of that world).
PAGES = [
    ("invoice list", lambda w: "/invoices/"),
    ("invoice list, older page", lambda w: None),  # filled in from the first page's Older link
    ("invoice list, search by number", lambda w: "/invoices/?q=lst0000"),
    ("invoice list, search by surname", lambda w: "/invoices/?q=benn"),
    ("invoice list, status", lambda w: "/invoices/?healthcode_status=not_submitted"),
    ("invoice list, insurer", lambda w: f"/invoices/?insurer={w.insurers[0].pk}"),
    ("invoice list, practitioner and age", lambda w: f"/invoices/?practitioner={w.practitioner.pk}&age=90%2B"),
    ("invoice list, owing patient bills", lambda w: "/invoices/?bill_to=patient&owing=1&record_status=issued"),
    ("invoices of a patient", lambda w: f"/patients/{w.patients[0].pk}/invoices/"),
    ("aged debt by insurer", lambda w: "/reports/aged-debt/"),
    ("aged debt by patient", lambda w: "/reports/aged-debt/?by=patient"),
    ("aged debt by patient, page 2", lambda w: "/reports/aged-debt/?by=patient&page=2"),
    ("aged debt by patient, CSV", lambda w: "/reports/aged-debt/?by=patient&format=csv"),
    ("bills by Healthcode status", lambda w: "/reports/bills/"),
    ("payments received", lambda w: "/reports/payments/"),
    ("payments received, by week", lambda w: "/reports/payments/?period=week"),
    ("days to payment", lambda w: "/reports/days-to-payment/"),
    ("consultant report", lambda w: "/reports/consultant/?month=2026-06"),
    ("consultant report, CSV", lambda w: "/reports/consultant/?month=2026-06&format=csv"),
    ("remittances inbox", lambda w: "/remittances/"),
    ("one remittance", lambda w: f"/remittances/{w.batches[0].pk}/"),
    ("remittances to review", lambda w: "/remittances/review/"),
    ("shortfalls", lambda w: "/remittances/shortfalls/"),
    ("patients", lambda w: "/patients/"),
    ("patients, search", lambda w: "/patients/?q=benn"),
    ("contacts", lambda w: "/contacts/"),
    ("products", lambda w: "/products/"),
    ("invoice list, not ready to submit", lambda w: "/invoices/?view=not_ready"),
    ("dashboard", lambda w: "/"),
    ("bureau queue", lambda w: "/bureau/"),
    ("bureau queue, not ready", lambda w: "/bureau/?kind=not_ready"),
    ("bureau queue, ready", lambda w: "/bureau/?kind=ready"),
    ("bureau queue, remittance lines", lambda w: "/bureau/?kind=remittances&age=0-30"),
    ("bureau queue, debts by practice", lambda w: f"/bureau/?kind=debts&practice={w.practice.pk}"),
    ("insurer debt", lambda w: "/collections/insurers/"),
    ("insurer debt, one insurer and age", lambda w: f"/collections/insurers/?insurer={w.insurers[0].pk}&age=90"),
    ("insurer debt, next page", lambda w: "/collections/insurers/?after=2026-01-01.1"),
    ("insurer disputes", lambda w: "/collections/disputes/"),
    ("collection rate and debtor days", lambda w: "/reports/collection/?start=2024-01-01&end=2026-12-31&days=365"),
    ("write-offs by month", lambda w: "/reports/write-offs/?start=2024-01-01&end=2026-12-31"),
    ("write-offs, CSV", lambda w: "/reports/write-offs/?start=2024-01-01&end=2026-12-31&format=csv"),
    ("insurer disputes, one insurer, all", lambda w: f"/collections/disputes/?status=all&insurer={w.insurers[0].pk}"),
]


def _queries(client: Client, url: str) -> tuple[int, list[str]]:
    client.get(url)  # sessions, caches and the like warmed: what is counted is the page's own
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
        if getattr(response, "streaming", False):
            b"".join(response.streaming_content)
    assert response.status_code == 200, url
    return len(captured.captured_queries), [q["sql"] for q in captured.captured_queries]


def _older_link(client: Client) -> str:
    html = client.get("/invoices/").content.decode()
    start = html.index('" rel="next">Older')
    return "/invoices/" + html[html.rindex('href="', 0, start) + 6 : start].replace("&amp;", "&")


@pytest.fixture(scope="module")
def worlds(django_db_blocker, django_db_setup):
    """A small world and a bigger one, each its own practice and signed-in owner: built once for
    the module in a transaction rolled back at its end (each test's own is a savepoint inside)."""
    from django.db import transaction

    from openpractice.bureaus import services as bureau_services
    from openpractice.healthcode.stored_checks import recheck_all
    from openpractice.practices.models import Practice

    with django_db_blocker.unblock(), transaction.atomic():
        small = build_world(Practice.objects.create(name="Small Clinic"), invoices=60, patients=5)
        big = build_world(Practice.objects.create(name="Big Clinic"), invoices=400, patients=120)
        # "Not ready" and the dashboard read stored check results, as the schedule leaves them.
        recheck_all(practice=small.practice)
        recheck_all(practice=big.practice)
        for world in (small, big):  # each owner works for a bureau of their one practice: the bureau pages
            bureau = bureau_services.create_bureau(name=f"Bureau of {world.practice.name}")
            bureau_services.add_practice(bureau=bureau, practice=world.practice)
            bureau_services.add_staff(bureau=bureau, user=world.user)
        yield small, big
        transaction.set_rollback(True)


@pytest.mark.parametrize("name", [name for name, _ in PAGES])
def test_a_page_runs_the_same_queries_in_a_small_and_a_big_world(worlds, name):
    counts = []
    for world in worlds:
        client = Client()
        client.force_login(world.user)
        url = (
            dict(PAGES)[name](world) or _older_link(client) if name.endswith("older page") else dict(PAGES)[name](world)
        )
        counts.append(_queries(client, url))
    (small, small_sql), (big, big_sql) = counts
    assert small == big, f"{name}: {small} queries with a small world, {big} with a big one\n" + "\n".join(big_sql[:60])
