"""Delivering queued submissions to the clearing house: one bill (`deliver`, the
`deliver_submission` task) or a chunk from sender threads (`deliver_concurrently`, the
`deliver_many` task). The tasks are defined here, beside what they run, so queueing can enqueue
them without importing `healthcode/tasks.py` (which names them too, for the task paths stored).

No transaction is held while the clearing house is called."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import threading
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django_tasks import task

from openpractice.billing import services as billing
from openpractice.billing.models import HealthcodeStatus
from openpractice.healthcode import answers
from openpractice.healthcode.client import HealthcodeError
from openpractice.healthcode.connection import client_for_practice, exchanges_kept_in_memory
from openpractice.healthcode.errors import HealthcodeSetupError
from openpractice.healthcode.models import ApiExchange, Submission, SubmissionState
from openpractice.healthcode.submission.transitions import (
    _accept_many,
    _event,
    _lock_known_submission,
    _lock_submission,
    apply_answer,
    current_submission,
)
from openpractice.practices.models import Practice

logger = logging.getLogger("openpractice.healthcode")

MAX_SEND_ATTEMPTS = 8


# -- the tasks and how they are enqueued ------------------------------------------------------
@task(queue_name="healthcode")
def deliver_submission(submission_id: int) -> str:
    return deliver(submission_id)


@task(queue_name="healthcode")
def deliver_many(submission_ids: list[int]) -> dict:
    return deliver_concurrently(submission_ids)


def enqueue_delivery(submission_id: int, *, delay_seconds: float = 0) -> None:
    job = deliver_submission
    if delay_seconds:
        if not job.get_backend().supports_defer:
            return  # a backend that runs at once cannot wait: the sync command's recovery sends it later
        job = job.using(run_after=timezone.now() + dt.timedelta(seconds=delay_seconds))
    job.enqueue(submission_id)


def enqueue_many(submission_ids: list[int]) -> None:
    deliver_many.enqueue(submission_ids)


# -- one bill ---------------------------------------------------------------------------------
def deliver(submission_id: int) -> str:
    """Send one submission. Safe to run any number of times, concurrently or after a crash: the
    status guard skips settled rows and the idempotency key makes a re-send return the same bill."""
    with transaction.atomic():
        locked = _lock_submission(submission_id)
        if locked is None:
            return "missing"
        invoice, submission = locked
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
        return _Outcome(
            "accepted",
            bill=bill,
            message="Accepted by Healthcode" + (" (replayed)" if answer.headers.get("Idempotent-Replayed") else ""),
        )
    if answer.status_code >= 500:
        return _Outcome("retry", message=f"Healthcode answered HTTP {answer.status_code}")
    try:
        issues = answers.outcome_issues(answers.parse_json(answer.text))
    except answers.AnswerError:
        issues = answers.outcome_issues({})
    return _Outcome("refused", status_code=answer.status_code, issues=issues)


def _record_outcome(submission_id: int, outcome: _Outcome) -> str:
    if outcome.kind == "accepted":
        assert outcome.bill is not None  # _send always gives an accepted outcome its bill
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
        invoice, submission = _lock_known_submission(submission_id)
        if submission.state != SubmissionState.SENDING:
            return submission.state
        submission.state = SubmissionState.QUEUED
        submission.last_error = message[:2000]
        submission.save(update_fields=["state", "last_error", "updated_at"])
        _event(
            submission,
            HealthcodeStatus.QUEUED,
            HealthcodeStatus.QUEUED,
            f"Not delivered yet (attempt {submission.attempts}): {message}",
        )
        attempts = submission.attempts
    if attempts < MAX_SEND_ATTEMPTS:
        delay = min(60.0, settings.HEALTHCODE_BACKOFF_SECONDS * 2**attempts)
        enqueue_delivery(submission_id, delay_seconds=delay)
    return SubmissionState.QUEUED


@transaction.atomic
def _refused(submission_id: int, status_code: int, issues: list[dict]) -> None:
    invoice, submission = _lock_known_submission(submission_id)
    if submission.state != SubmissionState.SENDING:
        return
    submission.state = SubmissionState.REJECTED
    submission.healthcode_status = HealthcodeStatus.FAILED
    submission.errors = issues
    submission.save(update_fields=["state", "healthcode_status", "errors", "updated_at"])
    words = "; ".join(i["error"] for i in issues if i["error"]) or f"HTTP {status_code}"
    _event(
        submission,
        HealthcodeStatus.QUEUED,
        HealthcodeStatus.FAILED,
        f"Refused by Healthcode (HTTP {status_code}): {words}",
    )
    current = current_submission(invoice)  # never None: the invoice has at least this submission
    if current is not None and current.pk == submission.pk:
        billing.set_clearing_house_status(invoice=invoice, status=HealthcodeStatus.FAILED)


# -- a chunk ----------------------------------------------------------------------------------
_pool_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None


def _sender_pool(threads: int) -> ThreadPoolExecutor:
    """Sender threads kept for the worker's life, so their kept-alive connections are reused from
    one chunk to the next. They only talk HTTP: every database write stays on the calling thread."""
    global _pool
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
    threads = max(1, threads or settings.HEALTHCODE_DELIVERY_THREADS)
    with transaction.atomic():
        invoice_ids = Submission.objects.filter(pk__in=submission_ids).values_list("invoice_id", flat=True)
        # The ids come from our own submission rows, which may belong to more than one practice.
        billing.lock_invoice_ids(practice_id=None, invoice_ids=list(invoice_ids))
        rows = list(
            Submission.objects.select_for_update()
            .filter(pk__in=submission_ids)
            .order_by("pk")
            .only("pk", "practice_id", "invoice_id", "state", "claim_json", "idempotency_key")
        )
        states = {row.pk: row.state for row in rows}
        sending = [row for row in rows if row.state in (SubmissionState.QUEUED, SubmissionState.SENDING)]
        if sending:
            Submission.objects.filter(pk__in=[row.pk for row in sending]).update(
                state=SubmissionState.SENDING, attempts=F("attempts") + 1, updated_at=timezone.now()
            )
    outcomes: dict[int, _Outcome] = {}
    exchanges: list[ApiExchange] = []
    practices = Practice.objects.in_bulk({row.practice_id for row in sending})
    for practice_id, practice in practices.items():
        mine = [row for row in sending if row.practice_id == practice_id]
        try:
            with client_for_practice(practice) as client:

                def send(row, client=client):
                    with exchanges_kept_in_memory() as recorded:
                        return _send(client, row), recorded

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
