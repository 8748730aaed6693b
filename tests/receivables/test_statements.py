"""Statements of account: what one holds (the account's open items, payments, aged summary, how to
pay), its balance equal to the account's to the penny, the PDF, one email per patient with the
PDF attached (sent on commit, recorded on the account's activity), runs for many patients."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core import mail
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openpractice.patients import services as patients
from openpractice.patients.models import Patient
from openpractice.receivables import selectors, statements
from openpractice.receivables.errors import ReceivablesError
from openpractice.receivables.models import AccountActivity, StatementRun

TODAY = dt.date.today()


@pytest.fixture
def owing(world, debts):
    """Oliver Bennett (emailable) owes a self-pay bill 40 days overdue (part paid) and a shortfall."""
    Patient.objects.filter(pk=world.patient.pk).update(email="oliver@example.test", address_line1="1 High Street")
    world.patient.refresh_from_db()
    old = debts.age(debts.self_pay("Consultation"), 40)
    debts.pay(old, "30.00")
    shortfall = debts.shortfall(paid="150.00")
    return old, shortfall


def _patient(world, last, email=""):
    return patients.create_patient(
        practice=world.practice,
        data={"first_name": "Ann", "last_name": last, "date_of_birth": dt.date(1970, 1, 1), "email": email},
    )


def test_a_statement_holds_the_accounts_items_payments_and_aged_summary(world, owing):
    old, shortfall = owing
    statement = statements.build_statement(practice=world.practice, patient=world.patient, as_of=TODAY)
    account = selectors.patient_account(practice=world.practice, patient=world.patient, today=TODAY)
    assert statement.balance == account.balance == Decimal("250.00")  # 150.00 + 100.00
    assert isinstance(statement.balance, Decimal)
    assert [i.invoice_id for i in statement.account.items] == [old.pk, shortfall.pk]
    assert [p.amount for p in statement.payments] == [Decimal("30.00")]
    bands = {b.label: b.amount for b in statement.aged}
    assert bands["31–60"] == Decimal("150.00") and bands["Not due"] == Decimal("100.00")
    assert sum(bands.values()) == account.owed
    html = statements.statements_html([statement])
    for text in ("Statement of account", "Alpha Clinic", "Oliver Bennett", "1 High Street", old.number):
        assert text in html
    assert "£250.00" in html and "Shortfall" in html and "How to pay" in html and statement.reference in html


def test_credit_is_shown_apart_and_lowers_the_balance(world, debts):
    from openpractice.billing.models import Invoice

    over = debts.self_pay("Follow-up")  # 120.50
    # An overpayment (the ledger allows one after a reversal); written as the stored totals say.
    Invoice.objects.filter(pk=over.pk).update(paid_total=Decimal("140.50"))
    statement = statements.build_statement(practice=world.practice, patient=world.patient)
    assert statement.account.credit == Decimal("20.00") and statement.balance == Decimal("-20.00")
    html = statements.statements_html([statement])
    assert "In credit" in html and "Nothing is due" in html


def test_bank_details_show_when_the_practice_has_them(world, owing):
    for name, value in (("bank_sort_code", "12-34-56"), ("bank_account_number", "12345678")):
        setattr(world.practice, name, value)
    statement = statements.build_statement(practice=world.practice, patient=world.patient)
    html = statements.statements_html([statement])
    assert "sort code 12-34-56, account 12345678" in html


def test_the_pdf_is_a_pdf(world, owing):
    statement, pdf = statements.statement_pdf(practice=world.practice, patient=world.patient)
    assert pdf.startswith(b"%PDF") and len(pdf) > 2000
    assert statement.filename.endswith(".pdf")


def test_sending_emails_the_pdf_on_commit_and_records_it(world, owing, biller, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        activity = statements.send_statement(practice=world.practice, patient=world.patient, user=biller)
        assert mail.outbox == []
    for callback in callbacks:
        callback()
    [message] = mail.outbox
    assert message.to == ["oliver@example.test"] and message.subject == "Your statement from Alpha Clinic"
    assert "Amount to pay: £250.00" in message.body
    [(name, content, kind)] = message.attachments
    assert name.endswith(".pdf") and content.startswith(b"%PDF") and kind == "application/pdf"
    assert (activity.kind, activity.channel, activity.amount, activity.invoice_id) == (
        "statement_sent",
        "email",
        Decimal("250.00"),
        None,
    )


def test_no_email_address_is_refused_with_the_field_named(world, debts):
    patient = _patient(world, "Post")
    debts.self_pay("Consultation", patient=patient)
    with pytest.raises(ReceivablesError) as refused:
        statements.send_statement(practice=world.practice, patient=patient)
    assert refused.value.field == "email" and not AccountActivity.objects.exists()


def test_a_run_sends_one_email_per_patient_and_leaves_letters_to_post(
    world, debts, owing, biller, django_capture_on_commit_callbacks
):
    second = _patient(world, "Second", "ann@example.test")
    debts.self_pay("Consultation", patient=second)
    debts.self_pay("Follow-up", patient=second)
    posted = _patient(world, "Post")
    debts.self_pay("Scan", patient=posted)
    mail.outbox.clear()
    with_commit = [world.patient.pk, second.pk, posted.pk]
    with django_capture_on_commit_callbacks(execute=True):
        run = statements.start_statement_run(practice=world.practice, patient_ids=with_commit, user=biller)
    assert (run.requested, run.done, run.emailed, run.to_post) == (3, 3, 2, 1) and run.finished_at
    assert sorted(m.to[0] for m in mail.outbox) == ["ann@example.test", "oliver@example.test"]
    assert all(len(m.attachments) == 1 for m in mail.outbox)
    assert AccountActivity.objects.filter(statement_run=run).count() == 3
    assert [p.pk for p in statements.run_patients(run=run, channel="letter")] == [posted.pk]
    assert statements.run_pdf(run=run).startswith(b"%PDF")


def test_a_run_taken_up_again_sends_nothing_twice(world, owing, biller, django_capture_on_commit_callbacks):
    run = statements.start_statement_run(practice=world.practice, patient_ids=[world.patient.pk], user=biller)
    StatementRun.objects.filter(pk=run.pk).update(done=0, finished_at=None)  # as if it crashed after the send
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        statements.work_statement_run(run=run)
    run.refresh_from_db()
    assert mail.outbox == [] and run.done == 1 and AccountActivity.objects.filter(statement_run=run).count() == 1


def test_a_big_run_works_in_a_task(world, owing, biller, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        run = statements.start_statement_run(
            practice=world.practice, patient_ids=[world.patient.pk], user=biller, background=True
        )
    run.refresh_from_db()
    # The test settings run tasks at once (or a worker would): either way the run finishes.
    from openpractice.receivables.tasks import send_statements

    assert send_statements.call(run.pk) == 1


def test_other_practices_patients_are_dropped(world, owing, other_practice):
    stranger = patients.create_patient(
        practice=other_practice, data={"first_name": "X", "last_name": "Y", "date_of_birth": dt.date(1990, 1, 1)}
    )
    with pytest.raises(ReceivablesError):
        statements.start_statement_run(practice=world.practice, patient_ids=[stranger.pk])
    run = statements.start_statement_run(practice=world.practice, patient_ids=[stranger.pk, world.patient.pk])
    assert run.patient_ids == [world.patient.pk]


def test_choosing_by_balance_and_age(world, debts, owing):
    small = _patient(world, "Small")
    debts.self_pay("Follow-up", patient=small)  # 120.50, due today
    assert set(statements.owing_patient_ids(practice=world.practice)) == {world.patient.pk, small.pk}
    assert statements.owing_patient_ids(practice=world.practice, min_balance=Decimal("200")) == [world.patient.pk]
    assert statements.owing_patient_ids(practice=world.practice, older_than_days=30) == [world.patient.pk]


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    bills=st.lists(
        st.tuples(st.sampled_from(["Consultation", "Follow-up", "Scan"]), st.integers(0, 200), st.integers(0, 30000)),
        min_size=1,
        max_size=4,
    )
)
def test_the_statement_balance_is_the_accounts_to_the_penny(world, debts, bills):
    patient = _patient(world, f"P{len(Patient.objects.all())}")
    for name, age, paid_pence in bills:
        bill = debts.age(debts.self_pay(name, patient=patient), age)
        paid = min(Decimal(paid_pence) / 100, bill.total)
        if paid:
            debts.pay(bill, str(paid))
    statement = statements.build_statement(practice=world.practice, patient=patient)
    assert statement.balance == selectors.patient_balance(practice=world.practice, patient_id=patient.pk)
    assert sum(b.amount for b in statement.aged) - statement.account.credit == statement.balance
    assert all(isinstance(b.amount, Decimal) for b in statement.aged)


def test_many_statements_print_in_worker_processes(world, owing, debts):
    other = _patient(world, "Other", "ann@example.test")
    debts.self_pay("Scan", patient=other)
    built = [
        statements.build_statement(practice=world.practice, patient=p) for p in [world.patient, other] * 4
    ]  # PARALLEL_FROM statements
    pdfs = statements.pdfs_of(built, workers=2)
    assert len(pdfs) == 8 and all(pdf.startswith(b"%PDF") for pdf in pdfs)
