"""Posting remittances: matching, allocation per line, review queue, reversals, shortfalls, BACS."""

from __future__ import annotations

from decimal import Decimal

import pytest
from remit_helpers import bundle, receive, receive_paid_part_rejected

from openpractice.billing.models import BillTo, Invoice, PaymentOutcome, RecordStatus
from openpractice.remittances import selectors, services
from openpractice.remittances.errors import RemittanceError
from openpractice.remittances.models import Allocation, AllocationKind, BatchStatus, LineStatus, MatchMethod

D = Decimal


def ledger_sum(invoice) -> Decimal:
    return sum((a.amount for a in Allocation.objects.filter(invoice=invoice)), D("0.00"))


def test_paid_part_paid_and_rejected_by_invoice_number(world):
    batch, paid, part, rejected = receive_paid_part_rejected(world)
    assert batch.status == BatchStatus.POSTED and batch.payment_amount == D("450.50")
    assert batch.insurer_name == "Bupa"
    lines = {line.invoice_id: line for line in batch.lines.all()}
    for invoice in (paid, part, rejected):
        invoice.refresh_from_db()
        assert lines[invoice.pk].status == LineStatus.ALLOCATED
        assert lines[invoice.pk].match_method == MatchMethod.INVOICE_NUMBER
        assert invoice.balance == invoice.total - ledger_sum(invoice)
    assert paid.payment_outcome == PaymentOutcome.PAID and paid.balance == 0
    assert part.payment_outcome == PaymentOutcome.PART_PAID and part.balance == D("30.00")
    assert rejected.payment_outcome == PaymentOutcome.UNPAID and rejected.balance == D("250.00")
    assert [lines[i].outcome for i in (paid.pk, part.pk, rejected.pk)] == ["paid", "part_paid", "rejected"]
    rows = list(Allocation.objects.filter(invoice=part).order_by("invoice_line__sequence"))
    assert [(r.invoice_line.sequence, r.amount, r.shortfall) for r in rows] == [
        (1, D("150.00"), D("30.00")),
        (2, D("120.50"), D("0.00")),
    ]
    assert rows[0].reason == "Consultation above the benefit maximum"
    assert lines[rejected.pk].shortfall_code == "rejected"


def test_posting_twice_posts_nothing_twice(world):
    invoice = world.invoice()
    body = bundle([{"invoice": invoice}])
    batch = receive(world.practice, body)
    again = receive(world.practice, body)  # same remittance id: stored once, posted once
    assert again.pk == batch.pk
    services.post_batch(batch_id=batch.pk)
    assert Allocation.objects.filter(invoice=invoice).count() == 1
    invoice.refresh_from_db()
    assert invoice.paid_total == D("180.00")


def test_same_bill_in_another_remittance_waits_for_review(world):
    invoice = world.invoice()
    receive(world.practice, bundle([{"invoice": invoice, "bill_id": "HCB00000001"}]))
    second = receive(world.practice, bundle([{"invoice": invoice, "bill_id": "HCB00000001"}]))
    line = second.lines.get()
    assert line.status == LineStatus.REVIEW and "already posted" in line.problem


def test_match_by_membership_patient_and_amount(world):
    invoice = world.invoice()
    batch = receive(world.practice, bundle([{"invoice": invoice, "number": "UNKNOWN1"}]))
    line = batch.lines.get()
    assert line.status == LineStatus.ALLOCATED and line.match_method == MatchMethod.MEMBER
    assert line.invoice_id == invoice.pk


def test_ambiguous_or_unknown_lines_wait_with_suggestions_then_match_by_hand(world):
    first, second = world.invoice(), world.invoice()
    batch = receive(world.practice, bundle([{"invoice": first, "number": "NOPE"}]))
    line = batch.lines.get()
    assert line.status == LineStatus.REVIEW and "2 invoices fit" in line.problem
    assert list(selectors.review_queue(practice=world.practice)) == [line]
    suggested = selectors.suggestions(line=line)
    assert {s[0].pk for s in suggested} == {first.pk, second.pk}
    assert "same registration number" in suggested[0][2]
    services.match_by_hand(line=line, invoice=second, user=world.user)
    line.refresh_from_db()
    second.refresh_from_db()
    assert line.status == LineStatus.ALLOCATED and line.match_method == MatchMethod.MANUAL
    assert second.payment_outcome == PaymentOutcome.PAID
    assert not selectors.review_queue(practice=world.practice).exists()


def test_no_allocation_exceeds_what_is_owed(world):
    from openpractice.billing import services as billing

    invoice = world.invoice()
    billing.record_payment(invoice=invoice, amount="100.00", received_on=invoice.invoice_date)
    batch = receive(world.practice, bundle([{"invoice": invoice}]))
    line = batch.lines.get()
    assert line.status == LineStatus.REVIEW and "only £80.00 is owed" in line.problem
    assert not Allocation.objects.filter(invoice=invoice).exists()
    with pytest.raises(RemittanceError, match="only £80.00 is owed"):
        services.match_by_hand(line=line, invoice=invoice)
    invoice.refresh_from_db()
    assert invoice.paid_total == D("100.00")  # billing's payment kept alongside the ledger


def test_wrong_insurer_patient_invoice_and_void_are_not_matched(world):
    patient_bill = world.invoice(bill_to="patient")
    batch = receive(world.practice, bundle([{"invoice": patient_bill}], insurer="ppp"))
    assert "to the patient" in batch.lines.get().problem
    insurer_bill = world.invoice()
    batch = receive(world.practice, bundle([{"invoice": insurer_bill}], insurer="ppp"))
    assert "another insurer" in batch.lines.get().problem


def test_reversal_is_a_new_row_and_sends_the_line_back(world):
    invoice = world.invoice()
    batch = receive(world.practice, bundle([{"invoice": invoice}]))
    allocation = Allocation.objects.get(invoice=invoice)
    reversal = services.reverse_allocation(allocation=allocation, reason="Wrong patient", user=world.user)
    assert reversal.amount == D("-180.00") and reversal.reverses_id == allocation.pk
    invoice.refresh_from_db()
    assert invoice.balance == D("180.00") == invoice.total - ledger_sum(invoice)
    assert invoice.payment_outcome == PaymentOutcome.UNPAID
    line = batch.lines.get()
    assert line.status == LineStatus.REVIEW and "Wrong patient" in line.problem
    with pytest.raises(RemittanceError, match="reversed already"):
        services.reverse_allocation(allocation=allocation, reason="again")
    with pytest.raises(RemittanceError, match="cannot itself be reversed"):
        services.reverse_allocation(allocation=reversal, reason="again")
    services.match_by_hand(line=line, invoice=invoice)
    invoice.refresh_from_db()
    assert invoice.balance == 0


def test_shortfall_moves_to_the_patient_naming_the_reason(world):
    invoice = world.invoice("Consultation", "Follow-up")
    batch = receive(
        world.practice,
        bundle(
            [{"invoice": invoice, "paid": ["150.00", "120.50"], "reason": "Consultation above the benefit maximum"}]
        ),
    )
    line = batch.lines.get()
    assert list(selectors.open_transfers(practice=world.practice)) == [line]
    patient_invoice = services.transfer_shortfall(line=line, user=world.user)
    assert patient_invoice.bill_to == BillTo.PATIENT and patient_invoice.record_status == RecordStatus.ISSUED
    assert patient_invoice.total == D("30.00") and patient_invoice.number
    (charge,) = patient_invoice.lines.all()
    assert "Bupa: Consultation above the benefit maximum" in charge.description
    invoice.refresh_from_db()
    assert invoice.balance == 0 and invoice.payment_outcome == PaymentOutcome.PAID
    assert invoice.balance == invoice.total - ledger_sum(invoice)
    with pytest.raises(RemittanceError, match="already"):
        services.transfer_shortfall(line=line)
    assert not selectors.open_transfers(practice=world.practice).exists()
    # Undo: the patient invoice is voided and the insurer invoice owes the shortfall again.
    transfer = Allocation.objects.get(kind=AllocationKind.SHORTFALL_TRANSFER)
    services.reverse_allocation(allocation=transfer, reason="Insurer will pay after appeal")
    patient_invoice.refresh_from_db()
    invoice.refresh_from_db()
    assert patient_invoice.record_status == RecordStatus.VOID and invoice.balance == D("30.00")


def test_shortfall_never_more_than_what_is_still_owed(world):
    from openpractice.billing import services as billing

    invoice = world.invoice("Scan")
    batch = receive(world.practice, bundle([{"invoice": invoice, "paid": ["200.00"]}]))
    billing.create_credit_note(invoice=invoice, amount="40.00", reason="Goodwill")
    patient_invoice = services.transfer_shortfall(line=batch.lines.get())
    assert patient_invoice.total == D("10.00")  # the deduction was 50, but only 10 is still owed


def test_practice_rule_moves_shortfalls_automatically(world):
    services.save_settings(practice=world.practice, shortfall_rule="automatic")
    invoice = world.invoice("Scan")
    receive(world.practice, bundle([{"invoice": invoice, "paid": ["0"], "reason": "Excluded condition"}]))
    patient_invoice = Invoice.objects.get(practice=world.practice, bill_to=BillTo.PATIENT)
    assert patient_invoice.total == D("250.00")
    assert "Excluded condition" in patient_invoice.lines.get().description


def test_bacs_difference(world):
    invoice = world.invoice()
    batch = receive(world.practice, bundle([{"invoice": invoice, "paid": ["150.00"]}]))
    batch = services.record_bank_amount(batch=batch, amount="145.00")
    assert batch.bank_difference == D("-5.00")
    with pytest.raises(RemittanceError) as exc:
        services.record_bank_amount(batch=batch, amount="twelve")
    assert exc.value.field == "bank_amount"


def test_unreadable_remittance_is_kept_and_marked_failed(world):
    body = bundle([{"invoice": world.invoice()}])
    body["entry"][0]["resource"]["detail"][0]["amount"] = {"value": "lots"}
    batch, _ = services.store_batch(
        practice=world.practice,
        source="clearing_house",
        external_id=body["id"],
        raw_payload=__import__("remit_helpers").dumps(body),
    )
    with pytest.raises(RemittanceError) as exc:
        services.post_batch(batch_id=batch.pk)
    assert "detail[1], amount" in exc.value.message and "120.00" in exc.value.message
    batch.refresh_from_db()
    assert batch.status == BatchStatus.FAILED and "detail[1]" in batch.error and batch.raw_payload
    assert not Allocation.objects.exists() and not batch.lines.exists()


def test_another_practices_invoice_is_never_matched(world, other_practice):
    from openpractice.remittances.models import RemittanceBatch

    invoice = world.invoice()
    body = bundle([{"invoice": invoice}])
    batch, _ = services.store_batch(
        practice=other_practice,
        source="clearing_house",
        external_id=body["id"],
        raw_payload=__import__("remit_helpers").dumps(body),
    )
    services.post_batch(batch_id=batch.pk)
    line = RemittanceBatch.objects.get(pk=batch.pk).lines.get()
    assert line.status == LineStatus.REVIEW and line.invoice_id is None
    with pytest.raises(RemittanceError, match="this practice"):
        services.match_by_hand(line=line, invoice=invoice)


def test_a_shortfall_invoice_cannot_be_edited_to_charge_more(world):
    from openpractice.billing import services as billing
    from openpractice.billing.errors import BillingError

    invoice = world.invoice("Scan")
    batch = receive(world.practice, bundle([{"invoice": invoice, "paid": ["200.00"]}]))
    patient_invoice = services.transfer_shortfall(line=batch.lines.get())
    assert patient_invoice.carries_shortfall and not patient_invoice.is_editable
    from django.test import Client

    client = Client()
    client.force_login(world.user)
    page = client.get(f"/invoices/{patient_invoice.pk}/").content.decode()  # the remittance panel says so
    assert f'carries the shortfall of <a href="/invoices/{invoice.pk}/">invoice {invoice.number}</a>' in page
    assert "Shortfall moved to the patient" in client.get(f"/invoices/{invoice.pk}/").content.decode()
    with pytest.raises(BillingError):
        billing.update_invoice(invoice=patient_invoice, data={"notes": "x"})
    patient_invoice.refresh_from_db()
    assert patient_invoice.total == D("50.00")


def test_a_rejected_line_matched_to_the_wrong_invoice_can_be_undone(world):
    """Found by the property test: reversing a 0.00 payment row gives a 0.00 reversal."""
    invoice = world.invoice("Scan")
    batch = receive(world.practice, bundle([{"invoice": invoice, "paid": ["0"], "reason": "Not covered"}]))
    row = Allocation.objects.get(invoice=invoice)
    assert row.amount == 0 and row.reason == "Not covered"
    reversal = services.reverse_allocation(allocation=row, reason="Wrong invoice")
    assert reversal.amount == 0 and batch.lines.get().status == LineStatus.REVIEW
