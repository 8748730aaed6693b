"""Underpayment or patient liability, at the service level and the page edge: a shortfall paid
below the contract price goes to the insurer dispute list and never to the patient; a stated
excess goes to the patient; a biller's override keeps its reason, who and when; the dispute's
steps (sent, resolved paid / as the patient's / written off)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from remit_helpers import bundle, receive

from openpractice.receivables import disputes
from openpractice.receivables.errors import ReceivablesError
from openpractice.receivables.models import DisputeStatus, WriteOffEntry
from openpractice.remittances import services as remittances
from openpractice.remittances.errors import RemittanceError
from openpractice.remittances.models import ShortfallVerdict

TODAY = dt.date.today()


@pytest.fixture
def contract(world):
    from openpractice.products import services as products

    return products.set_contract_price(
        product=world.products["Scan"], insurer_contact=world.insurer, price="250.00", valid_from=TODAY.replace(day=1)
    )


def _remit(world, paid, *, code, reason):
    invoice = world.invoice("Scan")
    batch = receive(world.practice, bundle([{"invoice": invoice, "paid": [paid], "reason": reason, "code": code}]))
    return invoice, batch.lines.get(invoice=invoice)


def test_paid_below_the_contract_price_is_an_insurer_underpayment(world, contract):
    invoice, line = _remit(world, "200.00", code="fee-schedule", reason="Paid at our fee schedule")
    verdict = ShortfallVerdict.objects.get(remittance_line=line)
    assert (verdict.kind, verdict.rule_kind) == ("underpayment", "underpayment")
    assert (verdict.contract_price, verdict.paid, verdict.difference) == (
        Decimal("250.00"),
        Decimal("200.00"),
        Decimal("50.00"),
    )
    with pytest.raises(RemittanceError) as caught:
        remittances.transfer_shortfall(line=line)
    assert caught.value.code == "underpayment"
    page = disputes.dispute_page(practice=world.practice)
    assert [row.verdict.pk for row in page.rows] == [verdict.pk] and page.rows[0].status == "raised"
    subject, body = disputes.dispute_letter(
        verdict=disputes.dispute(practice=world.practice, verdict_id=verdict.pk), practice_name="Test Practice"
    )
    assert invoice.number in subject
    for text in ("£250.00", "£200.00", "£50.00", line.batch.payment_reference, invoice.number):
        assert text in body


def test_a_stated_excess_goes_to_the_patient(world, contract):
    _, line = _remit(world, "200.00", code="excess", reason="Policy excess applies")
    assert ShortfallVerdict.objects.get(remittance_line=line).kind == "patient"
    patient_invoice = remittances.transfer_shortfall(line=line)
    assert patient_invoice.total == Decimal("50.00")
    assert not disputes.dispute_page(practice=world.practice).rows


def test_no_contract_price_is_the_patients_as_before(world):
    _, line = _remit(world, "200.00", code="fee-schedule", reason="Paid at our fee schedule")
    assert ShortfallVerdict.objects.get(remittance_line=line).kind == "patient"


def test_the_automatic_rule_never_moves_an_underpayment(world, contract):
    remittances.save_settings(practice=world.practice, shortfall_rule="automatic")
    _, under = _remit(world, "200.00", code="fee-schedule", reason="Paid at our fee schedule")
    _, excess = _remit(world, "200.00", code="excess", reason="Policy excess applies")
    assert not under.allocations.filter(kind="shortfall_transfer").exists()
    assert excess.allocations.filter(kind="shortfall_transfer").exists()


def test_an_override_keeps_its_reason_who_and_when(world, contract, biller):
    _, line = _remit(world, "200.00", code="fee-schedule", reason="Paid at our fee schedule")
    with pytest.raises(RemittanceError) as caught:
        remittances.override_shortfall(line=line, kind="patient", reason=" ", user=biller)
    assert caught.value.field == "reason"
    verdict = remittances.override_shortfall(line=line, kind="patient", reason="Bupa confirmed an excess", user=biller)
    assert (verdict.kind, verdict.rule_kind, verdict.override_reason) == (
        "patient",
        "underpayment",
        "Bupa confirmed an excess",
    )
    assert verdict.overridden_by == biller and verdict.overridden_at is not None
    assert remittances.transfer_shortfall(line=line).total == Decimal("50.00")
    with pytest.raises(RemittanceError):  # moved: reverse that first
        remittances.override_shortfall(line=line, kind="underpayment", reason="Changed my mind", user=biller)


def test_a_patient_shortfall_overridden_to_an_underpayment_disputes_the_whole_shortfall(world, biller):
    _, line = _remit(world, "200.00", code="fee-schedule", reason="Paid at our fee schedule")
    verdict = remittances.override_shortfall(
        line=line, kind="underpayment", reason="Contract not loaded yet", user=biller
    )
    assert verdict.difference == Decimal("50.00")
    assert disputes.dispute_page(practice=world.practice).rows


@pytest.fixture
def underpaid(world, contract):
    _, line = _remit(world, "200.00", code="fee-schedule", reason="Paid at our fee schedule")
    return ShortfallVerdict.objects.get(remittance_line=line)


def test_sent_then_resolved_paid(world, underpaid, biller):
    row = disputes.mark_sent(verdict=underpaid, by=biller)
    assert row.status == DisputeStatus.SENT and row.sent_by == biller
    with pytest.raises(ReceivablesError):
        disputes.mark_sent(verdict=underpaid, by=biller)
    disputes.resolve_paid(verdict=underpaid, note="Bupa paid on the next remittance", by=biller)
    assert not disputes.dispute_page(practice=world.practice).rows
    assert [r.status for r in disputes.dispute_page(practice=world.practice, status="resolved").rows] == ["paid"]
    with pytest.raises(ReceivablesError) as caught:
        disputes.resolve_paid(verdict=underpaid, by=biller)
    assert caught.value.code == "wrong_status"


def test_accepted_as_the_patients_moves_it_to_the_patient(world, underpaid, biller):
    with pytest.raises(ReceivablesError):
        disputes.resolve_as_patients(verdict=underpaid, note="", by=biller)
    patient_invoice = disputes.resolve_as_patients(verdict=underpaid, note="The policy excess after all", by=biller)
    assert patient_invoice.bill_to == "patient" and patient_invoice.total == Decimal("50.00")
    underpaid.refresh_from_db()
    assert underpaid.kind == "patient" and "excess" in underpaid.override_reason


def test_written_off_enters_the_write_off_ledger(world, underpaid, owner):
    entry = disputes.resolve_written_off(verdict=underpaid, note="Below our threshold to chase", by=owner)
    assert entry.amount == Decimal("50.00")
    invoice = underpaid.invoice
    invoice.refresh_from_db()
    assert invoice.written_off_total == Decimal("50.00") and invoice.balance == 0
    assert WriteOffEntry.objects.filter(invoice=invoice).count() == 1


def test_another_practices_dispute_is_a_404(world, underpaid, other_practice):
    from django.http import Http404

    with pytest.raises(Http404):
        disputes.dispute(practice=other_practice, verdict_id=underpaid.pk)


def test_a_line_posted_before_the_rule_is_judged_when_moved(world, contract):
    _, line = _remit(world, "200.00", code="fee-schedule", reason="Paid at our fee schedule")
    ShortfallVerdict.objects.filter(remittance_line=line).delete()  # as if posted before the rule existed
    with pytest.raises(RemittanceError) as caught:
        remittances.transfer_shortfall(line=line)
    assert caught.value.code == "underpayment"  # (the refusal rolls back; the rule judges it again next time)


def test_the_invoice_and_remittance_pages_say_it_is_disputed(world, contract, client_for):
    invoice, line = _remit(world, "200.00", code="fee-schedule", reason="Paid at our fee schedule")
    client = client_for(world.user)
    for url in (f"/invoices/{invoice.pk}/", f"/remittances/{line.batch_id}/"):
        html = client.get(url).content.decode()
        assert "Insurer underpayment" in html and "to patient" not in html.split("Insurer underpayment")[1][:400], url


def test_the_command_judges_lines_posted_before_the_rule(world, contract):
    from django.core.management import call_command

    _, line = _remit(world, "200.00", code="fee-schedule", reason="Paid at our fee schedule")
    ShortfallVerdict.objects.filter(remittance_line=line).delete()
    call_command("classify_shortfalls", "--practice", str(world.practice.pk))
    assert ShortfallVerdict.objects.get(remittance_line=line).kind == "underpayment"
    call_command("classify_shortfalls")  # again: nothing changes
    assert ShortfallVerdict.objects.filter(remittance_line=line).count() == 1
