"""Submitting bills to the clearing house, following them, cancelling them.

The modules, lowest first (each imports only those above it):
- `healthcode/connection.py` (beside this package, as Find Member and the code sets use it too):
  the one place a practice's client is made, the exchange log;
- `transitions.py`: the statuses' order, the lock order, events, recording an answer;
- `delivery.py`: sending one bill or a chunk, and the delivery tasks;
- `status.py`: refreshing a bill's status, the schedule's sync and recovery, cancelling;
- `queue.py`: queueing one invoice or a chunk (guard, issue, claim, submission);
- `bulk.py`: a bulk run (record, queue in chunks, "Send the rest") and its task.
Each task is defined beside what it runs, so nothing here imports `healthcode/tasks.py`.

Idempotency, end to end:
- one Submission row per (invoice, version) (unique constraint); a second click finds the invoice
  already queued and is refused under the invoice's row lock;
- the row's idempotency key (= the Claim's invoice-version identifier) goes with every attempt, so
  however often a retry, a restarted worker or a recovery re-sends it, the clearing house answers
  with the same bill;
- every transition happens under `select_for_update` of the invoice, then the submission (always
  that order), after a status guard, with an event row carrying the clearing house's words.

Invoices are written by billing alone (`issue_invoice(s)`, `set_clearing_house_status(es)`).
No transaction is held while the clearing house is called.

The names below are the package's interface (`from openpractice.healthcode import submission`).
"""

from openpractice.healthcode.connection import client_for_practice, recorder_for
from openpractice.healthcode.submission.bulk import (
    BULK_IN_BACKGROUND_FROM,
    enqueue_bulk_queueing,
    queue_bulk,
    queue_bulk_task,
    record_bulk,
    send_rest,
    submit_many,
)
from openpractice.healthcode.submission.delivery import (
    MAX_SEND_ATTEMPTS,
    deliver,
    deliver_concurrently,
    deliver_many,
    deliver_submission,
    enqueue_delivery,
    enqueue_many,
)
from openpractice.healthcode.submission.queue import _queue, next_version, submit_invoice
from openpractice.healthcode.submission.status import (
    cancel_bill,
    refresh_invoice,
    refresh_status,
    sync_due,
    sync_statuses,
)
from openpractice.healthcode.submission.transitions import (
    CANCELLABLE,
    FINAL_STATUSES,
    RESUBMITTABLE,
    SETTLED_STATUSES,
    SIDEWAYS_STATUSES,
    STATUS_RANK,
    apply_answer,
    current_submission,
    moves_forward,
)

__all__ = [
    "BULK_IN_BACKGROUND_FROM",
    "CANCELLABLE",
    "FINAL_STATUSES",
    "MAX_SEND_ATTEMPTS",
    "RESUBMITTABLE",
    "SETTLED_STATUSES",
    "SIDEWAYS_STATUSES",
    "STATUS_RANK",
    "_queue",
    "apply_answer",
    "cancel_bill",
    "client_for_practice",
    "current_submission",
    "deliver",
    "deliver_concurrently",
    "deliver_many",
    "deliver_submission",
    "enqueue_bulk_queueing",
    "enqueue_delivery",
    "enqueue_many",
    "moves_forward",
    "next_version",
    "queue_bulk",
    "queue_bulk_task",
    "record_bulk",
    "recorder_for",
    "refresh_invoice",
    "refresh_status",
    "send_rest",
    "submit_invoice",
    "submit_many",
    "sync_due",
    "sync_statuses",
]
