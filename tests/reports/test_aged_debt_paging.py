"""Aged debt pages its insurers or patients, largest debt first, summed in the database: the pages
together are every row once, the totals are every page's (and the invoices' balances), and the
CSV export streams every row whatever page the screen shows."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.db import transaction
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openpractice.billing.models import BillTo, Invoice, RecordStatus
from openpractice.reports import selectors
from tests.list_world import TODAY, build_world

pytestmark = pytest.mark.django_db
ZERO = Decimal("0.00")


def _balances(practice, bill_to: str) -> dict[int, Decimal]:
    """Each payer's debt, added up here from the invoices one by one."""
    owed: dict[int, Decimal] = {}
    for invoice in Invoice.objects.filter(practice=practice, bill_to=bill_to, record_status=RecordStatus.ISSUED):
        if invoice.balance:
            key = invoice.patient_id if bill_to == BillTo.PATIENT else invoice.insurer_contact_id
            owed[key] = owed.get(key, ZERO) + invoice.balance
    return owed


@pytest.mark.parametrize("by", ["patient", "insurer"])
def test_the_pages_are_every_row_once_and_the_totals_are_theirs(practice, by):
    build_world(practice, invoices=150, patients=40)
    first = selectors.aged_debt(practice=practice, by=by, page=1, page_size=4, today=TODAY)
    rows = []
    for page in range(1, first.pages + 1):
        report = selectors.aged_debt(practice=practice, by=by, page=page, page_size=4, today=TODAY)
        assert (report.total, report.totals, report.payers) == (first.total, first.totals, first.payers)
        rows += report.rows
    expected = _balances(practice, BillTo.PATIENT if by == "patient" else BillTo.INSURER)
    assert {r.key: r.total for r in rows} == expected and len(rows) == len(expected) == first.payers
    assert [r.total for r in rows] == sorted((r.total for r in rows), reverse=True)
    assert sum((r.total for r in rows), ZERO) == first.total == sum(expected.values(), ZERO)
    for i in range(4):
        assert sum((r.buckets[i] for r in rows), ZERO) == first.totals[i]
    assert sum(r.invoices for r in rows) == first.invoices
    exported = list(selectors.aged_debt_export(practice=practice, by=by, today=TODAY))
    assert [(r.key, r.label, r.buckets, r.invoices) for r in exported] == [
        (r.key, r.label, r.buckets, r.invoices) for r in rows
    ]


def test_a_page_out_of_range_is_the_nearest_page(practice):
    build_world(practice, invoices=60, patients=30)
    last = selectors.aged_debt(practice=practice, by="patient", page=10_000, page_size=5)
    assert last.page == last.pages > 1 and last.rows
    assert selectors.aged_debt(practice=practice, by="patient", page=-3, page_size=5).page == 1


amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99999.99"), places=2)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    bills=st.lists(
        st.tuples(st.integers(0, 5), amounts, st.integers(0, 100), st.integers(0, 200)), min_size=1, max_size=25
    ),
    page_size=st.integers(1, 4),
)
def test_paged_sums_equal_the_invoices_for_any_amounts(practice, bills, page_size):
    with transaction.atomic():
        world = build_world(practice, invoices=0, patients=6)
        for patient, total, paid_percent, age in bills:
            paid = (total * paid_percent / 100).quantize(Decimal("0.01"))
            Invoice.objects.create(
                practice=practice,
                number=f"H{Invoice.objects.count():06d}",
                bill_to=BillTo.PATIENT,
                patient=world.patients[patient],
                practitioner=world.practitioner,
                invoice_date=TODAY - dt.timedelta(days=age),
                record_status=RecordStatus.ISSUED,
                total=total,
                paid_total=paid,
            )
        expected = _balances(practice, BillTo.PATIENT)
        report = selectors.aged_debt(practice=practice, by="patient", page=1, page_size=page_size, today=TODAY)
        rows = list(report.rows)
        for page in range(2, report.pages + 1):
            rows += selectors.aged_debt(
                practice=practice, by="patient", page=page, page_size=page_size, today=TODAY
            ).rows
        assert {r.key: r.total for r in rows} == expected
        assert report.total == sum(expected.values(), ZERO) == sum(report.totals, ZERO)
        transaction.set_rollback(True)


def _client(world) -> Client:
    client = Client()
    client.force_login(world.user)
    return client


def test_the_page_shows_one_page_and_the_totals_of_all(practice, monkeypatch):
    monkeypatch.setattr(selectors, "DEBT_PAGE_SIZE", 5)
    world = build_world(practice, invoices=90, patients=30)
    client = _client(world)
    first = client.get("/reports/aged-debt/?by=patient")
    report = first.context["report"]
    assert len(report.rows) == 5 and report.pages > 1
    html = first.content.decode()
    assert f"Page 1 of {report.pages}" in html and 'rel="next"' in html and 'rel="prev"' not in html
    second = client.get("/reports/aged-debt/?by=patient&page=2")
    assert (
        second.context["report"].total == report.total
        and second.context["report"].rows[0].total <= report.rows[-1].total
    )
    assert client.get("/reports/aged-debt/?by=patient&page=nonsense").status_code == 200


def test_the_csv_streams_every_row_and_the_total(practice, monkeypatch):
    world = build_world(practice, invoices=90, patients=30)
    answer = _client(world).get("/reports/aged-debt/?by=patient&format=csv")
    assert answer.streaming and answer["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(answer.streaming_content).decode())))
    report = selectors.aged_debt(practice=practice, by="patient", page_size=0)
    assert rows[0][0] == "Patient" and len(rows) == report.payers + 2
    assert rows[-1] == ["Total", *(str(t) for t in report.totals), str(report.total), str(report.invoices)]
    assert sum((Decimal(r[5]) for r in rows[1:-1]), ZERO) == report.total
