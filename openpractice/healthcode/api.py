"""/api/v1/invoices/…/check, …/healthcode and the bulk runs: the pre-submission check, submission
to Healthcode and its status, for one invoice or many. The same services, rules and permissions as
the pages (writes need the billing capability). The paths, the "invoices" tag and the operation ids
are the ones these routes had under billing, so the API and its documentation read the same."""

from __future__ import annotations

from datetime import datetime

from ninja import Router, Schema, Status
from pydantic import Field

from openpractice.billing import selectors as billing_selectors
from openpractice.billing.models import HealthcodeStatus, Invoice
from openpractice.healthcode import selectors
from openpractice.healthcode import submission as hc
from openpractice.healthcode.checking import check_invoice as run_check
from openpractice.healthcode.models import BulkSubmission
from openpractice.practices.api_auth import auth_for
from openpractice.practices.roles import Capability
from openpractice.practices.tenancy import get_for_practice_or_404

router = Router(tags=["invoices"])


def _operation_id(name: str) -> str:
    # ninja names an operation after its module; these were billing's, and clients may use the ids.
    return f"openpractice_billing_api_{name}"


class ProblemOut(Schema):
    rule: str
    level: str
    field: str
    error: str
    suggestion: str
    line: int | None
    severity: str


class CheckOut(Schema):
    invoice_id: int
    passed: bool
    problems: list[ProblemOut]


class EventOut(Schema):
    at: datetime
    from_status: str
    to_status: str
    message: str


class SubmissionOut(Schema):
    id: int
    version: int
    state: str
    bill_id: str
    healthcode_status: str
    status_words: str
    replaces_bill_id: str | None = None
    errors: list[dict]
    attempts: int
    events: list[EventOut]

    @staticmethod
    def resolve_replaces_bill_id(obj):
        return obj.replaces.bill_id if obj.replaces_id else None

    @staticmethod
    def resolve_events(obj):
        return list(obj.events.all())


class HealthcodeOut(Schema):
    invoice_id: int
    healthcode_status: HealthcodeStatus
    submissions: list[SubmissionOut]


class BulkIn(Schema):
    # A JSON body has no field-count limit; a run this big is queued by a worker, not the request.
    invoice_ids: list[int] = Field(..., min_length=1, max_length=50000)


class BulkOut(Schema):
    id: int
    requested: int
    skipped: list[dict]


class BulkProgressOut(Schema):
    id: int
    requested: int
    to_send: int
    done: int
    accepted: int
    rejected: int
    in_flight: int
    held: int
    never_queued: int
    queueing: bool
    stopped: bool
    finished: bool
    skipped: list[dict]


def _invoice(request, invoice_id: int) -> Invoice:
    return billing_selectors.invoice_with_rows(practice=request.practice, invoice_id=invoice_id)


@router.get(
    "/invoices/{invoice_id}/check",
    response=CheckOut,
    auth=auth_for(Capability.VIEW_RECORDS),
    operation_id=_operation_id("check_invoice"),
)
def check_invoice(request, invoice_id: int):
    """The pre-submission check: every problem Healthcode would report that can be known here."""
    result = run_check(invoice=_invoice(request, invoice_id))
    return {"invoice_id": invoice_id, "passed": result.passed, "problems": [p.as_dict() for p in result.problems]}


def _healthcode(request, invoice_id: int) -> dict:
    invoice = _invoice(request, invoice_id)
    return {
        "invoice_id": invoice.pk,
        "healthcode_status": invoice.healthcode_status,
        "submissions": list(selectors.submissions_of(practice=request.practice, invoice=invoice)),
    }


@router.get(
    "/invoices/{invoice_id}/healthcode",
    response=HealthcodeOut,
    auth=auth_for(Capability.VIEW_RECORDS),
    operation_id=_operation_id("healthcode_status"),
)
def healthcode_status(request, invoice_id: int):
    return _healthcode(request, invoice_id)


@router.post(
    "/invoices/{invoice_id}/healthcode/submit",
    response={202: HealthcodeOut},
    auth=auth_for(Capability.BILLING),
    operation_id=_operation_id("submit"),
)
def submit(request, invoice_id: int):
    """Queue the invoice for Healthcode (a new version if an earlier one failed). 422 with the
    check's problems if it would fail."""
    hc.submit_invoice(invoice=_invoice(request, invoice_id), user=request.user)
    return Status(202, _healthcode(request, invoice_id))


@router.post(
    "/invoices/{invoice_id}/healthcode/refresh",
    response=HealthcodeOut,
    auth=auth_for(Capability.VIEW_RECORDS),
    operation_id=_operation_id("refresh"),
)
def refresh(request, invoice_id: int):
    hc.refresh_invoice(invoice=_invoice(request, invoice_id), actor=request.user)
    return _healthcode(request, invoice_id)


@router.post(
    "/invoices/{invoice_id}/healthcode/cancel",
    response=HealthcodeOut,
    auth=auth_for(Capability.BILLING),
    operation_id=_operation_id("cancel"),
)
def cancel(request, invoice_id: int):
    hc.cancel_bill(invoice=_invoice(request, invoice_id), actor=request.user)
    return _healthcode(request, invoice_id)


@router.post(
    "/invoices/healthcode/bulk-submit",
    response={202: BulkOut},
    auth=auth_for(Capability.BILLING),
    operation_id=_operation_id("bulk_submit"),
)
def bulk_submit(request, body: BulkIn):
    bulk = hc.submit_many(practice=request.practice, invoice_ids=body.invoice_ids, user=request.user)
    return Status(202, {"id": bulk.pk, "requested": bulk.requested, "skipped": bulk.skipped})


def _bulk_progress(request, bulk_id: int) -> dict:
    bulk = get_for_practice_or_404(BulkSubmission, request.practice, pk=bulk_id)
    return {"id": bulk.pk, "skipped": bulk.skipped, **selectors.bulk_progress(bulk=bulk)}


@router.get(
    "/invoices/healthcode/bulk/{bulk_id}",
    response=BulkProgressOut,
    auth=auth_for(Capability.VIEW_RECORDS),
    operation_id=_operation_id("bulk_status"),
)
def bulk_status(request, bulk_id: int):
    """Where every invoice of a bulk run is: answered, in flight, held back, or never queued."""
    return _bulk_progress(request, bulk_id)


@router.post(
    "/invoices/healthcode/bulk/{bulk_id}/send-rest",
    response={202: BulkProgressOut},
    auth=auth_for(Capability.BILLING),
    operation_id=_operation_id("bulk_send_rest"),
)
def bulk_send_rest(request, bulk_id: int):
    """Queue the invoices of the run never queued (a crash cut the run short). Idempotent."""
    hc.send_rest(bulk=get_for_practice_or_404(BulkSubmission, request.practice, pk=bulk_id), user=request.user)
    return Status(202, _bulk_progress(request, bulk_id))
