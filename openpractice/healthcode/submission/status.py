"""Following a bill once the clearing house has it: its status on demand (`refresh_status`,
`refresh_invoice`), on the schedule (`sync_due`, the `sync_statuses` task, which also recovers
submissions a crashed worker left behind), and cancelling it (`cancel_bill`). Answers are
recorded by `transitions.apply_answer`."""

from __future__ import annotations

import datetime as dt
import logging

from django.utils import timezone
from django_tasks import task

from openpractice.billing.models import HealthcodeStatus, Invoice
from openpractice.healthcode import answers
from openpractice.healthcode.client import HealthcodeError
from openpractice.healthcode.connection import client_for_practice
from openpractice.healthcode.errors import SubmissionError
from openpractice.healthcode.models import Submission, SubmissionState
from openpractice.healthcode.submission.delivery import enqueue_delivery
from openpractice.healthcode.submission.transitions import (
    CANCELLABLE,
    FINAL_STATUSES,
    apply_answer,
    current_submission,
)

logger = logging.getLogger("openpractice.healthcode")


@task(queue_name="healthcode")
def sync_statuses() -> dict:
    return sync_due()


# -- status -----------------------------------------------------------------------------------
def refresh_status(*, submission: Submission, actor=None) -> Submission:
    """Ask the clearing house where one bill is (on demand, or from the schedule)."""
    submission = Submission.objects.select_related("practice").get(pk=submission.pk)  # the row as it is now
    if not submission.bill_id:
        raise SubmissionError(
            "This bill has not reached Healthcode yet: there is no status to ask for.", code="not_sent"
        )
    with client_for_practice(submission.practice) as client:
        try:
            answer = client.claim_status(bill_id=submission.bill_id)
        except HealthcodeError as exc:
            raise SubmissionError(f"Could not ask Healthcode: {exc.message}", code=exc.code) from None
    if answer.status_code != 200:
        raise SubmissionError(
            f"Healthcode answered HTTP {answer.status_code} to the status request.", code="status_error"
        )
    try:
        bill = answers.first_claim_response(answers.parse_json(answer.text))
    except answers.AnswerError as exc:
        raise SubmissionError(
            f"Healthcode's status answer could not be read: {exc.message}", code="bad_answer"
        ) from None
    if bill is None:
        # No bill matched the bill id: what Healthcode's own NotFound status says.
        bill = answers.BillAnswer(
            bill_id=submission.bill_id,
            status=HealthcodeStatus.NOT_FOUND,
            words="NotFound",
            errors=[],
            collected_at=None,
        )
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
    open_bills = (
        Submission.objects.filter(state=SubmissionState.ACCEPTED)
        .exclude(healthcode_status__in=FINAL_STATUSES)
        .select_related("practice")
    )
    stuck = Submission.objects.filter(
        state__in=[SubmissionState.QUEUED, SubmissionState.SENDING],
        updated_at__lt=timezone.now() - dt.timedelta(seconds=stale_after_seconds),
    )
    if practice is not None:
        open_bills, stuck = open_bills.filter(practice=practice), stuck.filter(practice=practice)
    for submission in open_bills.order_by("last_synced_at", "id")[:limit] if refresh else []:
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
        raise SubmissionError(
            f"A bill that is {submission.status_words or submission.healthcode_status} cannot be "
            "cancelled (possible until the insurer collects it).",
            code="wrong_status",
        )
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
        raise SubmissionError(
            f"Healthcode answered HTTP {answer.status_code} to the cancellation.", code="cancel_error"
        )
    return apply_answer(
        submission_id=submission.pk,
        bill=answers.claim_response(body),
        message="Cancelled at the practice's request",
        actor=actor,
    )


def _safe_json(text: str) -> dict:
    try:
        return answers.parse_json(text)
    except answers.AnswerError:
        return {}
