"""Queueing bills for the clearing house: one invoice (`submit_invoice`) or a chunk that passed
the bulk check (`_queue_chunk`), with the same guard, rows and events either way. Under the
invoices' row locks: the status guard, a draft issued (billing's `issue_invoice(s)`), one new
Submission per (invoice, version) with its Claim frozen as sent, and the invoice's status set to
queued (billing's `set_clearing_house_status(es)`). Delivery is enqueued when the transaction
commits."""

from __future__ import annotations

import dataclasses
import logging

from django.db import transaction

from openpractice.billing import services as billing
from openpractice.billing.models import BillTo, HealthcodeStatus, Invoice, RecordStatus
from openpractice.healthcode import claims
from openpractice.healthcode.checking import check_invoice, facts_for_invoice
from openpractice.healthcode.errors import SubmissionError
from openpractice.healthcode.models import BulkSubmission, Submission, SubmissionEvent
from openpractice.healthcode.submission.delivery import enqueue_delivery, enqueue_many
from openpractice.healthcode.submission.transitions import RESUBMITTABLE, _event, _lock, current_submission

logger = logging.getLogger("openpractice.healthcode")

NO_SUCH_INVOICE = "No such invoice in this practice."


def submit_invoice(
    *, invoice: Invoice, user=None, bulk: BulkSubmission | None = None, enqueue: bool = True
) -> Submission:
    """Queue one invoice for Healthcode. Issues a draft first. The bill goes out from the worker
    once this transaction commits."""
    submission = _queue(invoice_id=invoice.pk, practice_id=invoice.practice_id, user=user, bulk=bulk, checked=None)
    if enqueue:
        transaction.on_commit(lambda: enqueue_delivery(submission.pk))
    return submission


def _check_or_refuse(invoice: Invoice) -> None:
    result = check_invoice(invoice=invoice)
    if not result.passed:
        first = result.errors[0]
        raise SubmissionError(
            f"Not submitted: the pre-submission check found {len(result.errors)} problem"
            f"{'s' if len(result.errors) != 1 else ''} (first: {first.field}: {first.error}). Fix them and try again.",
            field=first.field,
            code="check_failed",
            problems=result.errors,
        )


def _guard(invoice: Invoice) -> None:
    if invoice.bill_to != BillTo.INSURER:
        raise SubmissionError("Only an invoice to an insurer goes to Healthcode.", field="bill_to")
    if invoice.record_status == RecordStatus.VOID:
        raise SubmissionError("A void invoice cannot be submitted.", field="record_status", code="wrong_status")
    if invoice.healthcode_status not in RESUBMITTABLE:
        raise SubmissionError(
            f"This invoice is already with Healthcode ({invoice.get_healthcode_status_display()}).",
            field="healthcode_status",
            code="already_submitted",
        )


def next_version(invoice: Invoice, previous: Submission | None) -> int:
    """A claim is never edited after submission: a correction goes out as the next version."""
    if previous is not None and previous.version >= invoice.version:
        return previous.version + 1
    return invoice.version


def _queued_message(version: int, replaces: Submission | None) -> str:
    return f"Version {version} queued for Healthcode" + (f", replacing bill {replaces.bill_id}" if replaces else "")


def _frozen_claim(facts, *, invoice: Invoice, version: int, replaces: Submission | None) -> tuple[str, str]:
    """The idempotency key (= the Claim's invoice-version identifier) and the Claim as sent, checked."""
    key = claims.version_identifier(practice_id=invoice.practice_id, invoice_id=invoice.pk, version=version)
    claim = claims.build_claim(facts, version_key=key, replaces_bill_id=replaces.bill_id if replaces else "")
    claim_json = claims.dumps(claim)
    claims.validate_structure(claim, text=claim_json)
    return key, claim_json


@transaction.atomic
def _queue(*, invoice_id: int, user, bulk, checked, practice_id: int | None = None) -> Submission:
    """Under the invoice's lock: guard, issue a draft, check (unless `checked` passed already in a
    bulk run), then one new Submission row for the next version and its Claim, frozen."""
    invoice, _ = _lock(invoice_id, practice_id)
    _guard(invoice)
    if invoice.record_status == RecordStatus.DRAFT:
        invoice = billing.issue_invoice(invoice=invoice)
    if checked is None:
        _check_or_refuse(invoice)
    previous = current_submission(invoice)
    version = next_version(invoice, previous)
    replaces = (
        previous
        if (
            previous is not None
            and previous.bill_id
            and previous.healthcode_status == HealthcodeStatus.FAILED
            and not Submission.objects.filter(replaces=previous).exists()
        )
        else None
    )
    facts = (
        dataclasses.replace(checked, invoice_number=invoice.number)
        if checked is not None
        else facts_for_invoice(invoice)
    )
    submission = _new_submission(facts, invoice=invoice, version=version, replaces=replaces, bulk=bulk, user=user)
    submission.save()
    _event(
        submission, invoice.healthcode_status, HealthcodeStatus.QUEUED, _queued_message(version, replaces), actor=user
    )
    billing.set_clearing_house_status(invoice=invoice, status=HealthcodeStatus.QUEUED, version=version)
    return submission


def _new_submission(facts, *, invoice, version: int, replaces, bulk, user) -> Submission:
    """One version of a bill, its Claim frozen as it will be sent (not saved: one bill saves it,
    a chunk inserts its submissions together)."""
    key, claim_json = _frozen_claim(facts, invoice=invoice, version=version, replaces=replaces)
    return Submission(
        practice_id=invoice.practice_id,
        invoice=invoice,
        version=version,
        idempotency_key=key,
        claim_json=claim_json,
        replaces=replaces,
        bulk=bulk,
        submitted_by=user,
        healthcode_status=HealthcodeStatus.QUEUED,
    )


def _queue_chunk_or_one_by_one(*, practice, checked: list, user, bulk) -> list[dict]:
    try:
        return _queue_chunk(practice=practice, checked=checked, user=user, bulk=bulk)
    except Exception:  # e.g. a constraint a concurrent change tripped: the slow path names the invoice
        logger.warning("Bulk queueing fell back to one invoice at a time", exc_info=True)
    skipped, queued = [], []
    for facts in checked:
        try:
            queued.append(
                _queue(invoice_id=facts.invoice_id, practice_id=practice.pk, user=user, bulk=bulk, checked=facts).pk
            )
        except SubmissionError as exc:
            skipped.append(
                {
                    "invoice_id": facts.invoice_id,
                    "number": facts.invoice_number or f"Draft {facts.invoice_id}",
                    "why": exc.message,
                }
            )
    if queued:
        transaction.on_commit(lambda: enqueue_many(queued))
    return skipped


@transaction.atomic
def _queue_chunk(*, practice, checked: list, user, bulk) -> list[dict]:
    """`_queue` for a chunk of invoices that passed the bulk check, with the same guards, rows,
    events and history, in one transaction: the invoices locked in id order in one query, drafts
    issued together (one take of numbers), bulk inserts. Returns the invoices refused, with why;
    the chunk's delivery is enqueued when it commits."""
    ids = [f.invoice_id for f in checked]
    invoices = billing.lock_invoices(practice_id=practice.pk, invoice_ids=ids)
    latest: dict[int, Submission] = {}
    for previous in (
        Submission.objects.filter(invoice_id__in=ids)
        .order_by("invoice_id", "version")
        .only("pk", "invoice_id", "version", "bill_id", "healthcode_status")
    ):
        latest[previous.invoice_id] = previous  # ascending: the last one is the current version
    replaced = set(
        Submission.objects.filter(replaces_id__in=[p.pk for p in latest.values()]).values_list("replaces_id", flat=True)
    )
    skipped, ready = [], []
    for facts in checked:
        invoice = invoices.get(facts.invoice_id)
        try:
            if invoice is None:
                raise SubmissionError(NO_SUCH_INVOICE)
            _guard(invoice)
        except SubmissionError as exc:
            skipped.append(
                {
                    "invoice_id": facts.invoice_id,
                    "number": facts.invoice_number or f"Draft {facts.invoice_id}",
                    "why": exc.message,
                }
            )
            continue
        ready.append((invoice, facts))
    if not ready:
        return skipped
    billing.issue_invoices(
        practice=practice,
        invoices=[invoice for invoice, _ in ready if invoice.record_status == RecordStatus.DRAFT],
        user=user,
    )
    submissions, events, versions = [], [], {}
    for invoice, facts in ready:
        previous = latest.get(invoice.pk)
        version = versions[invoice.pk] = next_version(invoice, previous)
        replaces = (
            previous
            if (
                previous is not None
                and previous.bill_id
                and previous.pk not in replaced
                and previous.healthcode_status == HealthcodeStatus.FAILED
            )
            else None
        )
        submission = _new_submission(
            dataclasses.replace(facts, invoice_number=invoice.number),
            invoice=invoice,
            version=version,
            replaces=replaces,
            bulk=bulk,
            user=user,
        )
        submissions.append(submission)
        events.append(
            SubmissionEvent(
                practice_id=invoice.practice_id,
                submission=submission,
                from_status=invoice.healthcode_status,
                to_status=HealthcodeStatus.QUEUED,
                actor=user,
                message=_queued_message(version, replaces),
            )
        )
    Submission.objects.bulk_create(submissions)
    SubmissionEvent.objects.bulk_create(events)
    billing.set_clearing_house_statuses(
        changes=[(invoice, HealthcodeStatus.QUEUED) for invoice, _ in ready], versions=versions, user=user
    )
    queued = [submission.pk for submission in submissions]
    transaction.on_commit(lambda: enqueue_many(queued))
    return skipped
