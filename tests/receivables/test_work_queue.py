"""The work queue and a debt's page: next action and when, filters, assignment, notes,
promises to pay and disputes (each pausing the chase), all recorded on the activity."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from openpractice.receivables import selectors, services
from openpractice.receivables.errors import ReceivablesError
from openpractice.receivables.models import AccountActivity

TODAY = dt.date.today()


@pytest.fixture
def overdue(world, debts):
    return debts.age(debts.self_pay("Consultation"), 20)


def _row(world, invoice, **filters):
    rows = selectors.work_queue(practice=world.practice, **filters).rows
    return next((r for r in rows if r.invoice_id == invoice.pk), None)


def test_each_debt_shows_its_next_action_and_when(world, debts, overdue, biller):
    fresh = debts.self_pay("Follow-up")  # due today: its statement is due today
    row = _row(world, overdue)
    assert (row.next_action, row.action_on, row.days_overdue, row.balance) == (
        "Statement",
        overdue.invoice_date,
        20,
        Decimal("180.00"),
    )
    run = services.create_chase_run(practice=world.practice, today=TODAY)
    services.send_chase_run(run=run, include=[i.pk for i in run.items.all()], user=biller)
    row = _row(world, overdue)
    assert row.next_action == "Reminder" and row.action_on == TODAY + dt.timedelta(days=14)
    assert _row(world, fresh).next_action == "Reminder"


def test_filters_by_stage_worker_and_overdue(world, debts, overdue, biller):
    fresh = debts.self_pay("Follow-up", invoice_date=TODAY + dt.timedelta(days=3))  # not yet due
    services.assign_debt(invoice=overdue, assignee_id=biller.pk, by=biller)
    assert _row(world, overdue, assigned=str(biller.pk)) is not None
    assert _row(world, fresh, assigned=str(biller.pk)) is None
    assert _row(world, fresh, assigned="none") is not None and _row(world, overdue, assigned="none") is None
    assert _row(world, fresh, overdue_only=True) is None and _row(world, overdue, overdue_only=True) is not None
    assert _row(world, overdue, stage="statement") is not None and _row(world, overdue, stage="reminder") is None


def test_the_queue_reads_in_fixed_queries(world, debts):
    for _ in range(2):
        debts.age(debts.self_pay("Consultation"), 5)
    with CaptureQueriesContext(connection) as few:
        selectors.work_queue(practice=world.practice)
    for _ in range(4):
        debts.age(debts.self_pay("Scan"), 9)
    with CaptureQueriesContext(connection) as many:
        page = selectors.work_queue(practice=world.practice)
    assert page.count == 6 and len(many) == len(few) == 3  # schedule, count, rows


def test_a_promise_pauses_the_chase_until_its_date(world, overdue, biller):
    services.promise_to_pay(invoice=overdue, until=TODAY + dt.timedelta(days=7), amount="50.00", by=biller)
    assert _row(world, overdue).next_action == f"Promised to pay by {TODAY + dt.timedelta(days=7):%-d %B %Y}"
    assert not services.create_chase_run(practice=world.practice, today=TODAY).items.exists()
    later = services.create_chase_run(practice=world.practice, today=TODAY + dt.timedelta(days=8))
    assert [i.stage for i in later.items.all()] == ["statement"]
    activity = AccountActivity.objects.get(kind="promise")
    assert activity.amount == Decimal("50.00") and activity.created_by == biller


@pytest.mark.parametrize(
    ("until", "amount", "field"),
    [
        (TODAY - dt.timedelta(days=1), "50.00", "until"),
        (TODAY + dt.timedelta(days=400), "50.00", "until"),
        (TODAY, "180.01", "amount"),
        (TODAY, "0", "amount"),
        (TODAY, "lots", "amount"),
    ],
)
def test_a_promise_is_refused_naming_the_field(world, overdue, until, amount, field):
    with pytest.raises(ReceivablesError) as caught:
        services.promise_to_pay(invoice=overdue, until=until, amount=amount)
    assert caught.value.field == field


def test_a_dispute_pauses_the_chase_until_resolved(world, overdue, biller):
    services.dispute_debt(invoice=overdue, reason="Says the scan was cancelled", by=biller)
    assert _row(world, overdue).next_action == "Disputed"
    with pytest.raises(ReceivablesError):
        services.dispute_debt(invoice=overdue, reason="Again", by=biller)
    assert not services.create_chase_run(practice=world.practice, today=TODAY).items.exists()
    services.resolve_dispute(invoice=overdue, outcome="Scan did happen: letter sent", by=biller)
    assert _row(world, overdue).next_action == "Statement"
    kinds = list(AccountActivity.objects.order_by("id").values_list("kind", flat=True))
    assert kinds == ["dispute", "dispute_resolved"]


def test_assigning_only_to_someone_who_can_chase(world, overdue, biller, receptionist):
    with pytest.raises(ReceivablesError) as caught:
        services.assign_debt(invoice=overdue, assignee_id=receptionist.pk)
    assert caught.value.field == "assignee"
    services.assign_debt(invoice=overdue, assignee_id=biller.pk, by=biller)
    services.assign_debt(invoice=overdue, assignee_id=biller.pk, by=biller)  # no change: no second activity
    assert AccountActivity.objects.filter(kind="assigned").count() == 1
    assert _row(world, overdue).assigned_to == "Bea Biller"


def test_an_insurer_invoice_is_not_a_patient_debt(world):
    with pytest.raises(ReceivablesError):
        services.add_note(invoice=world.invoice("Consultation"), text="Hello")


# Pages


def test_queue_page_lists_and_filters(client_for, world, overdue, biller):
    client = client_for(biller)
    body = client.get(reverse("receivables:queue")).content.decode()
    assert overdue.number in body and "Statement" in body and "Oliver Bennett" in body
    body = client.get(reverse("receivables:queue") + "?stage=final_notice").content.decode()
    assert overdue.number not in body and "No debt matches" in body


def test_debt_page_records_note_promise_and_dispute(client_for, world, overdue, biller):
    client = client_for(biller)
    url = reverse("receivables:debt", args=[overdue.pk])
    assert client.get(url).status_code == 200
    client.post(url, {"action": "note", "note": "Rang, no answer"})
    until = (TODAY + dt.timedelta(days=10)).isoformat()
    response = client.post(url, {"action": "promise", "until": until, "amount": "80.00"}, follow=True)
    assert "Promise to pay recorded" in response.content.decode()
    response = client.post(url, {"action": "dispute", "reason": "Wrong amount"}, follow=True)
    body = response.content.decode()
    assert "Rang, no answer" in body and "Wrong amount" in body and "Resolve dispute" in body
    account = client.get(reverse("receivables:patient_account", args=[world.patient.pk])).content.decode()
    assert "Rang, no answer" in account


def test_a_refused_promise_is_shown_at_its_field(client_for, world, overdue, biller):
    url = reverse("receivables:debt", args=[overdue.pk])
    body = client_for(biller).post(url, {"action": "promise", "until": TODAY.isoformat(), "amount": "999"}).content
    assert "at most the balance of £180.00" in body.decode()
    assert not AccountActivity.objects.exists()


def test_another_practices_debt_and_an_insurer_bill_are_404(client_for, world, overdue, biller, other_owner):
    assert client_for(other_owner).get(reverse("receivables:debt", args=[overdue.pk])).status_code == 404
    response = client_for(other_owner).post(
        reverse("receivables:debt", args=[overdue.pk]), {"action": "note", "note": "x"}
    )
    assert response.status_code == 404 and not AccountActivity.objects.exists()
    insurer_bill = world.invoice("Consultation")
    assert client_for(biller).get(reverse("receivables:debt", args=[insurer_bill.pk])).status_code == 404


def test_the_limitation_date_is_six_years_from_due_or_the_last_payment(world, debts, overdue, client_for, biller):
    due = overdue.invoice_date
    assert _row(world, overdue).limitation_on == due.replace(year=due.year + 6)
    debts.pay(overdue, "20.00", received_on=TODAY)
    assert _row(world, overdue).limitation_on == selectors.limitation_date(due_on=TODAY)
    body = client_for(biller).get(reverse("receivables:debt", args=[overdue.pk])).content.decode()
    assert "Limitation date" in body


def test_a_leap_day_limitation_date_falls_on_the_28th():
    assert selectors.limitation_date(due_on=dt.date(2024, 2, 29)) == dt.date(2030, 2, 28)
    assert selectors.limitation_date(due_on=dt.date(2024, 1, 5), last_paid_on=dt.date(2025, 3, 1)) == dt.date(
        2031, 3, 1
    )
