"""Chase runs: made for review (command, task, page), sent by a biller (email on commit, letters
to print), each send an append-only activity; a stage goes to a debt at most once, which the
database itself enforces."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.urls import reverse

from openpractice.patients.models import Patient
from openpractice.receivables import services
from openpractice.receivables.errors import ReceivablesError
from openpractice.receivables.models import AccountActivity, ChaseRun, Debt

TODAY = dt.date.today()


@pytest.fixture
def overdue(world, debts):
    """Oliver Bennett (with an email address) owes a self-pay bill 20 days overdue."""
    Patient.objects.filter(pk=world.patient.pk).update(email="oliver@example.test")
    world.patient.refresh_from_db()
    return debts.age(debts.self_pay("Consultation"), 20)


def test_a_run_lists_what_each_debt_needs_and_sends_nothing(world, overdue):
    run = services.create_chase_run(practice=world.practice, today=TODAY)
    [item] = run.items.all()
    assert (item.invoice_id, item.stage, item.channel, item.days_overdue) == (overdue.pk, "statement", "email", 20)
    assert not AccountActivity.objects.exists() and mail.outbox == []
    assert services.create_chase_run(practice=world.practice, today=TODAY) == run  # once a day


def test_sending_emails_on_commit_and_records_the_activity(world, overdue, biller, django_capture_on_commit_callbacks):
    run = services.create_chase_run(practice=world.practice, today=TODAY)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        counts = services.send_chase_run(run=run, include=[i.pk for i in run.items.all()], user=biller)
        assert mail.outbox == []  # not before the transaction commits
    for callback in callbacks:
        callback()
    assert counts == {"emailed": 1, "emails": 1}
    [message] = mail.outbox
    assert message.to == ["oliver@example.test"] and "Your statement from Alpha Clinic" == message.subject
    assert "£180.00" in message.body
    [activity] = AccountActivity.objects.all()
    assert (activity.kind, activity.stage, activity.channel, activity.invoice_id) == (
        "chase_sent",
        "statement",
        "email",
        overdue.pk,
    )
    run.refresh_from_db()
    assert run.status == "sent"
    with pytest.raises(ReceivablesError):
        services.send_chase_run(run=run, include=[], user=biller)


def test_unticked_items_are_left_out_and_letters_go_to_print(world, debts, overdue, biller):
    from openpractice.patients import services as patients

    no_email = patients.create_patient(
        practice=world.practice, data={"first_name": "Ann", "last_name": "Post", "date_of_birth": dt.date(1970, 1, 1)}
    )
    letter_debt = debts.age(debts.self_pay("Follow-up", patient=no_email), 15)
    run = services.create_chase_run(practice=world.practice, today=TODAY)
    by_invoice = {i.invoice_id: i for i in run.items.all()}
    counts = services.send_chase_run(run=run, include=[by_invoice[letter_debt.pk].pk], user=biller)
    assert counts == {"skipped": 1, "to_print": 1}
    [activity] = AccountActivity.objects.all()
    assert activity.channel == "letter" and "Statement of account: £120.50" in activity.detail


def test_the_next_run_moves_to_the_next_stage_once_its_day_comes(world, overdue, biller):
    first = services.create_chase_run(practice=world.practice, today=TODAY)
    services.send_chase_run(run=first, include=[i.pk for i in first.items.all()], user=biller)
    assert not services.create_chase_run(practice=world.practice, today=TODAY + dt.timedelta(days=1)).items.exists()
    later = services.create_chase_run(practice=world.practice, today=TODAY + dt.timedelta(days=14))
    assert [i.stage for i in later.items.all()] == ["reminder"]


def test_a_disputed_or_promised_debt_is_not_chased(world, overdue):
    Debt.objects.create(practice=world.practice, invoice=overdue, promised_until=TODAY + dt.timedelta(days=3))
    assert not services.create_chase_run(practice=world.practice, today=TODAY).items.exists()
    Debt.objects.filter(invoice=overdue).update(promised_until=None, disputed=True)
    assert not services.create_chase_run(practice=world.practice, today=TODAY + dt.timedelta(days=1)).items.exists()


def test_a_debt_paid_after_the_run_is_not_sent(world, debts, overdue, biller):
    run = services.create_chase_run(practice=world.practice, today=TODAY)
    debts.pay(overdue, "180.00")
    counts = services.send_chase_run(run=run, include=[i.pk for i in run.items.all()], user=biller)
    assert counts == {"not_due": 1} and not AccountActivity.objects.exists()


def test_the_database_refuses_a_stage_twice_for_one_debt(world, overdue):
    row = {
        "practice": world.practice,
        "patient": world.patient,
        "invoice": overdue,
        "kind": "chase_sent",
        "stage": "reminder",
        "on_date": TODAY,
    }
    AccountActivity.objects.create(**row)
    with pytest.raises(IntegrityError), transaction.atomic():
        AccountActivity.objects.create(**row)


def test_activity_is_never_edited_or_deleted(world, overdue):
    note = AccountActivity.objects.create(
        practice=world.practice, patient=world.patient, invoice=overdue, kind="note", on_date=TODAY, detail="Rang"
    )
    note.detail = "Changed"
    with pytest.raises(ValueError):
        note.save()
    with pytest.raises(ValueError):
        note.delete()


def test_the_command_decides_now_or_queues_the_task(world, overdue, capsys):
    call_command("chase_run", "--now", "--today", (TODAY + dt.timedelta(days=2)).isoformat())
    run = ChaseRun.objects.get(practice=world.practice)
    assert run.run_on == TODAY + dt.timedelta(days=2) and run.items.count() == 1
    assert "1 to review" in capsys.readouterr().out


def test_the_task_makes_the_run(world, overdue):
    from openpractice.receivables.tasks import chase_practice

    assert chase_practice.call(world.practice.pk, TODAY.isoformat()) == 1


# Pages


def test_review_page_untick_and_send(client_for, world, debts, overdue, biller):
    client = client_for(biller)
    response = client.post(reverse("receivables:run_now"))
    run = ChaseRun.objects.get(practice=world.practice)
    assert response.status_code == 302 and response["Location"] == reverse("receivables:run", args=[run.pk])
    body = client.get(reverse("receivables:run", args=[run.pk])).content.decode()
    assert "Oliver Bennett" in body and "Statement" in body and "Send chase" in body
    item = run.items.get()
    response = client.post(reverse("receivables:run", args=[run.pk]), {"include": [str(item.pk)]}, follow=True)
    assert "Chase run sent: 1 email sent, 0 letters to print." in response.content.decode()
    account = client.get(reverse("receivables:patient_account", args=[world.patient.pk])).content.decode()
    assert "Statement emailed" in account


def test_another_practices_run_is_a_404(client_for, world, overdue, other_owner):
    run = services.create_chase_run(practice=world.practice, today=TODAY)
    client = client_for(other_owner)
    assert client.get(reverse("receivables:run", args=[run.pk])).status_code == 404
    assert client.post(reverse("receivables:run", args=[run.pk]), {"include": ["1"]}).status_code == 404
    assert client.get(reverse("receivables:run_letters", args=[run.pk])).status_code == 404
