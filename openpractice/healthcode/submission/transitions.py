"""What every step of a submission shares: the order of the clearing house's statuses, the lock
order, the event rows, and recording an answer (one bill, or a chunk's acceptances at once).

The lock order everywhere: the invoice (through billing, which holds the one order for invoices:
ascending id, `billing.services.lock_invoices`), then its Submission rows; never the reverse.
The invoice's own fields are written by billing alone (`set_clearing_house_status(es)`)."""

from __future__ import annotations

import logging

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from openpractice.billing import services as billing
from openpractice.billing.models import HealthcodeStatus, Invoice
from openpractice.db.bulk import update_fields
from openpractice.healthcode import answers
from openpractice.healthcode.errors import SubmissionError
from openpractice.healthcode.models import Submission, SubmissionEvent, SubmissionState

logger = logging.getLogger("openpractice.healthcode")

# How the clearing house's statuses follow one another: a reply may repeat a status or move on,
# never go back (an old reply arriving late must not undo a newer one).
STATUS_RANK: dict[str, int] = {
    HealthcodeStatus.QUEUED: 0,
    HealthcodeStatus.UNPROCESSED: 1,
    HealthcodeStatus.IN_PROCESS: 2,
    HealthcodeStatus.VALIDATED: 3,
    HealthcodeStatus.FAILED: 3,  # AwaitingCorrection: the checks' other outcome
    HealthcodeStatus.NOT_REQUIRED: 3,  # ... and their third: no bill is needed
    HealthcodeStatus.AWAITING_COLLECTION: 4,
    HealthcodeStatus.COLLECTED: 5,
    HealthcodeStatus.CANCELLED: 6,
}
# Statuses that say where a bill is not, rather than a step on its way: Healthcode does not know
# it (NotFound) or gave no status we know (Unspecified). They are recorded over any unsettled
# status, and whatever Healthcode says next replaces them.
SIDEWAYS_STATUSES = (HealthcodeStatus.NOT_FOUND, HealthcodeStatus.UNSPECIFIED)
# Nothing more will happen to a bill in these: the schedule stops asking about it.
SETTLED_STATUSES = (HealthcodeStatus.COLLECTED, HealthcodeStatus.CANCELLED, HealthcodeStatus.NOT_REQUIRED)
FINAL_STATUSES = (HealthcodeStatus.FAILED, *SETTLED_STATUSES)
# A new version may be sent: never sent, awaiting correction, cancelled, or unknown to Healthcode.
RESUBMITTABLE = (
    HealthcodeStatus.NOT_SUBMITTED,
    HealthcodeStatus.FAILED,
    HealthcodeStatus.CANCELLED,
    HealthcodeStatus.NOT_FOUND,
)
CANCELLABLE = (
    HealthcodeStatus.UNPROCESSED,
    HealthcodeStatus.IN_PROCESS,
    HealthcodeStatus.VALIDATED,
    HealthcodeStatus.AWAITING_COLLECTION,
)


def moves_forward(before: str, after: str) -> bool:
    """Whether an answer saying `after` may replace `before` on an accepted bill."""
    if after in SIDEWAYS_STATUSES:
        return before not in SETTLED_STATUSES
    if before in SIDEWAYS_STATUSES:
        return True
    return STATUS_RANK[after] >= STATUS_RANK.get(before, 0)


# -- events and locks -------------------------------------------------------------------------
def _event(submission: Submission, from_status: str, to_status: str, message: str, actor=None) -> None:
    SubmissionEvent.objects.create(
        practice_id=submission.practice_id,
        submission=submission,
        from_status=from_status,
        to_status=to_status,
        message=message[:2000],
        actor=actor,
    )


def _lock(invoice_id: int, practice_id: int | None, submission_id: int | None = None):
    """The lock order: the invoice (billing's lock), then the submission."""
    invoice = billing.lock_invoice(invoice_id, practice_id)
    submission = Submission.objects.select_for_update().get(pk=submission_id) if submission_id else None
    return invoice, submission


def _lock_submission(submission_id: int) -> tuple[Invoice, Submission] | None:
    """A submission and its invoice, locked in that order; None if there is no such submission."""
    row = Submission.objects.filter(pk=submission_id).values("invoice_id", "practice_id").first()
    if row is None:
        return None
    return _lock(row["invoice_id"], row["practice_id"], submission_id)


def _lock_known_submission(submission_id: int) -> tuple[Invoice, Submission]:
    """`_lock_submission` for a submission the caller knows exists: a submission is never deleted
    (its invoice is PROTECTed) short of deleting the whole practice."""
    locked = _lock_submission(submission_id)
    assert locked is not None, f"submission {submission_id} does not exist"
    return locked


def current_submission(invoice: Invoice) -> Submission | None:
    return Submission.objects.filter(invoice=invoice).order_by("-version").first()


# -- recording an answer ----------------------------------------------------------------------
@transaction.atomic
def apply_answer(*, submission_id: int, bill: answers.BillAnswer, message: str = "", actor=None) -> Submission:
    """Record what the clearing house says about a bill: a forward transition only, with an event."""
    invoice, submission = _lock_known_submission(submission_id)
    applies, event = _transition(submission, bill, message=message, actor=actor)
    if not applies:
        return submission
    submission.save()
    if event is not None:
        event.save()
    current = current_submission(invoice)  # never None: the invoice has at least this submission
    if current is not None and current.pk == submission.pk:
        billing.set_clearing_house_status(invoice=invoice, status=bill.status)
    return submission


def _transition(submission: Submission, bill: answers.BillAnswer, *, message: str, actor=None):
    """The forward-only move of a locked submission to what the clearing house says, in memory:
    (whether it applies, the event row to write or None). The caller saves."""
    if submission.state == SubmissionState.REJECTED:
        return False, None
    if submission.bill_id and submission.bill_id != bill.bill_id:
        raise SubmissionError(
            f"Healthcode answered about bill {bill.bill_id}, not {submission.bill_id}.", code="wrong_bill"
        )
    before = submission.healthcode_status
    if submission.state == SubmissionState.ACCEPTED and not moves_forward(before, bill.status):
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
    return True, SubmissionEvent(
        practice_id=submission.practice_id,
        submission=submission,
        from_status=before,
        to_status=bill.status,
        actor=actor,
        message=f"{message + '. ' if message else ''}Healthcode: {words}"[:2000],
    )


def _accept_many(accepted: dict) -> dict[int, str]:
    """`apply_answer` for many acceptances at once (submission id -> its outcome, with `bill` and
    `message`), inside the caller's transaction: same lock order, same forward-only transition and
    event, same invoice status and history row (written by billing, in bulk)."""
    if not accepted:
        return {}
    invoice_ids = Submission.objects.filter(pk__in=list(accepted)).values_list("invoice_id", flat=True)
    # The ids come from our own submission rows, which may belong to more than one practice.
    invoices = billing.lock_invoices(practice_id=None, invoice_ids=list(invoice_ids))
    submissions = list(Submission.objects.select_for_update().filter(pk__in=list(accepted)).order_by("pk"))
    current = dict(
        Submission.objects.filter(invoice_id__in=list(invoices))
        .values("invoice_id")
        .annotate(top=Max("version"))
        .values_list("invoice_id", "top")
    )
    states, changed, events, moves = {}, [], [], []
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
        if current.get(submission.invoice_id) == submission.version:
            moves.append((invoices[submission.invoice_id], outcome.bill.status))
    now = timezone.now()
    for submission in changed:
        submission.updated_at = now
    update_fields(
        changed,
        [
            "state",
            "bill_id",
            "healthcode_status",
            "status_words",
            "errors",
            "collected_at",
            "last_error",
            "last_synced_at",
            "updated_at",
        ],
    )
    SubmissionEvent.objects.bulk_create(events)
    billing.set_clearing_house_statuses(changes=moves)
    return states
