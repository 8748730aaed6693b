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
from django.utils import timezone

from openpractice.billing import services as billing
from openpractice.billing.models import BillTo, HealthcodeStatus, Invoice, RecordStatus
from openpractice.healthcode import answers, claims
from openpractice.healthcode.checking import check_invoice, facts_for_invoice, invoices_for_check
from openpractice.healthcode.client import HealthcodeClient, HealthcodeError
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
def recorder_for(practice_id: int):
    def record(exchange: dict) -> None:
        ApiExchange.objects.create(practice_id=practice_id, **exchange)
    return record


_clients = threading.local()


def client_for_practice(practice):
    """The practice's client, kept per thread and reused (a new HTTP client costs ~50 ms of TLS
    set-up and a new connection); a change of credentials makes a new one. Use as
    `with client_for_practice(p) as client:` (the client stays open for the next call)."""
    from openpractice.healthcode.services import client_for, integration_for

    integration = integration_for(practice)
    if integration is None:
        raise HealthcodeSetupError("Healthcode is not set up for this practice: enter the credentials first.")
    key = (practice.pk, integration.discovery_url, integration.site_id, integration.api_key_id,
           integration.api_key_set_at, settings.HEALTHCODE_TIMEOUT_SECONDS, settings.HEALTHCODE_RETRIES)
    cache = getattr(_clients, "by_key", None)
    if cache is None:
        cache = _clients.by_key = {}
    client = cache.get(key)
    if client is None:
        for old in cache.values():
            old.close()
        cache.clear()
        client = cache[key] = client_for(
            practice=practice, recorder=recorder_for(practice.pk), timeout=settings.HEALTHCODE_TIMEOUT_SECONDS,
            retries=settings.HEALTHCODE_RETRIES, backoff=settings.HEALTHCODE_BACKOFF_SECONDS)
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


@transaction.atomic
def _queue(*, invoice_id: int, user, bulk, checked) -> Submission:
    """Under the invoice's lock: guard, issue a draft, check (unless `checked` passed already in a
    bulk run), then one new Submission row for the next version and its Claim, frozen."""
    invoice, _ = _lock(invoice_id)
    if invoice.bill_to != BillTo.INSURER:
        raise SubmissionError("Only an invoice to an insurer goes to Healthcode.", field="bill_to")
    if invoice.record_status == RecordStatus.VOID:
        raise SubmissionError("A void invoice cannot be submitted.", field="record_status", code="wrong_status")
    if invoice.healthcode_status not in RESUBMITTABLE:
        raise SubmissionError(f"This invoice is already with Healthcode ({invoice.get_healthcode_status_display()}).",
                              field="healthcode_status", code="already_submitted")
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
    claims.validate_structure(claim)
    submission = Submission.objects.create(
        practice_id=invoice.practice_id, invoice=invoice, version=invoice.version, idempotency_key=key,
        claim_json=claims.dumps(claim), replaces=replaces, bulk=bulk, submitted_by=user,
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
            answer = client.submit_claim(submission.claim_json, idempotency_key=submission.idempotency_key)
    except (HealthcodeError, HealthcodeSetupError) as exc:
        return _not_delivered(submission_id, exc.message)
    if answer.status_code in (200, 201):
        try:
            bill = answers.claim_response(answers.parse_json(answer.text))
        except answers.AnswerError as exc:
            return _not_delivered(submission_id, f"Unreadable answer: {exc.message}")
        apply_answer(submission_id=submission_id, bill=bill,
                     message="Accepted by Healthcode" + (" (replayed)" if answer.headers.get("Idempotent-Replayed") else ""))
        return SubmissionState.ACCEPTED
    if answer.status_code >= 500:
        return _not_delivered(submission_id, f"Healthcode answered HTTP {answer.status_code}")
    try:
        issues = answers.outcome_issues(answers.parse_json(answer.text))
    except answers.AnswerError:
        issues = answers.outcome_issues({})
    _refused(submission_id, answer.status_code, issues)
    return SubmissionState.REJECTED


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
    if submission.state == SubmissionState.REJECTED:
        return submission
    if submission.bill_id and submission.bill_id != bill.bill_id:
        raise SubmissionError(f"Healthcode answered about bill {bill.bill_id}, not {submission.bill_id}.",
                              code="wrong_bill")
    before = submission.healthcode_status
    if submission.state == SubmissionState.ACCEPTED and STATUS_RANK[bill.status] < STATUS_RANK.get(before, 0):
        return submission  # a late, older answer
    changed = submission.state != SubmissionState.ACCEPTED or before != bill.status or submission.errors != bill.errors
    submission.state = SubmissionState.ACCEPTED
    submission.bill_id = bill.bill_id
    submission.healthcode_status = bill.status
    submission.status_words = bill.words
    submission.errors = bill.errors
    submission.collected_at = bill.collected_at or submission.collected_at
    submission.last_error = ""
    submission.last_synced_at = timezone.now()
    submission.save()
    if changed:
        words = bill.words
        if bill.errors:
            words += ": " + "; ".join(f"{e['field']}: {e['error']}" for e in bill.errors)
        _event(submission, before, bill.status, f"{message + '. ' if message else ''}Healthcode: {words}", actor=actor)
    if current_submission(invoice).pk == submission.pk:
        billing.set_healthcode_status(invoice=invoice, status=bill.status)
    return submission


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
def submit_many(*, practice, invoice_ids: list[int], user=None, chunk: int = 50) -> BulkSubmission:
    """Queue every chosen invoice that passes the check; the others are listed with why. The check
    runs in bulk (a few queries per 500 invoices); delivery is enqueued in chunks that the worker
    sends concurrently (deliver_many)."""
    from openpractice.healthcode.checking import DatabaseKnowledge, check_many, facts_for_queryset

    bulk = BulkSubmission.objects.create(practice=practice, created_by=user, requested=len(invoice_ids))
    skipped, queued = [], []
    knowledge = DatabaseKnowledge(practice)
    wanted = sorted(set(invoice_ids))
    found = set()
    for start in range(0, len(wanted), 500):
        batch = Invoice.objects.for_practice(practice).filter(pk__in=wanted[start:start + 500])
        facts_by_id = {f.invoice_id: f for f in facts_for_queryset(batch)}
        results = check_many(list(facts_by_id.values()), knowledge)
        for invoice_id in sorted(facts_by_id):
            found.add(invoice_id)
            facts, result = facts_by_id[invoice_id], results[invoice_id]
            number = facts.invoice_number or f"Draft {invoice_id}"
            if not result.passed:
                first = result.errors[0]
                skipped.append({"invoice_id": invoice_id, "number": number,
                                "why": f"{first.field}: {first.error}" + (
                                    f" (and {len(result.errors) - 1} more)" if len(result.errors) > 1 else "")})
                continue
            try:
                queued.append(_queue(invoice_id=invoice_id, user=user, bulk=bulk, checked=facts).pk)
            except SubmissionError as exc:
                skipped.append({"invoice_id": invoice_id, "number": number, "why": exc.message})
    skipped += [{"invoice_id": pk, "number": str(pk), "why": "No such invoice in this practice."}
                for pk in sorted(set(wanted) - found)]
    bulk.skipped = skipped
    bulk.save(update_fields=["skipped"])
    for start in range(0, len(queued), chunk):
        ids = queued[start:start + chunk]
        transaction.on_commit(lambda ids=ids: enqueue_many(ids))
    return bulk


def enqueue_many(submission_ids: list[int]) -> None:
    from openpractice.healthcode.tasks import deliver_many

    deliver_many.enqueue(submission_ids)


def deliver_concurrently(submission_ids: list[int], *, threads: int | None = None) -> dict:
    """Send a chunk of submissions with a few threads: each waits on the network most of the
    time, so a worker process keeps several bills in flight. Each thread uses its own database
    connection (closed when it finishes)."""
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection

    def one(submission_id: int) -> str:
        try:
            return deliver(submission_id)
        except Exception:  # one bill's trouble must not lose the others: recovery sends it again
            logger.exception("Delivery of submission %s failed", submission_id)
            return "error"
        finally:
            connection.close()

    threads = threads or settings.HEALTHCODE_DELIVERY_THREADS
    if connection.vendor == "sqlite" and connection.is_in_memory_db():
        threads = 1  # an in-memory database (tests) is one connection's: no second writer thread
    if threads == 1:
        outcomes = [deliver(submission_id) for submission_id in submission_ids]
        return {state: outcomes.count(state) for state in set(outcomes)}
    with ThreadPoolExecutor(max_workers=max(1, min(threads, len(submission_ids)))) as pool:
        outcomes = list(pool.map(one, submission_ids))
    return {state: outcomes.count(state) for state in set(outcomes)}
