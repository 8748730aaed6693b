"""A patient's account: open items of every kind, payments and the balance, summed in the
database; the page, its link from the patient page, and who may open it."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from openpractice.practices.roles import Role
from openpractice.receivables import selectors

TODAY = dt.date.today()


def test_account_lists_self_pay_shortfall_and_excess_with_the_balance(world, debts):
    bill = debts.self_pay("Consultation")  # 180.00
    debts.pay(bill, "30.00")
    shortfall = debts.shortfall(paid="150.00")  # Scan 250.00: 100.00 to the patient
    excess = debts.shortfall(paid="200.00", reason="Policy excess applies")  # 50.00
    account = selectors.patient_account(practice=world.practice, patient=world.patient)

    kinds = {item.invoice_id: (item.kind, item.balance) for item in account.items}
    assert kinds == {
        bill.pk: ("self_pay", Decimal("150.00")),
        shortfall.pk: ("shortfall", Decimal("100.00")),
        excess.pk: ("excess", Decimal("50.00")),
    }
    assert account.owed == Decimal("300.00") and account.credit == Decimal("0.00")
    assert account.balance == Decimal("300.00")
    assert [p.amount for p in account.payments] == [Decimal("30.00")]
    assert all(isinstance(i.balance, Decimal) for i in account.items)


def test_paid_insurer_and_draft_invoices_are_not_on_the_account(world, debts):
    paid = debts.self_pay("Consultation")
    debts.pay(paid, "180.00")
    world.invoice("Consultation")  # the insurer's bill: not the patient's debt
    world.invoice("Consultation", bill_to="patient", issue=False)  # a draft owes nothing yet
    account = selectors.patient_account(practice=world.practice, patient=world.patient)
    assert account.items == [] and account.balance == Decimal("0.00")
    assert [p.invoice_id for p in account.payments] == [paid.pk]


def test_an_overpaid_invoice_is_credit_and_reduces_the_balance(world, debts):
    from openpractice.billing.models import Invoice

    owed = debts.self_pay("Consultation")  # 180.00
    over = debts.self_pay("Follow-up")  # 120.50
    # An overpayment (the ledger allows one after a reversal); written as the stored totals say.
    Invoice.objects.filter(pk=over.pk).update(paid_total=Decimal("140.50"))
    account = selectors.patient_account(practice=world.practice, patient=world.patient)
    kinds = {i.invoice_id: (i.kind, i.balance) for i in account.items}
    assert kinds[over.pk] == ("credit", Decimal("-20.00"))
    assert kinds[owed.pk] == ("self_pay", Decimal("180.00"))
    assert account.credit == Decimal("20.00") and account.balance == Decimal("160.00")
    assert selectors.patient_balance(practice=world.practice, patient_id=world.patient.pk) == Decimal("160.00")


def test_days_overdue_count_from_the_due_date(world, debts):
    bill = debts.age(debts.self_pay("Consultation"), 20)
    shortfall = debts.age(debts.shortfall(), 40)  # due 30 days after its date: 10 days overdue
    items = {i.invoice_id: i for i in selectors.patient_account(practice=world.practice, patient=world.patient).items}
    assert items[bill.pk].days_overdue == 20
    assert items[shortfall.pk].days_overdue == 10
    assert [i.invoice_id for i in selectors.patient_account(practice=world.practice, patient=world.patient).items] == [
        bill.pk,
        shortfall.pk,
    ]


def test_the_account_reads_in_a_fixed_number_of_queries(world, debts):
    for _ in range(3):
        debts.pay(debts.self_pay("Consultation"), "10.00")
    with CaptureQueriesContext(connection) as few:
        selectors.patient_account(practice=world.practice, patient=world.patient)
    for _ in range(5):
        debts.pay(debts.self_pay("Follow-up"), "10.00")
    with CaptureQueriesContext(connection) as many:
        account = selectors.patient_account(practice=world.practice, patient=world.patient)
    assert len(account.items) == 8
    assert len(many) == len(few) == 2


# Pages


def test_account_page_shows_items_payments_and_balance(client_for, world, debts, biller):
    bill = debts.self_pay("Consultation")
    debts.pay(bill, "30.00")
    debts.shortfall(paid="150.00")
    response = client_for(biller).get(reverse("receivables:patient_account", args=[world.patient.pk]))
    assert response.status_code == 200
    body = response.content.decode()
    assert "£250.00" in body  # 150.00 + 100.00
    assert "Self-pay" in body and "Shortfall" in body
    assert bill.number in body and "£30.00" in body
    assert reverse("receivables:debt", args=[bill.pk]) in body


def test_account_page_empty_state(client_for, world, biller):
    response = client_for(biller).get(reverse("receivables:patient_account", args=[world.patient.pk]))
    assert "Nothing open" in response.content.decode()


def test_the_patient_page_links_to_the_account_with_the_balance(client_for, world, debts, biller):
    debts.self_pay("Consultation")
    body = client_for(biller).get(reverse("patients:detail", args=[world.patient.pk])).content.decode()
    assert reverse("receivables:patient_account", args=[world.patient.pk]) in body
    assert "Owes <strong>£180.00</strong>" in body


def test_who_cannot_chase_sees_no_link_and_cannot_open_the_account(client_for, world, practice, receptionist):
    client = client_for(receptionist)
    body = client.get(reverse("patients:detail", args=[world.patient.pk])).content.decode()
    assert reverse("receivables:patient_account", args=[world.patient.pk]) not in body
    assert client.get(reverse("receivables:patient_account", args=[world.patient.pk])).status_code == 403


def test_another_practices_patient_is_a_404(client_for, world, other_owner):
    response = client_for(other_owner).get(reverse("receivables:patient_account", args=[world.patient.pk]))
    assert response.status_code == 404


@pytest.mark.parametrize("role", [Role.OWNER, Role.ADMIN, Role.BILLING])
def test_billing_owner_and_admin_may_manage_collections(role):
    from openpractice.practices.roles import Capability, role_can

    assert role_can(role, Capability.MANAGE_COLLECTIONS)
    assert not role_can(Role.RECEPTIONIST, Capability.MANAGE_COLLECTIONS)
    assert not role_can(Role.PRACTITIONER, Capability.MANAGE_COLLECTIONS)
