"""The stored pre-submission check (healthcode/stored_checks.py): what is stored, what makes it
stale (each kind of change the check reads, and coding's reference_changed), the calendar's
recheck day, a page's refresh (inline when few, the task when many) and the recheck command."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from openpractice.accounts.models import PractitionerProfile
from openpractice.billing import services as billing
from openpractice.billing.models import Invoice
from openpractice.coding.importing import CsvCodeSource
from openpractice.coding.models import ImportKind, Insurer
from openpractice.coding.services import import_code_set, save_insurer
from openpractice.coding.signals import send_reference_changed
from openpractice.contacts.models import Contact
from openpractice.healthcode import rules, stored_checks
from openpractice.healthcode.directory import INSURER_SYSTEM, store_insurer_rules
from openpractice.healthcode.models import InvoiceCheck, InvoiceCheckProblem, MembershipCheck, MembershipOutcome
from openpractice.home.management.commands.seed_demo import DEMO_PRACTICE
from openpractice.patients.models import Patient
from openpractice.practices.models import Location, Practice
from tests.healthcode.demo_bills import TODAY, Demo


@pytest.fixture
def demo(db):
    return Demo()


def due_ids(demo, **kwargs) -> set[int]:
    return set(stored_checks.due(practice=demo.practice, **kwargs).values_list("pk", flat=True))


def test_record_stores_the_answer_and_its_blocking_problems(demo):
    ready, unready = demo.bill(), demo.bill(diagnosis="")
    assert due_ids(demo) >= {ready.pk, unready.pk}  # never checked
    assert (
        stored_checks.record_checks(
            practice=demo.practice, queryset=Invoice.objects.filter(pk__in=[ready.pk, unready.pk])
        )
        == 2
    )
    good, bad = InvoiceCheck.objects.get(pk=ready.pk), InvoiceCheck.objects.get(pk=unready.pk)
    # Advice is stored too (the invoice page shows it), never as blocking.
    assert good.passed and good.error_count == 0 and not good.problems.filter(blocks=True).exists()
    assert not bad.passed and bad.error_count == 1 and bad.invoice_date == unready.invoice_date
    assert list(bad.problems.filter(blocks=True).values_list("field", "message", "code", "fix")) == [
        ("Diagnosis", "Bupa requires a diagnosis", "diagnosis-required", "invoice")
    ]
    assert not due_ids(demo) & {ready.pk, unready.pk}


def test_recording_again_replaces_the_problems(demo):
    invoice = demo.bill(diagnosis="")
    stored_checks.record_check(invoice=invoice)
    stored_checks.record_check(invoice=invoice)
    assert InvoiceCheckProblem.objects.filter(stored_check_id=invoice.pk, blocks=True).count() == 1
    billing.update_invoice(invoice=invoice, data={"primary_diagnosis": "M17.1"})
    stored_checks.record_check(invoice=invoice)
    check = InvoiceCheck.objects.get(pk=invoice.pk)
    assert (
        check.passed
        and not check.stale
        and not InvoiceCheckProblem.objects.filter(stored_check_id=invoice.pk, blocks=True)
    )


def _checked(demo, *invoices):
    stored_checks.record_checks(
        practice=demo.practice, queryset=Invoice.objects.filter(pk__in=[i.pk for i in invoices])
    )
    assert not due_ids(demo) & {i.pk for i in invoices}


def _stale(invoice) -> bool:
    return InvoiceCheck.objects.get(pk=invoice.pk).stale


def test_an_invoice_edit_makes_its_check_stale_and_no_other(demo):
    mine, other = demo.bill(diagnosis="", issue=False), demo.bill(last="Clarke")
    _checked(demo, mine, other)
    billing.update_invoice(invoice=mine, data={"primary_diagnosis": "M17.1"})
    assert _stale(mine) and not _stale(other)
    assert due_ids(demo) == {mine.pk}


def test_a_change_made_without_save_is_due_by_its_updated_at(demo):
    invoice = demo.bill()
    _checked(demo, invoice)
    Invoice.objects.filter(pk=invoice.pk).update(primary_diagnosis="", updated_at=timezone.now())
    assert not _stale(invoice) and due_ids(demo) == {invoice.pk}


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda inv: Patient.objects.get(pk=inv.patient_id).save(), id="patient"),
        pytest.param(lambda inv: inv.insurance.save(), id="insurance relationship"),
        pytest.param(lambda inv: Contact.objects.get(pk=inv.insurer_contact_id).save(), id="insurer contact"),
        pytest.param(
            lambda inv: PractitionerProfile.objects.get(membership_id=inv.practitioner_id).save(), id="practitioner"
        ),
        pytest.param(
            lambda inv: MembershipCheck.objects.create(
                practice_id=inv.practice_id,
                relationship_id=inv.insurance_id,
                fingerprint="x" * 64,
                active_on=TODAY,
                outcome=MembershipOutcome.MATCH,
            ),
            id="find member answer",
        ),
    ],
)
def test_a_change_to_what_the_check_reads_makes_the_check_stale(demo, change):
    invoice, someone_else = demo.bill(), demo.bill(last="Patel", who=demo.sample)
    _checked(demo, invoice, someone_else)
    change(invoice)
    assert _stale(invoice) and not _stale(someone_else)
    assert due_ids(demo) == {invoice.pk}


def test_a_location_the_bill_names_makes_it_stale(demo):
    invoice, other = demo.bill(), demo.bill(last="Clarke")
    location = Location.objects.filter(practice=demo.practice).first()
    Invoice.objects.filter(pk=invoice.pk).update(facility=location)
    _checked(demo, invoice, other)
    location.save()
    assert _stale(invoice) and not _stale(other)


def test_reference_changed_marks_the_practice_or_every_practice(demo):
    invoice = demo.bill()
    _checked(demo, invoice)
    send_reference_changed(sender=Insurer, practice=Practice.objects.create(name="Elsewhere"))
    assert not _stale(invoice)
    send_reference_changed(sender=Insurer, practice=demo.practice)
    assert _stale(invoice)
    _checked(demo, invoice)
    send_reference_changed(sender=Insurer, practice=None)  # published data every practice sees
    assert _stale(invoice)


def test_editing_the_insurer_directory_sends_reference_changed(demo):

    invoice = demo.bill()
    _checked(demo, invoice)
    bupa = Insurer.objects.get(pk=invoice.insurer_contact.insurer_id)
    save_insurer(
        practice=demo.practice,
        user=demo.patel.user,
        insurer=bupa,
        data={"name": bupa.name, "healthcode_identifier": "", "member_check": bupa.member_check},
    )
    assert _stale(invoice)
    stored_checks.record_check(invoice=invoice)
    check = InvoiceCheck.objects.get(pk=invoice.pk)
    assert not check.passed and check.problems.filter(fix="insurer").exists()


def test_a_change_while_checking_keeps_the_check_stale(demo, monkeypatch):
    invoice = demo.bill()
    _checked(demo, invoice)
    real = stored_checks.check_many

    def edited_meanwhile(facts, knowledge, today):
        results = real(facts, knowledge, today)
        stored_checks.mark_invoices_stale(Invoice.objects.filter(pk=invoice.pk))  # after the facts were read
        return results

    monkeypatch.setattr(stored_checks, "check_many", edited_meanwhile)
    stored_checks.record_check(invoice=invoice)
    assert _stale(invoice)


def test_the_calendar_makes_a_check_due(demo):
    later = demo.bill(day=TODAY + dt.timedelta(days=3))
    stored_checks.record_check(invoice=later)
    check = InvoiceCheck.objects.get(pk=later.pk)
    assert not check.passed and check.recheck_on == TODAY + dt.timedelta(days=3)
    assert later.pk not in due_ids(demo)
    assert later.pk in due_ids(demo, today=TODAY + dt.timedelta(days=3))


def test_result_changes_on_the_service_date_or_when_the_time_limit_passes():
    def facts(*days):
        lines = tuple(rules.LineFacts(i, d, 1, 0, 0, "", "") for i, d in enumerate(days, 1))
        return rules.BillFacts(
            1,
            "",
            True,
            False,
            "bup",
            "Bupa",
            "O",
            None,
            "",
            "",
            "",
            "",
            None,
            "",
            "",
            False,
            "",
            False,
            False,
            "",
            (),
            lines,
        )

    six = rules.InsurerFacts(time_limit_months=6)
    day = dt.date(2026, 3, 10)
    assert rules.result_changes_on(facts(dt.date(2026, 3, 12)), six, day) == dt.date(2026, 3, 12)
    assert rules.result_changes_on(facts(None), six, day) == dt.date(2026, 3, 11)
    assert rules.result_changes_on(facts(dt.date(2026, 3, 1)), rules.InsurerFacts(), day) is None
    limit = rules.result_changes_on(facts(dt.date(2026, 3, 1)), six, day)
    assert limit is not None
    # The day the rule turns, and not the day before.
    assert dt.date(2026, 3, 1) < rules.months_before(limit, 6)
    assert not dt.date(2026, 3, 1) < rules.months_before(limit - dt.timedelta(days=1), 6)


def test_refresh_checks_a_few_bills_inline(demo, django_capture_on_commit_callbacks):
    bills = [demo.bill(), demo.bill(diagnosis="")]
    with django_capture_on_commit_callbacks() as queued:
        assert stored_checks.refresh(practice=demo.practice) == 0
    assert not queued and not due_ids(demo)
    assert InvoiceCheck.objects.filter(pk__in=[b.pk for b in bills]).count() == 2


def test_refresh_queues_the_task_when_many_are_due(demo, monkeypatch, django_capture_on_commit_callbacks):
    monkeypatch.setattr(stored_checks, "INLINE_LIMIT", 1)
    bills = [demo.bill(), demo.bill(diagnosis=""), demo.bill(last="Clarke")]
    with django_capture_on_commit_callbacks(execute=True) as queued:
        assert stored_checks.refresh(practice=demo.practice) == len(bills)
        assert stored_checks.refresh(practice=demo.practice) == len(bills)  # queued once, not per page
    assert len(queued) == 1 and not InvoiceCheck.objects.filter(stale=False).exists()
    task = DBTaskResult.objects.get()
    assert task.task_path == "openpractice.healthcode.stored_checks.recheck_due_bills"
    assert stored_checks.recheck_due_bills.call(demo.practice.pk) == len(bills)
    assert not due_ids(demo)


def test_queue_due_rechecks_queues_practices_with_due_bills(demo, django_capture_on_commit_callbacks):
    demo.bill()
    with django_capture_on_commit_callbacks(execute=True):
        assert stored_checks.queue_due_rechecks() == 1
    assert DBTaskResult.objects.count() == 1


def test_the_recheck_command(demo):
    first, second = demo.bill(), demo.bill(diagnosis="")
    out = StringIO()
    call_command("recheck_bills", "--due-only", "--batch", "1", stdout=out)
    assert f"{DEMO_PRACTICE}: 2 bills checked" in out.getvalue()
    assert InvoiceCheck.objects.filter(pk__in=[first.pk, second.pk]).count() == 2
    out = StringIO()
    call_command("recheck_bills", "--due-only", "--practice", str(demo.practice.pk), stdout=out)
    assert f"{DEMO_PRACTICE}: 0 bills checked" in out.getvalue()
    call_command("recheck_bills", "--practice", str(demo.practice.pk), stdout=out)
    assert f"{DEMO_PRACTICE}: 2 bills checked" in out.getvalue()
    with pytest.raises(CommandError, match="No practice with id 0"):
        call_command("recheck_bills", "--practice", "0")
    with pytest.raises(CommandError, match="--batch must be 1 or more"):
        call_command("recheck_bills", "--batch", "0")


def test_a_saved_candidate_gets_a_stale_check_a_page_finds(demo):
    invoice = demo.bill()
    check = InvoiceCheck.objects.get(pk=invoice.pk)
    assert check.stale and not check.passed
    assert list(stored_checks.pending(practice=demo.practice).values_list("invoice_id", flat=True)) == [invoice.pk]
    _checked(demo, invoice)
    assert not stored_checks.pending(practice=demo.practice).exists()
    # Changed without a save: not pending (pages read only indexed rows), but due on the schedule.
    Invoice.objects.filter(pk=invoice.pk).update(primary_diagnosis="", updated_at=timezone.now())
    assert not stored_checks.pending(practice=demo.practice).exists() and due_ids(demo) == {invoice.pk}


def test_a_practice_with_no_stored_check_has_every_candidate_checked(demo):
    bills = [demo.bill(), demo.bill(diagnosis="")]
    InvoiceCheck.objects.all().delete()  # as just after the upgrade that added stored checks
    assert stored_checks.refresh(practice=demo.practice) == 0
    assert InvoiceCheck.objects.filter(pk__in=[b.pk for b in bills], stale=False).count() == 2


def test_importing_a_code_set_makes_the_practices_checks_stale_and_the_same_file_again_does_not(demo):
    invoice = demo.bill()
    _checked(demo, invoice)

    def import_codes():
        return import_code_set(
            practice=demo.practice,
            kind=ImportKind.CODES,
            system="ccsd",
            source=CsvCodeSource(b"code,description\nZ9990,A code this practice adds\n"),
            retire_missing=False,
        )

    import_codes()
    assert _stale(invoice)
    _checked(demo, invoice)
    import_codes()  # nothing changed: the checks still hold
    assert not _stale(invoice)


def test_the_insurer_rules_sync_marks_bills_to_an_insurer_only_when_its_rules_change(demo):
    bupa_bill, aviva_bill = demo.bill(), demo.bill(last="Patel")

    def sync(months):
        organization = {
            "name": "Bupa",
            "identifier": [{"system": INSURER_SYSTEM, "value": "bup"}],
            "extension": [{"url": "https://example.test/time-limit-months", "valueInteger": months}],
        }
        store_insurer_rules([organization])

    sync(6)
    _checked(demo, bupa_bill, aviva_bill)
    sync(6)  # the daily sync, nothing changed
    assert not _stale(bupa_bill)
    sync(3)
    assert _stale(bupa_bill) and not _stale(aviva_bill)


def test_the_three_forms_of_could_go_to_healthcode_agree(demo):
    """billing's submittable_candidates, the join filter the view pages with, and the test on one
    saved invoice: the same bills."""
    bills = [demo.bill(), demo.bill(issue=False), demo.bill(), demo.bill(), demo.bill(), demo.bill()]
    Invoice.objects.filter(pk=bills[2].pk).update(healthcode_status="failed")
    Invoice.objects.filter(pk=bills[3].pk).update(healthcode_status="collected")
    Invoice.objects.filter(pk=bills[4].pk).update(record_status="void")
    Invoice.objects.filter(pk=bills[5].pk).update(bill_to="patient")
    stored_checks.record_checks(practice=demo.practice, queryset=Invoice.objects.all())
    by_billing = set(stored_checks.candidates(practice=demo.practice).values_list("pk", flat=True))
    by_join = set(InvoiceCheck.objects.filter(stored_checks.CANDIDATE_CHECK).values_list("invoice_id", flat=True))
    in_memory = {i.pk for i in Invoice.objects.all() if stored_checks.is_candidate(i)}
    assert by_billing == by_join == in_memory == {bills[0].pk, bills[1].pk, bills[2].pk}
