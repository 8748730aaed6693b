"""Posting in bulk (services.allocate_lines through openpractice.db.bulk): the same guarantees as one
line at a time, across chunk boundaries, with lines for one invoice twice in a batch, and nothing
written when posting fails part way."""

from __future__ import annotations

import gc
from decimal import Decimal

import pytest
from remit_helpers import bundle, dumps, receive

from openpractice.billing.models import Invoice, InvoiceLine, PaymentOutcome
from openpractice.db import arrays, bulk
from openpractice.remittances import services
from openpractice.remittances.models import Allocation, BatchStatus, LineStatus, RemittanceBatch, RemittanceLine
from openpractice.reports import selectors as reports

D = Decimal


@pytest.fixture
def small_chunks(monkeypatch):
    """Two values per query: a handful of invoices crosses several chunk boundaries."""
    monkeypatch.setattr(arrays, "ANYOF_CHUNK", 2)


def test_anyof_lookup_matches_in_and_handles_empty_and_quotes(world):
    invoices = [world.invoice() for _ in range(3)]
    numbers = [i.number for i in invoices]
    found = set(
        Invoice.objects.filter(number__anyof=[numbers[0], numbers[2], "O'Brien", None]).values_list("number", flat=True)
    )
    assert found == {numbers[0], numbers[2]}
    assert not Invoice.objects.filter(pk__anyof=[]).exists()
    assert set(InvoiceLine.objects.filter(invoice_id__anyof=[invoices[1].pk]).values_list("invoice_id", flat=True)) == {
        invoices[1].pk
    }


TRICKY = ['say "hi"', "back\\slash", "a,b", "{braces}", "NULL", "tab\there", "  spaced ", "O'Brien", ""]


def test_anyof_and_update_rows_keep_text_exactly(world):
    """Text goes to PostgreSQL as one array literal: quotes, backslashes, commas, braces and the
    word NULL must arrive as written (SQLite takes them as JSON)."""
    from openpractice.patients.models import Patient

    patients = [
        Patient.objects.create(
            practice=world.practice, first_name="T", last_name=f"x{i}", date_of_birth=world.patient.date_of_birth
        )
        for i in range(len(TRICKY))
    ]
    bulk.update_rows(
        Patient._meta.db_table, (("last_name", "text"),), [(name, p.pk) for name, p in zip(TRICKY, patients)]
    )
    stored = dict(
        Patient.objects.filter(pk__anyof=arrays.Values(p.pk for p in patients)).values_list("pk", "last_name")
    )
    assert [stored[p.pk] for p in patients] == TRICKY
    for chunk in bulk.chunks(TRICKY, 4):
        found = set(
            Patient.objects.filter(practice=world.practice, last_name__anyof=chunk).values_list("last_name", flat=True)
        )
        assert found == set(chunk)


def test_posting_across_chunks_allocates_every_line(world, small_chunks):
    invoices = [world.invoice() for _ in range(5)] + [world.invoice("Consultation", "Follow-up")]
    batch = receive(
        world.practice,
        bundle(
            [{"invoice": i} for i in invoices[:4]]
            + [{"invoice": invoices[4], "paid": ["150.00"]}, {"invoice": invoices[5], "paid": ["180.00", "100.00"]}]
        ),
    )
    assert batch.status == BatchStatus.POSTED
    assert batch.lines.filter(status=LineStatus.ALLOCATED).count() == 6
    for invoice in invoices:
        invoice.refresh_from_db()
        ledger = sum((a.amount for a in Allocation.objects.filter(invoice=invoice)), D("0.00"))
        assert invoice.paid_total == ledger
    assert invoices[0].payment_outcome == PaymentOutcome.PAID
    assert invoices[4].balance == D("30.00") and invoices[4].payment_outcome == PaymentOutcome.PART_PAID
    assert invoices[5].balance == D("20.50")
    rows = Allocation.objects.filter(invoice=invoices[5]).order_by("invoice_line__sequence")
    assert [(r.invoice_line.sequence, r.amount) for r in rows] == [(1, D("180.00")), (2, D("100.00"))]
    report = reports.aged_debt(practice=world.practice, by="insurer")
    owed = sum((i.balance for i in Invoice.objects.filter(practice=world.practice)), D("0.00"))
    assert report.total == owed == D("50.50")


def test_same_invoice_twice_in_one_batch_never_pays_more_than_owed(world):
    twice, split = world.invoice(), world.invoice()
    body = bundle([{"invoice": twice}, {"invoice": split, "paid": ["90.00"]}])
    # The second bill for each invoice in the same remittance: the first pays 180 of 180, so a
    # second 180 exceeds the balance; 90 + 90 pays the other invoice exactly.
    more = bundle([{"invoice": twice}, {"invoice": split, "paid": ["90.00"]}])
    reconciliation = body["entry"][0]["resource"]
    extra = more["entry"][0]["resource"]
    reconciliation["detail"] += extra["detail"]
    body["entry"] += more["entry"][1:]
    batch = receive(world.practice, body)
    lines = list(batch.lines.order_by("sequence"))
    assert [line.status for line in lines] == [
        LineStatus.ALLOCATED,
        LineStatus.ALLOCATED,
        LineStatus.REVIEW,
        LineStatus.ALLOCATED,
    ]
    assert "only £0.00 is owed" in lines[2].problem
    twice.refresh_from_db()
    split.refresh_from_db()
    assert twice.paid_total == D("180.00") and twice.balance == 0
    assert split.paid_total == D("180.00") and split.payment_outcome == PaymentOutcome.PAID
    assert Allocation.objects.filter(invoice=twice).count() == 1
    assert Allocation.objects.filter(invoice=split).count() == 2


def test_a_line_paying_more_than_its_charge_line_owes_waits(world):
    invoice = world.invoice("Consultation", "Follow-up")  # 180.00 + 120.50
    batch = receive(world.practice, bundle([{"invoice": invoice, "paid": ["200.00", "50.00"]}]))
    line = batch.lines.get()
    assert line.status == LineStatus.REVIEW and "which owes £180.00" in line.problem
    assert not Allocation.objects.filter(invoice=invoice).exists()


def test_a_failure_part_way_writes_nothing_and_the_batch_can_be_posted_again(world, monkeypatch):
    invoice = world.invoice()
    body = bundle([{"invoice": invoice}])
    batch, _ = services.store_batch(
        practice=world.practice, source="clearing_house", external_id=body["id"], raw_payload=dumps(body)
    )

    insert_rows = bulk.insert_rows

    def broken(table, columns, rows):  # the lines are in and the invoices updated; then the allocations fail
        if table == Allocation._meta.db_table:
            raise RuntimeError("database went away")
        insert_rows(table, columns, rows)

    monkeypatch.setattr(bulk, "insert_rows", broken)
    with pytest.raises(RuntimeError):
        services.post_batch(batch_id=batch.pk)
    assert gc.isenabled()
    assert RemittanceBatch.objects.get(pk=batch.pk).status == BatchStatus.RECEIVED
    assert not RemittanceLine.objects.filter(batch=batch).exists()
    assert not Allocation.objects.filter(invoice=invoice).exists()
    invoice.refresh_from_db()
    assert invoice.paid_total == 0
    monkeypatch.undo()
    services.post_batch(batch_id=batch.pk)
    services.post_batch(batch_id=batch.pk)  # and only once
    invoice.refresh_from_db()
    assert invoice.paid_total == D("180.00") and Allocation.objects.filter(invoice=invoice).count() == 1
    assert gc.isenabled()


def test_a_failed_invoice_update_while_rows_are_built_writes_nothing(world, monkeypatch):
    """PostgreSQL runs the invoice updates on a helper thread (bulk.Meanwhile): its failure still
    fails the posting, as a database error, and rolls everything back."""
    from django.db import DatabaseError

    invoice = world.invoice()
    body = bundle([{"invoice": invoice}])
    batch, _ = services.store_batch(
        practice=world.practice, source="clearing_house", external_id=body["id"], raw_payload=dumps(body)
    )

    def failing_update(*args, **kwargs):  # SQLite updates in line: fail it the same way
        raise DatabaseError("no such table: no_such_table")

    monkeypatch.setattr(bulk, "update_statements", lambda *a, **k: [("UPDATE no_such_table SET x = 1", [])])
    monkeypatch.setattr(bulk, "update_rows", failing_update)
    with pytest.raises(DatabaseError):
        services.post_batch(batch_id=batch.pk)
    assert RemittanceBatch.objects.get(pk=batch.pk).status == BatchStatus.RECEIVED
    assert not RemittanceLine.objects.filter(batch=batch).exists()
    assert not Allocation.objects.filter(invoice=invoice).exists()
    monkeypatch.undo()
    services.post_batch(batch_id=batch.pk)
    invoice.refresh_from_db()
    assert invoice.paid_total == D("180.00")
