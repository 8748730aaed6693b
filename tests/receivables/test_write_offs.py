"""Write-offs: asked for with a reason by a biller, approved by the owner, entered in the
write-off ledger and reversible the ledger way; a written-off debt is not chased."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from openpractice.receivables import selectors, services
from openpractice.receivables.errors import ReceivablesError
from openpractice.receivables.models import WriteOff, WriteOffEntry

TODAY = dt.date.today()


@pytest.fixture
def overdue(world, debts):
    return debts.age(debts.self_pay("Consultation"), 40)


def _ledger_total(invoice) -> Decimal:
    return sum((e.amount for e in WriteOffEntry.objects.filter(invoice=invoice)), Decimal("0.00"))


def test_approved_write_off_enters_the_ledger_and_stops_the_chase(world, overdue, biller, owner):
    asked = services.request_write_off(invoice=overdue, amount="180.00", reason="Patient deceased", by=biller)
    overdue.refresh_from_db()
    assert overdue.written_off_total == 0  # nothing until approved
    services.approve_write_off(write_off=asked, by=owner)
    overdue.refresh_from_db()
    assert overdue.written_off_total == Decimal("180.00") == _ledger_total(overdue)
    assert overdue.payment_outcome == "written_off" and overdue.balance == 0
    assert not selectors.chase_candidates(practice=world.practice, today=TODAY)


def test_a_reversal_is_the_negative_row_and_the_debt_is_owed_again(world, overdue, biller, owner):
    entry = services.approve_write_off(
        write_off=services.request_write_off(invoice=overdue, amount="50.00", reason="Goodwill", by=biller), by=owner
    )
    reversal = services.reverse_write_off(entry=entry, reason="Approved by mistake", by=owner)
    assert reversal.amount == Decimal("-50.00") and reversal.reverses == entry
    overdue.refresh_from_db()
    assert overdue.written_off_total == 0 == _ledger_total(overdue) and overdue.balance == Decimal("180.00")
    with pytest.raises(ReceivablesError):
        services.reverse_write_off(entry=entry, reason="Again", by=owner)
    assert [c.invoice_id for c in selectors.chase_candidates(practice=world.practice, today=TODAY)] == [overdue.pk]


def test_a_request_is_refused_naming_the_field(world, overdue, biller):
    with pytest.raises(ReceivablesError) as caught:
        services.request_write_off(invoice=overdue, amount="180.01", reason="x", by=biller)
    assert caught.value.field == "amount"
    with pytest.raises(ReceivablesError) as caught:
        services.request_write_off(invoice=overdue, amount="10", reason=" ", by=biller)
    assert caught.value.field == "write_off_reason"
    services.request_write_off(invoice=overdue, amount="10", reason="Small balance", by=biller)
    with pytest.raises(ReceivablesError):  # one waiting per debt
        services.request_write_off(invoice=overdue, amount="10", reason="Again", by=biller)


def test_approval_is_refused_once_the_balance_fell_below_it(world, debts, overdue, biller, owner):
    asked = services.request_write_off(invoice=overdue, amount="180.00", reason="Gone away", by=biller)
    debts.pay(overdue, "100.00")
    with pytest.raises(ReceivablesError) as caught:
        services.approve_write_off(write_off=asked, by=owner)
    assert "decline it and ask again" in caught.value.message
    services.decline_write_off(write_off=asked, by=owner)
    assert WriteOff.objects.get().status == "declined" and not WriteOffEntry.objects.exists()


def test_on_the_page_a_biller_asks_and_only_the_owner_approves(client_for, world, overdue, biller, owner):
    url = reverse("receivables:debt", args=[overdue.pk])
    billing = client_for(biller)
    billing.post(url, {"action": "write_off", "amount": "180.00", "write_off_reason": "Patient deceased"})
    asked = WriteOff.objects.get()
    assert "Approve write-off" not in billing.get(url).content.decode()
    refused = billing.post(url, {"action": "decide", "write_off": asked.pk, "decision": "approve"})
    assert refused.status_code == 403
    boss = client_for(owner)
    response = boss.post(url, {"action": "decide", "write_off": asked.pk, "decision": "approve"}, follow=True)
    assert "Write-off decided." in response.content.decode() and "Reverse write-off" in response.content.decode()
    overdue.refresh_from_db()
    assert overdue.written_off_total == Decimal("180.00")
