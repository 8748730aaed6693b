"""Submitting bills to the clearing house, following them, cancelling them.

Idempotency, end to end:
- one Submission row per (invoice, version) (unique constraint); a second click finds the invoice
  already queued and is refused under the invoice's row lock;
- the row's idempotency key (= the Claim's invoice-version identifier) goes with every attempt, so
  however often a retry, a restarted worker or a recovery re-sends it, the clearing house answers
  with the same bill;
- every transition happens under `select_for_update` of the invoice, then the submission (always
  that order), after a status guard, with an event row carrying the clearing house's words.

No transaction is held while the clearing house is called.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import logging
import threading

from django.conf import settings
from django.db import transaction
from django.db.models import F, Max
from django.utils import timezone

from openpractice.billing import services as billing
from openpractice.billing.models import BillTo, HealthcodeStatus, Invoice, RecordStatus
from openpractice.db import bulk
from openpractice.healthcode import answers, claims
from openpractice.healthcode.checking import check_invoice, facts_for_invoice
from openpractice.healthcode.client import HealthcodeError
from openpractice.healthcode.errors import HealthcodeSetupError, SubmissionError
from openpractice.healthcode.models import ApiExchange, BulkSubmission, Submission, SubmissionEvent, SubmissionState

logger = logging.getLogger("openpractice.healthcode")

# How the clearing house's statuses follow one another: a reply may repeat a status or move on,
# never go back (an old reply arriving late must not undo a newer one).
STATUS_RANK = {
    HealthcodeStatus.QUEUED: 0, HealthcodeStatus.UNPROCESSED: 1, HealthcodeStatus.VALIDATED: 2,
    HealthcodeStatus.FAILED: 2, HealthcodeStatus.AWAITING_COLLECTION: 3, HealthcodeStatus.COLLECTED: 4,
    HealthcodeStatus.CANCELLED: 5,
}
FINAL_STATUSES = (HealthcodeStatus.FAILED, HealthcodeStatus.COLLECTED, HealthcodeStatus.CANCELLED)
RESUBMITTABLE = (HealthcodeStatus.NOT_SUBMITTED, HealthcodeStatus.FAILED, HealthcodeStatus.CANCELLED)
CANCELLABLE = (HealthcodeStatus.UNPROCESSED, HealthcodeStatus.VALIDATED, HealthcodeStatus.AWAITING_COLLECTION)
MAX_SEND_ATTEMPTS = 8


# -- the client for a practice ----------------------------------------------------------------
_exchange_buffer = threading.local()


def recorder_for(practice_id: int):
    def record(exchange: dict) -> None:
        buffer = getattr(_exchange_buffer, "rows", None)
        if buffer is not None:  # a bulk delivery thread: written with the batch's outcome, in one insert
            buffer.append(ApiExchange(practice_id=practice_id, **exchange))
            return
        ApiExchange.objects.create(practice_id=practice_id, **exchange)
    return record


_clients = threading.local()


def client_for_practice(practice):
    """The practice's client, kept per thread and reused (a new HTTP client costs ~50 ms of TLS
    set-up and a new connection); a change of credentials makes a new one. Only credentials that
    passed "Test connection" get one: otherwise HealthcodeSetupError (code "untested") says so and
    nothing is sent. Use as `with client_for_practice(p) as client:` (the client stays open)."""
    from openpractice.healthcode.services import client_for, client_options, fingerprint_of, require_tested

    integration = require_tested(practice=practice)
    options = client_options()
    key = (practice.pk, fingerprint_of(integration), tuple(sorted(options.items())))
    cache = getattr(_clients, "by_key", None)
    if cache is None:
        cache = _clients.by_key = {}
    client = cache.get(key)
    if client is None:
        for old in cache.values():
            old.close()
        cache.clear()
        client = cache[key] = client_for(practice=practice, recorder=recorder_for(practice.pk))
    return contextlib.nullcontext(client)


# -- events -----------------------------------------------------------------------------------
def _event(submission: Submission, from_status: str, to_status: str, message: str, actor=None) -> None:
    SubmissionEvent.objects.create(practice_id=submission.practice_id, submission=submission,
                                   from_status=from_status, to_status=to_status, message=message[:2000], actor=actor)


def _lock(invoice_id: int, submission_id: int | None = None):
    """The lock order everywhere: invoice, then submission."""
    invoice = Invoice.objects.select_for_update().get(pk=invoice_id)
    submission = Submission.objects.select_for_update().get(pk=submission_id) if submission_id else None
    return invoice, submission


def current_submission(invoice: Invoice) -> Submission | None:
    return Submission.objects.filter(invoice=invoice).order_by("-version").first()


# -- submit -----------------------------------------------------------------------------------
def _check_or_refuse(invoice: Invoice) -> None:
    result = check_invoice(invoice=invoice)
    if not result.passed:
        first = result.errors[0]
        raise SubmissionError(
            f"Not submitted: the pre-submission check found {len(result.errors)} problem"
            f"{'s' if len(result.errors) != 1 else ''} (first: {first.field}: {first.error}). Fix them and try again.",
            field=first.field, code="check_failed", problems=result.errors)


def submit_invoice(*, invoice: Invoice, user=None, bulk: BulkSubmission | None = None,
                   enqueue: bool = True) -> Submission:
    """Queue one invoice for Healthcode. Issues a draft first. The bill goes out from the worker
    once this transaction commits."""
    submission = _queue(invoice_id=invoice.pk, user=user, bulk=bulk, checked=None)
    if enqueue:
        transaction.on_commit(lambda: enqueue_delivery(submission.pk))
    return submission


def _guard(invoice: Invoice) -> None:
    if invoice.bill_to != BillTo.INSURER:
        raise SubmissionError("Only an invoice to an insurer goes to Healthcode.", field="bill_to")
    if invoice.record_status == RecordStatus.VOID:
        raise SubmissionError("A void invoice cannot be submitted.", field="record_status", code="wrong_status")
    if invoice.healthcode_status not in RESUBMITTABLE:
        raise SubmissionError(f"This invoice is already with Healthcode ({invoice.get_healthcode_status_display()}).",
                              field="healthcode_status", code="already_submitted")


@transaction.atomic
def _queue(*, invoice_id: int, user, bulk, checked) -> Submission:
    """Under the invoice's lock: guard, issue a draft, check (unless `checked` passed already in a
    bulk run), then one new Submission row for the next version and its Claim, frozen."""
    invoice, _ = _lock(invoice_id)
    _guard(invoice)
    if invoice.record_status == RecordStatus.DRAFT:
        invoice = billing.issue_invoice(invoice=invoice)
    if checked is None:
        _check_or_refuse(invoice)
    previous = current_submission(invoice)
    if previous is not None and previous.version >= invoice.version:
        # A claim is never edited after submission: the correction is a new version.
        invoice.version = previous.version + 1
        invoice.save(update_fields=["version", "updated_at"])
    replaces = previous if (previous is not None and previous.bill_id
                            and previous.healthcode_status == HealthcodeStatus.FAILED
                            and not Submission.objects.filter(replaces=previous).exists()) else None
    key = claims.version_identifier(practice_id=invoice.practice_id, invoice_id=invoice.pk, version=invoice.version)
    if checked is not None:
        facts = dataclasses.replace(checked, invoice_number=invoice.number)
    else:
        facts = facts_for_invoice(invoice)
    claim = claims.build_claim(facts, version_key=key, replaces_bill_id=replaces.bill_id if replaces else "")
    claim_json = claims.dumps(claim)
    claims.validate_structure(claim, text=claim_json)
    submission = Submission.objects.create(
        practice_id=invoice.practice_id, invoice=invoice, version=invoice.version, idempotency_key=key,
        claim_json=claim_json, replaces=replaces, bulk=bulk, submitted_by=user,
        healthcode_status=HealthcodeStatus.QUEUED)
    _event(submission, invoice.healthcode_status, HealthcodeStatus.QUEUED,
           f"Version {invoice.version} queued for Healthcode" + (f", replacing bill {replaces.bill_id}" if replaces else ""),
           actor=user)
    billing.set_healthcode_status(invoice=invoice, status=HealthcodeStatus.QUEUED)
    return submission


def enqueue_delivery(submission_id: int, *, delay_seconds: float = 0) -> None:
    from openpractice.healthcode.tasks import deliver_submission

    task = deliver_submission
    if delay_seconds:
        if not task.get_backend().supports_defer:
            return  # a backend that runs at once cannot wait: the sync command's recovery sends it later
        task = task.using(run_after=timezone.now() + dt.timedelta(seconds=delay_seconds))
    task.enqueue(submission_id)


# -- deliver (the worker) ---------------------------------------------------------------------
def deliver(submission_id: int) -> str:
    """Send one submission. Safe to run any number of times, concurrently or after a crash: the
    status guard skips settled rows and the idempotency key makes a re-send return the same bill."""
    with transaction.atomic():
        row = Submission.objects.filter(pk=submission_id).values("invoice_id").first()
        if row is None:
            return "missing"
        invoice, submission = _lock(row["invoice_id"], submission_id)
        if submission.state not in (SubmissionState.QUEUED, SubmissionState.SENDING):
            return submission.state
        submission.state = SubmissionState.SENDING
        submission.attempts += 1
        submission.save(update_fields=["state", "attempts", "updated_at"])
        practice = invoice.practice
    try:
        with client_for_practice(practice) as client:
            outcome = _send(client, submission)
    except HealthcodeSetupError as exc:
        outcome = _Outcome("retry", message=exc.message)
    return _record_outcome(submission_id, outcome)


@dataclasses.dataclass
class _Outcome:
    kind: str  # "accepted" | "retry" | "refused"
    message: str = ""
    bill: answers.BillAnswer | None = None
    status_code: int = 0
    issues: list = dataclasses.field(default_factory=list)


def _send(client, submission) -> _Outcome:
    """One HTTP submission and what its answer means; touches no database (bulk delivery runs
    it on sender threads)."""
    try:
        answer = client.submit_claim(submission.claim_json, idempotency_key=submission.idempotency_key)
    except (HealthcodeError, HealthcodeSetupError) as exc:
        return _Outcome("retry", message=exc.message)
    if answer.status_code in (200, 201):
        try:
            bill = answers.claim_response(answers.parse_json(answer.text))
        except answers.AnswerError as exc:
            return _Outcome("retry", message=f"Unreadable answer: {exc.message}")
        return _Outcome("accepted", bill=bill, message="Accepted by Healthcode" + (
            " (replayed)" if answer.headers.get("Idempotent-Replayed") else ""))
    if answer.status_code >= 500:
        return _Outcome("retry", message=f"Healthcode answered HTTP {answer.status_code}")
    try:
        issues = answers.outcome_issues(answers.parse_json(answer.text))
    except answers.AnswerError:
        issues = answers.outcome_issues({})
    return _Outcome("refused", status_code=answer.status_code, issues=issues)


def _record_outcome(submission_id: int, outcome: _Outcome) -> str:
    if outcome.kind == "accepted":
        apply_answer(submission_id=submission_id, bill=outcome.bill, message=outcome.message)
        return SubmissionState.ACCEPTED
    if outcome.kind == "refused":
        _refused(submission_id, outcome.status_code, outcome.issues)
        return SubmissionState.REJECTED
    return _not_delivered(submission_id, outcome.message)


def _not_delivered(submission_id: int, message: str) -> str:
    """Network trouble or a 5xx after the client's own retries: back to the queue, sent again
    later with the same key. After MAX_SEND_ATTEMPTS it waits for the sync command's recovery."""
    with transaction.atomic():
        row = Submission.objects.filter(pk=submission_id).values("invoice_id").first()
        invoice, submission = _lock(row["invoice_id"], submission_id)
        if submission.state != SubmissionState.SENDING:
            return submission.state
        submission.state = SubmissionState.QUEUED
        submission.last_error = message[:2000]
        submission.save(update_fields=["state", "last_error", "updated_at"])
        _event(submission, HealthcodeStatus.QUEUED, HealthcodeStatus.QUEUED,
               f"Not delivered yet (attempt {submission.attempts}): {message}")
        attempts = submission.attempts
    if attempts < MAX_SEND_ATTEMPTS:
        delay = min(60.0, settings.HEALTHCODE_BACKOFF_SECONDS * 2 ** attempts)
        enqueue_delivery(submission_id, delay_seconds=delay)
    return SubmissionState.QUEUED


@transaction.atomic
def _refused(submission_id: int, status_code: int, issues: list[dict]) -> None:
    row = Submission.objects.filter(pk=submission_id).values("invoice_id").first()
    invoice, submission = _lock(row["invoice_id"], submission_id)
    if submission.state != SubmissionState.SENDING:
        return
    submission.state = SubmissionState.REJECTED
    submission.healthcode_status = HealthcodeStatus.FAILED
    submission.errors = issues
    submission.save(update_fields=["state", "healthcode_status", "errors", "updated_at"])
    words = "; ".join(i["error"] for i in issues if i["error"]) or f"HTTP {status_code}"
    _event(submission, HealthcodeStatus.QUEUED, HealthcodeStatus.FAILED, f"Refused by Healthcode (HTTP {status_code}): {words}")
    if current_submission(invoice).pk == submission.pk:
        billing.set_healthcode_status(invoice=invoice, status=HealthcodeStatus.FAILED)


@transaction.atomic
def apply_answer(*, submission_id: int, bill: answers.BillAnswer, message: str = "", actor=None) -> Submission:
    """Record what the clearing house says about a bill: a forward transition only, with an event."""
    row = Submission.objects.filter(pk=submission_id).values("invoice_id").first()
    invoice, submission = _lock(row["invoice_id"], submission_id)
    applies, event = _transition(submission, bill, message=message, actor=actor)
    if not applies:
        return submission
    submission.save()
    if event is not None:
        event.save()
    if current_submission(invoice).pk == submission.pk:
        billing.set_healthcode_status(invoice=invoice, status=bill.status)
    return submission


def _transition(submission: Submission, bill: answers.BillAnswer, *, message: str, actor=None):
    """The forward-only move of a locked submission to what the clearing house says, in memory:
    (whether it applies, the event row to write or None). The caller saves."""
    if submission.state == SubmissionState.REJECTED:
        return False, None
    if submission.bill_id and submission.bill_id != bill.bill_id:
        raise SubmissionError(f"Healthcode answered about bill {bill.bill_id}, not {submission.bill_id}.",
                              code="wrong_bill")
    before = submission.healthcode_status
    if submission.state == SubmissionState.ACCEPTED and STATUS_RANK[bill.status] < STATUS_RANK.get(before, 0):
        return False, None  # a late, older answer
    changed = submission.state != SubmissionState.ACCEPTED or before != bill.status or submission.errors != bill.errors
    submission.state = SubmissionState.ACCEPTED
    submission.bill_id = bill.bill_id
    submission.healthcode_status = bill.status
    submission.status_words = bill.words
    submission.errors = bill.errors
    submission.collected_at = bill.collected_at or submission.collected_at
    submission.last_error = ""
    submission.last_synced_at = timezone.now()
    if not changed:
        return True, None
    words = bill.words
    if bill.errors:
        words += ": " + "; ".join(f"{e['field']}: {e['error']}" for e in bill.errors)
    return True, SubmissionEvent(practice_id=submission.practice_id, submission=submission, from_status=before,
                                 to_status=bill.status, actor=actor,
                                 message=f"{message + '. ' if message else ''}Healthcode: {words}"[:2000])


# -- status -----------------------------------------------------------------------------------
def refresh_status(*, submission: Submission, actor=None) -> Submission:
    """Ask the clearing house where one bill is (on demand, or from the schedule)."""
    submission = Submission.objects.select_related("practice").get(pk=submission.pk)  # the row as it is now
    if not submission.bill_id:
        raise SubmissionError("This bill has not reached Healthcode yet: there is no status to ask for.",
                              code="not_sent")
    with client_for_practice(submission.practice) as client:
        try:
            answer = client.claim_status(bill_id=submission.bill_id)
        except HealthcodeError as exc:
            raise SubmissionError(f"Could not ask Healthcode: {exc.message}", code=exc.code) from None
    if answer.status_code != 200:
        raise SubmissionError(f"Healthcode answered HTTP {answer.status_code} to the status request.",
                              code="status_error")
    try:
        bill = answers.first_claim_response(answers.parse_json(answer.text))
    except answers.AnswerError as exc:
        raise SubmissionError(f"Healthcode's status answer could not be read: {exc.message}", code="bad_answer") from None
    if bill is None:
        raise SubmissionError(f"Healthcode does not know bill {submission.bill_id}.", code="not_found")
    return apply_answer(submission_id=submission.pk, bill=bill, actor=actor)


def refresh_invoice(*, invoice: Invoice, actor=None) -> Submission | None:
    submission = current_submission(invoice)
    if submission is None or not submission.bill_id:
        return submission
    return refresh_status(submission=submission, actor=actor)


def sync_due(*, practice=None, stale_after_seconds: int = 120, limit: int = 1000, refresh: bool = True) -> dict:
    """The schedule's work: follow every bill not yet settled, and recover submissions a crashed
    worker left behind (queued or sending, untouched for a while: sent again with the same key)."""
    counts = {"refreshed": 0, "failed": 0, "recovered": 0}
    open_bills = Submission.objects.filter(state=SubmissionState.ACCEPTED).exclude(
        healthcode_status__in=FINAL_STATUSES).select_related("practice")
    stuck = Submission.objects.filter(state__in=[SubmissionState.QUEUED, SubmissionState.SENDING],
                                      updated_at__lt=timezone.now() - dt.timedelta(seconds=stale_after_seconds))
    if practice is not None:
        open_bills, stuck = open_bills.filter(practice=practice), stuck.filter(practice=practice)
    for submission in (open_bills.order_by("last_synced_at", "id")[:limit] if refresh else []):
        try:
            refresh_status(submission=submission)
            counts["refreshed"] += 1
        except SubmissionError as exc:
            counts["failed"] += 1
            logger.warning("Status of %s not refreshed: %s", submission, exc.message)
    for submission_id in stuck.values_list("pk", flat=True)[:limit]:
        enqueue_delivery(submission_id)
        counts["recovered"] += 1
    return counts


# -- cancel -----------------------------------------------------------------------------------
def cancel_bill(*, invoice: Invoice, actor=None) -> Submission:
    submission = current_submission(invoice)
    if submission is None or not submission.bill_id:
        raise SubmissionError("There is no bill at Healthcode to cancel.", code="not_sent")
    if submission.healthcode_status not in CANCELLABLE:
        raise SubmissionError(f"A bill that is {submission.status_words or submission.healthcode_status} cannot be "
                              "cancelled (possible until the insurer collects it).", code="wrong_status")
    with client_for_practice(invoice.practice) as client:
        try:
            answer = client.cancel_claim(bill_id=submission.bill_id)
        except HealthcodeError as exc:
            raise SubmissionError(f"Could not reach Healthcode: {exc.message}", code=exc.code) from None
    body = _safe_json(answer.text)
    if answer.status_code == 409:
        words = "; ".join(i["error"] for i in answers.outcome_issues(body))
        refresh_status(submission=submission, actor=actor)
        raise SubmissionError(f"Healthcode would not cancel the bill: {words}", code="conflict")
    if answer.status_code != 200:
        raise SubmissionError(f"Healthcode answered HTTP {answer.status_code} to the cancellation.", code="cancel_error")
    return apply_answer(submission_id=submission.pk, bill=answers.claim_response(body),
                        message="Cancelled at the practice's request", actor=actor)


def _safe_json(text: str) -> dict:
    try:
        return answers.parse_json(text)
    except answers.AnswerError:
        return {}


# -- bulk -------------------------------------------------------------------------------------
# A run this big is queued by a task (`queue_bulk_task`), so the request returns at once and a web
# process that dies loses nothing; smaller runs are queued in the request, as before.
BULK_IN_BACKGROUND_FROM = 200


def submit_many(*, practice, invoice_ids: list[int], user=None, chunk: int = 50,
                background: bool | None = None) -> BulkSubmission:
    """Record the run with every invoice asked for (`record_bulk`, one transaction, before
    anything is queued), then queue it (`queue_bulk`): in this call, or from a task enqueued when
    the record commits (`background`, by default for BULK_IN_BACKGROUND_FROM invoices or more).
    Whatever stops the queueing half-way, the run's page shows each invoice as queued, sent,
    answered or not sent, and "Send the rest" (`send_rest`) queues those never queued."""
    bulk = record_bulk(practice=practice, invoice_ids=invoice_ids, user=user)
    if background is None:
        background = len(invoice_ids) >= BULK_IN_BACKGROUND_FROM
    if background:
        transaction.on_commit(lambda: enqueue_bulk_queueing(bulk.pk, chunk=chunk))
        return bulk
    return queue_bulk(bulk=bulk, user=user, chunk=chunk)


@transaction.atomic
def record_bulk(*, practice, invoice_ids: list[int], user=None) -> BulkSubmission:
    """The run and one item per invoice of this practice asked for, in one transaction; ids of
    no invoice of the practice are listed as not sent at once."""
    from openpractice.healthcode.models import BulkSubmissionItem

    wanted = sorted(set(invoice_ids))
    found = set()
    for start in range(0, len(wanted), 2000):
        found.update(Invoice.objects.for_practice(practice).filter(pk__in=wanted[start:start + 2000])
                     .values_list("pk", flat=True))
    bulk = BulkSubmission.objects.create(
        practice=practice, created_by=user, requested=len(wanted), queueing_seen_at=timezone.now(),
        skipped=[{"invoice_id": pk, "number": str(pk), "why": "No such invoice in this practice."}
                 for pk in wanted if pk not in found])
    BulkSubmissionItem.objects.bulk_create([BulkSubmissionItem(bulk=bulk, invoice_id=pk) for pk in sorted(found)],
                                           batch_size=1000)
    return bulk


def enqueue_bulk_queueing(bulk_id: int, *, chunk: int = 50) -> None:
    from openpractice.healthcode.tasks import queue_bulk_task

    queue_bulk_task.enqueue(bulk_id, chunk)


def queue_bulk(*, bulk: BulkSubmission, user=None, chunk: int = 50) -> BulkSubmission:
    """Queue every item of the run that has no submission of this run yet: the check in bulk per
    500 invoices, then `_queue_chunk` a chunk per transaction, each chunk's delivery enqueued when
    it commits (workers send the first bills while later ones are queued). Safe to run again at
    any time, also concurrently: an invoice already queued is refused by the guard under its row
    lock (one submission per invoice version), and an item with a submission is not retried."""
    from openpractice.healthcode.checking import DatabaseKnowledge, check_many, facts_for_queryset
    from openpractice.healthcode.models import BulkSubmissionItem

    practice = bulk.practice
    BulkSubmission.objects.filter(pk=bulk.pk).update(queueing_finished_at=None, queueing_seen_at=timezone.now())
    sent = set(Submission.objects.filter(bulk=bulk).values_list("invoice_id", flat=True))
    wanted = sorted(set(bulk.items.values_list("invoice_id", flat=True)) - sent)
    knowledge = DatabaseKnowledge(practice)
    for start in range(0, len(wanted), 500):
        batch = Invoice.objects.for_practice(practice).filter(pk__in=wanted[start:start + 500])
        facts_by_id = {f.invoice_id: f for f in facts_for_queryset(batch)}
        results = check_many(list(facts_by_id.values()), knowledge)
        held, passed = {}, []
        for invoice_id in sorted(facts_by_id):
            facts, result = facts_by_id[invoice_id], results[invoice_id]
            if not result.passed:
                first = result.errors[0]
                held[invoice_id] = f"{first.field}: {first.error}" + (
                    f" (and {len(result.errors) - 1} more)" if len(result.errors) > 1 else "")
                continue
            passed.append(facts)
        _hold(bulk, held)
        for part in range(0, len(passed), chunk):
            refused = _queue_chunk_or_one_by_one(practice=practice, checked=passed[part:part + chunk],
                                                 user=user, bulk=bulk)
            _hold(bulk, {s["invoice_id"]: s["why"] for s in refused})
            BulkSubmission.objects.filter(pk=bulk.pk).update(queueing_seen_at=timezone.now())
    sent = set(Submission.objects.filter(bulk=bulk).values_list("invoice_id", flat=True))
    items = {i.invoice_id: i for i in BulkSubmissionItem.objects.filter(bulk=bulk).exclude(why="")
             .select_related("invoice").only("invoice_id", "why", "invoice__number")}
    unknown = [s for s in bulk.skipped if s.get("why") == "No such invoice in this practice."]
    bulk.skipped = unknown + [{"invoice_id": pk, "number": item.invoice.number or f"Draft {pk}", "why": item.why}
                              for pk, item in sorted(items.items()) if pk not in sent]
    bulk.queueing_finished_at = bulk.queueing_seen_at = timezone.now()
    bulk.save(update_fields=["skipped", "queueing_finished_at", "queueing_seen_at"])
    return bulk


def _hold(bulk: BulkSubmission, why_by_invoice: dict[int, str]) -> None:
    """Write why each of these invoices was not sent on its item."""
    from openpractice.healthcode.models import BulkSubmissionItem

    items = list(BulkSubmissionItem.objects.filter(bulk=bulk, invoice_id__in=list(why_by_invoice)))
    for item in items:
        item.why = why_by_invoice[item.invoice_id][:500]
    BulkSubmissionItem.objects.bulk_update(items, ["why"], batch_size=500)


def send_rest(*, bulk: BulkSubmission, user=None, chunk: int = 50) -> BulkSubmission:
    """"Send the rest": queue the items of the run that were never queued (and try again those held
    back, whose problem may have been fixed). Idempotent: queueing is one submission per invoice
    version under the invoice's lock, so a double click or a concurrent pass sends nothing twice."""
    if bulk.items.count() - Submission.objects.filter(bulk=bulk).count() >= BULK_IN_BACKGROUND_FROM:
        BulkSubmission.objects.filter(pk=bulk.pk).update(queueing_finished_at=None, queueing_seen_at=timezone.now())
        transaction.on_commit(lambda: enqueue_bulk_queueing(bulk.pk, chunk=chunk))
        return bulk
    return queue_bulk(bulk=bulk, user=user, chunk=chunk)


def _queue_chunk_or_one_by_one(*, practice, checked: list, user, bulk) -> list[dict]:
    try:
        return _queue_chunk(practice=practice, checked=checked, user=user, bulk=bulk)
    except Exception:  # e.g. a constraint a concurrent change tripped: the slow path names the invoice
        logger.warning("Bulk queueing fell back to one invoice at a time", exc_info=True)
    skipped, queued = [], []
    for facts in checked:
        try:
            queued.append(_queue(invoice_id=facts.invoice_id, user=user, bulk=bulk, checked=facts).pk)
        except SubmissionError as exc:
            skipped.append({"invoice_id": facts.invoice_id, "number": facts.invoice_number or f"Draft {facts.invoice_id}",
                            "why": exc.message})
    if queued:
        transaction.on_commit(lambda: enqueue_many(queued))
    return skipped


@transaction.atomic
def _queue_chunk(*, practice, checked: list, user, bulk) -> list[dict]:
    """`_queue` for a chunk of invoices that passed the bulk check, with the same guards, rows,
    events and history, in one transaction: the invoices locked in id order in one query, one
    take of invoice numbers, bulk inserts. Returns the invoices refused, with why; the chunk's
    delivery is enqueued when it commits."""
    ids = [f.invoice_id for f in checked]
    invoices = {i.pk: i for i in Invoice.objects.select_for_update().filter(practice=practice, pk__in=ids).order_by("pk")}
    latest: dict[int, Submission] = {}
    for previous in Submission.objects.filter(invoice_id__in=ids).order_by("invoice_id", "version").only(
            "pk", "invoice_id", "version", "bill_id", "healthcode_status"):
        latest[previous.invoice_id] = previous  # ascending: the last one is the current version
    replaced = set(Submission.objects.filter(replaces_id__in=[p.pk for p in latest.values()])
                   .values_list("replaces_id", flat=True))
    skipped, ready = [], []
    for facts in checked:
        invoice = invoices.get(facts.invoice_id)
        try:
            if invoice is None:
                raise SubmissionError("No such invoice in this practice.")
            _guard(invoice)
        except SubmissionError as exc:
            skipped.append({"invoice_id": facts.invoice_id, "number": facts.invoice_number or f"Draft {facts.invoice_id}",
                            "why": exc.message})
            continue
        ready.append((invoice, facts))
    if not ready:
        return skipped
    now = timezone.now()
    drafts = [invoice for invoice, _ in ready if invoice.record_status == RecordStatus.DRAFT]
    for invoice, number in zip(drafts, billing.take_numbers(practice=practice, count=len(drafts))):
        invoice.number = number
        invoice.record_status = RecordStatus.ISSUED
        invoice.issued_at = now
        invoice.updated_at = now
        invoice._change_reason = f"Issued as {number}"
    if drafts:
        Invoice.history.bulk_history_create(drafts, update=True, default_user=user)
    submissions, events = [], []
    for invoice, facts in ready:
        previous = latest.get(invoice.pk)
        if previous is not None and previous.version >= invoice.version:
            invoice.version = previous.version + 1  # a claim is never edited: the correction is a new version
        replaces = previous if (previous is not None and previous.bill_id and previous.pk not in replaced
                                and previous.healthcode_status == HealthcodeStatus.FAILED) else None
        key = claims.version_identifier(practice_id=invoice.practice_id, invoice_id=invoice.pk, version=invoice.version)
        claim = claims.build_claim(dataclasses.replace(facts, invoice_number=invoice.number), version_key=key,
                                   replaces_bill_id=replaces.bill_id if replaces else "")
        claim_json = claims.dumps(claim)
        claims.validate_structure(claim, text=claim_json)
        submission = Submission(practice_id=invoice.practice_id, invoice=invoice, version=invoice.version,
                                idempotency_key=key, claim_json=claim_json, replaces=replaces, bulk=bulk,
                                submitted_by=user, healthcode_status=HealthcodeStatus.QUEUED)
        submissions.append(submission)
        events.append(SubmissionEvent(
            practice_id=invoice.practice_id, submission=submission, from_status=invoice.healthcode_status,
            to_status=HealthcodeStatus.QUEUED, actor=user,
            message=f"Version {invoice.version} queued for Healthcode" + (
                f", replacing bill {replaces.bill_id}" if replaces else "")))
        invoice.healthcode_status = HealthcodeStatus.QUEUED
        invoice.updated_at = now
        invoice._change_reason = f"Healthcode: {HealthcodeStatus.QUEUED.label}"
    Submission.objects.bulk_create(submissions)
    SubmissionEvent.objects.bulk_create(events)
    queued_invoices = [invoice for invoice, _ in ready]
    Invoice.history.bulk_history_create(queued_invoices, update=True, default_user=user)
    bulk.update_fields(queued_invoices, ["number", "record_status", "issued_at", "version", "healthcode_status",
                                      "updated_at"])
    queued = [submission.pk for submission in submissions]
    transaction.on_commit(lambda: enqueue_many(queued))
    return skipped


def enqueue_many(submission_ids: list[int]) -> None:
    from openpractice.healthcode.tasks import deliver_many

    deliver_many.enqueue(submission_ids)


_pool_lock = threading.Lock()
_pool = None


def _sender_pool(threads: int):
    """Sender threads kept for the worker's life, so their kept-alive connections are reused from
    one chunk to the next. They only talk HTTP: every database write stays on the calling thread."""
    global _pool
    from concurrent.futures import ThreadPoolExecutor

    with _pool_lock:
        if _pool is None or _pool._max_workers != threads:
            _pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="healthcode-send")
        return _pool


def deliver_concurrently(submission_ids: list[int], *, threads: int | None = None) -> dict:
    """Send a chunk of submissions: the guarantees of `deliver`, with three transactions per chunk
    instead of three per bill (on SQLite each write transaction is a turn at the one write lock).

    1. one transaction: lock the invoices (id order), then the submissions; guard (queued/sending
       only); mark them sending, attempts + 1;
    2. no transaction: send them from `threads` sender threads sharing the practice's client (one
       connection pool, kept alive), each exchange recorded in memory, secrets already redacted;
    3. one transaction: the exchanges, and every acceptance (submission, event, invoice status and
       its history) in bulk. Refusals and retries (rare) go through the one-bill functions.
    A crash between 2 and 3 leaves the rows `sending`: recovery re-sends them with the same keys
    and the clearing house replays the same bills (their exchanges are recorded then)."""
    from openpractice.practices.models import Practice

    threads = max(1, threads or settings.HEALTHCODE_DELIVERY_THREADS)
    with transaction.atomic():
        invoice_ids = sorted(set(Submission.objects.filter(pk__in=submission_ids).values_list("invoice_id", flat=True)))
        list(Invoice.objects.select_for_update().filter(pk__in=invoice_ids).order_by("pk").values_list("pk", flat=True))
        rows = list(Submission.objects.select_for_update().filter(pk__in=submission_ids).order_by("pk").only(
            "pk", "practice_id", "invoice_id", "state", "claim_json", "idempotency_key"))
        states = {row.pk: row.state for row in rows}
        sending = [row for row in rows if row.state in (SubmissionState.QUEUED, SubmissionState.SENDING)]
        if sending:
            Submission.objects.filter(pk__in=[row.pk for row in sending]).update(
                state=SubmissionState.SENDING, attempts=F("attempts") + 1, updated_at=timezone.now())
    outcomes: dict[int, _Outcome] = {}
    exchanges: list[ApiExchange] = []
    practices = Practice.objects.in_bulk({row.practice_id for row in sending})
    for practice_id, practice in practices.items():
        mine = [row for row in sending if row.practice_id == practice_id]
        try:
            with client_for_practice(practice) as client:
                def send(row, client=client):
                    _exchange_buffer.rows = []
                    try:
                        return _send(client, row), _exchange_buffer.rows
                    finally:
                        _exchange_buffer.rows = None

                for row, (outcome, recorded) in zip(mine, _sender_pool(threads).map(send, mine)):
                    outcomes[row.pk] = outcome
                    exchanges += recorded
        except HealthcodeSetupError as exc:
            outcomes.update({row.pk: _Outcome("retry", message=exc.message) for row in mine})
    accepted = {pk: o for pk, o in outcomes.items() if o.kind == "accepted"}
    try:
        with transaction.atomic():
            ApiExchange.objects.bulk_create(exchanges, batch_size=200)
            states.update(_accept_many(accepted))
    except Exception:  # recovery re-sends them (same keys, same bills); the others still count
        logger.exception("Recording a delivered chunk failed")
        states.update({pk: "error" for pk in accepted})
    for pk, outcome in outcomes.items():
        if outcome.kind != "accepted":
            try:
                states[pk] = _record_outcome(pk, outcome)
            except Exception:
                logger.exception("Delivery of submission %s failed", pk)
                states[pk] = "error"
    counts: dict[str, int] = {}
    for state in states.values():
        counts[str(state)] = counts.get(str(state), 0) + 1
    return counts


def _accept_many(accepted: dict[int, _Outcome]) -> dict[int, str]:
    """`apply_answer` for many acceptances at once, inside the caller's transaction: same lock
    order, same forward-only transition and event, same invoice status and history row."""
    if not accepted:
        return {}
    submissions = list(Submission.objects.filter(pk__in=list(accepted)).order_by("pk"))
    invoices = {i.pk: i for i in Invoice.objects.select_for_update().filter(
        pk__in=sorted({s.invoice_id for s in submissions})).order_by("pk")}
    submissions = list(Submission.objects.select_for_update().filter(pk__in=list(accepted)).order_by("pk"))
    current = dict(Submission.objects.filter(invoice_id__in=list(invoices)).values("invoice_id")
                   .annotate(top=Max("version")).values_list("invoice_id", "top"))
    states, changed, events, moved = {}, [], [], []
    for submission in submissions:
        outcome = accepted[submission.pk]
        try:
            applies, event = _transition(submission, outcome.bill, message=outcome.message)
        except SubmissionError as exc:
            logger.error("Submission %s: %s", submission.pk, exc.message)
            states[submission.pk] = "error"
            continue
        states[submission.pk] = submission.state
        if not applies:
            continue
        changed.append(submission)
        if event is not None:
            events.append(event)
        invoice = invoices[submission.invoice_id]
        if current.get(invoice.pk) == submission.version and invoice.healthcode_status != outcome.bill.status:
            invoice.healthcode_status = outcome.bill.status
            invoice.updated_at = timezone.now()
            invoice._change_reason = f"Healthcode: {HealthcodeStatus(outcome.bill.status).label}"
            moved.append(invoice)
    now = timezone.now()
    for submission in changed:
        submission.updated_at = now
    bulk.update_fields(changed, ["state", "bill_id", "healthcode_status", "status_words", "errors", "collected_at",
                                "last_error", "last_synced_at", "updated_at"])
    SubmissionEvent.objects.bulk_create(events)
    if moved:
        Invoice.history.bulk_history_create(moved, update=True)
        bulk.update_fields(moved, ["healthcode_status", "updated_at"])
    return states
