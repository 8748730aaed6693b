"""The invoice page's remittance reads are written by hand (openpractice.db.rows, issue 18):
remittance_for_invoice (with each line's transfer), payments_for_invoice and shortfalls_carried
give what their ORM queries gave (the reference, kept here) through posting, part payment, a shortfall moved to the patient, reversals
and a rejection; another practice's rows are never read."""

from __future__ import annotations

from decimal import Decimal

from django.db import connection
from django.db.models import Max, Min, Sum
from django.test import Client
from django.test.utils import CaptureQueriesContext
from remit_helpers import bundle, receive, receive_paid_part_rejected

from openpractice.remittances import selectors, services
from openpractice.remittances.models import Allocation, AllocationKind, RemittanceLine


def _orm_remittance_for_invoice(practice, invoice):
    return list(
        RemittanceLine.objects.for_practice(practice)
        .filter(invoice=invoice)
        .select_related("batch", "verdict")
        .order_by("-batch__payment_date", "-id")
    )


def _orm_payments_for_invoice(practice, invoice):
    found = (
        Allocation.objects.for_practice(practice)
        .filter(invoice_id=invoice.pk, reversed_by__isnull=True)
        .exclude(kind=AllocationKind.REVERSAL)
        .values(
            "remittance_line_id",
            "kind",
            "remittance_line__batch_id",
            "remittance_line__batch__payment_reference",
            "remittance_line__batch__insurer_name",
            "patient_invoice_id",
            "patient_invoice__number",
        )
        .annotate(amount=Sum("amount"), posted_on=Max("posted_on"), first_id=Min("id"))
        .order_by("posted_on", "first_id")
    )
    return [
        {
            "kind": row["kind"],
            "posted_on": row["posted_on"],
            "amount": row["amount"],
            "batch_id": row["remittance_line__batch_id"],
            "reference": row["remittance_line__batch__payment_reference"],
            "insurer": row["remittance_line__batch__insurer_name"],
            "patient_invoice_id": row["patient_invoice_id"],
            "patient_invoice_number": row["patient_invoice__number"],
        }
        for row in found
        if row["amount"]
    ]


def _fields(obj):
    if obj is None:
        return None
    return {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields}


def _lines(lines):
    out = []
    for line in lines:
        try:
            verdict = line.verdict
        except RemittanceLine.verdict.RelatedObjectDoesNotExist:
            verdict = None
        out.append((_fields(line), _fields(line.batch), _fields(verdict)))
    return out


def _transfer(allocation):
    if allocation is None:
        return None
    return (_fields(allocation), allocation.patient_invoice_id, allocation.patient_invoice.number)


def _carried(allocations):
    return [(_fields(a), a.invoice_id, a.invoice.number) for a in allocations]


def _same(practice, invoice):
    got_lines = selectors.remittance_for_invoice(practice=practice, invoice=invoice)
    orm_lines = _orm_remittance_for_invoice(practice, invoice)
    assert _lines(got_lines) == _lines(orm_lines)
    with_transfers = selectors.remittance_with_transfers(practice=practice, invoice=invoice)
    with CaptureQueriesContext(connection) as captured:
        got = [(_lines([line]), _transfer(moved)) for line, moved in with_transfers]
    assert got == [(_lines([line]), _transfer(selectors.transfer_of(line=line))) for line in orm_lines]
    assert not captured.captured_queries
    carried = selectors.shortfalls_carried(practice=practice, invoice=invoice)
    with CaptureQueriesContext(connection) as captured:
        got = _carried(carried)
    assert got == _carried(
        selectors.allocations(practice=practice)
        .select_related(None)
        .select_related("invoice")
        .filter(patient_invoice=invoice)
    )
    assert not captured.captured_queries
    got = selectors.payments_for_invoice(practice=practice, invoice=invoice)
    expected = _orm_payments_for_invoice(practice, invoice)
    # Money compares as money (the ORM's SQLite SUM came back unquantized: 180 for 180.00).
    assert got == expected
    assert all(isinstance(row["amount"], Decimal) for row in got)
    return got_lines, got


def test_the_reads_by_hand_are_the_orm_reads(world, other_practice):
    batch, paid, part, rejected = receive_paid_part_rejected(world)
    lines, payments = _same(world.practice, part)
    assert len(lines) == 1 and [p["amount"] for p in payments] == [Decimal("270.50")]
    assert _same(world.practice, rejected)[1] == []  # paid nothing: no payment row
    # The shortfall moved to the patient: a row on the insurer's invoice naming the patient's.
    patient_invoice = services.transfer_shortfall(line=batch.lines.get(invoice=part), user=world.user)
    lines, payments = _same(world.practice, part)
    assert [p["kind"] for p in payments] == [AllocationKind.INSURER_PAYMENT, AllocationKind.SHORTFALL_TRANSFER]
    assert payments[1]["patient_invoice_number"] == patient_invoice.number
    moved = selectors.remittance_with_transfers(practice=world.practice, invoice=part)[0][1]
    assert moved.patient_invoice.number == patient_invoice.number
    _same(world.practice, patient_invoice)
    assert len(selectors.shortfalls_carried(practice=world.practice, invoice=patient_invoice)) == 1
    # The move undone: the line has no transfer left; the patient's invoice still lists what it carried.
    services.reverse_allocation(
        allocation=Allocation.objects.get(kind=AllocationKind.SHORTFALL_TRANSFER), reason="Appeal", user=world.user
    )
    assert selectors.remittance_with_transfers(practice=world.practice, invoice=part)[0][1] is None
    _same(world.practice, part)
    _same(world.practice, patient_invoice)
    # Reversed: the row and its reversal are left out; matched again, it is back.
    allocation = Allocation.objects.get(invoice=paid)
    services.reverse_allocation(allocation=allocation, reason="Wrong patient", user=world.user)
    assert _same(world.practice, paid)[1] == []
    services.match_by_hand(line=batch.lines.get(pk=allocation.remittance_line_id), invoice=paid)
    assert len(_same(world.practice, paid)[1]) == 1
    # Another practice reads none of them.
    assert selectors.remittance_for_invoice(practice=other_practice, invoice=part) == []
    assert selectors.payments_for_invoice(practice=other_practice, invoice=part) == []
    assert selectors.shortfalls_carried(practice=other_practice, invoice=patient_invoice) == []


def test_the_panel_and_payment_rows_show_the_remittance(world):
    invoice = world.invoice("Consultation", "Follow-up")
    receive(world.practice, bundle([{"invoice": invoice, "paid": ["150.00", "120.50"], "reason": "Over the limit"}]))
    client = Client()
    client.force_login(world.user)
    page = client.get(f"/invoices/{invoice.pk}/").content.decode()
    line = RemittanceLine.objects.get(invoice=invoice)
    assert f'<a href="/remittances/{line.batch_id}/">{line.batch.payment_reference}</a> · Bupa · paid' in page
    assert "<strong>£270.50</strong> of £300.50, shortfall £30.00 (Over the limit)." in page
    assert (
        f'<tr class="remittance-payment"><td>{line.batch.payment_date:%d/%m/%Y}</td><td>Remittance from Bupa · '
        f'<a href="/remittances/{line.batch_id}/">{line.batch.payment_reference}</a></td><td class="num">£270.50</td></tr>'
    ) in page


def test_the_panel_shows_the_shortfall_moved_and_carried(world):
    invoice = world.invoice("Consultation", "Follow-up")
    batch = receive(world.practice, bundle([{"invoice": invoice, "paid": ["150.00", "120.50"], "reason": "Limit"}]))
    patient_invoice = services.transfer_shortfall(line=batch.lines.get(), user=world.user)
    client = Client()
    client.force_login(world.user)
    page = client.get(f"/invoices/{invoice.pk}/").content.decode()
    assert (
        f'<p>Shortfall moved to the patient: <a href="/invoices/{patient_invoice.pk}/">'
        f"invoice {patient_invoice.number}</a>.</p>"
    ) in page
    page = client.get(f"/invoices/{patient_invoice.pk}/").content.decode()
    assert (
        f'<p>This invoice carries the shortfall of <a href="/invoices/{invoice.pk}/">invoice {invoice.number}</a>: '
    ) in page


def test_an_invoice_paid_by_two_remittances_has_each_lines_transfer(world):
    invoice = world.invoice()
    receive(world.practice, bundle([{"invoice": invoice, "paid": ["100.00"], "bill_id": "HCB00000011"}]))
    second = receive(world.practice, bundle([{"invoice": invoice, "paid": ["50.00"], "bill_id": "HCB00000012"}]))
    line = second.lines.get()
    if line.invoice_id is None:  # waits for review: matched by hand
        services.match_by_hand(line=line, invoice=invoice, user=world.user)
        line.refresh_from_db()
    services.transfer_shortfall(line=line, user=world.user)
    lines = _same(world.practice, invoice)[0]
    assert len(lines) == 2
    moved = dict(selectors.remittance_with_transfers(practice=world.practice, invoice=invoice))
    assert [line.pk for line, transfer in moved.items() if transfer is not None] == [line.pk]
