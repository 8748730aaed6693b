"""/api/v1/remittances and /api/v1/allocations: the same services, rules and permissions as the
pages (reading needs view_records; fetching, importing, matching and allocating need billing)."""

from __future__ import annotations

import base64
import binascii
from datetime import date, datetime
from decimal import Decimal
from typing import TypedDict

from ninja import Router, Schema, Status
from pydantic import Field

from openpractice.billing.models import Invoice
from openpractice.practices.api_auth import auth_for
from openpractice.practices.roles import Capability
from openpractice.practices.tenancy import get_for_practice_or_404
from openpractice.remittances import fetching, selectors, services
from openpractice.remittances.errors import RemittanceError

router = Router(tags=["remittances"])


class LineOut(Schema):
    id: int
    sequence: int
    bill_id: str
    invoice_number: str
    invoice_id: int | None
    membership_number: str
    patient_name: str
    amount_invoiced: Decimal
    amount_paid: Decimal
    shortfall: Decimal
    shortfall_code: str
    shortfall_reason: str
    status: str
    outcome: str = Field(description="paid, part_paid or rejected")
    problem: str
    match_method: str


class BatchOut(Schema):
    id: int
    source: str
    external_id: str = Field(description="The clearing house's remittance id, or the file's id")
    insurer_identifier: str
    insurer_name: str
    payment_reference: str
    payment_date: date | None
    payment_amount: Decimal
    status: str
    error: str
    received_at: datetime
    acknowledged_at: datetime | None
    bank_amount: Decimal | None
    bank_difference: Decimal | None


class BatchDetailOut(BatchOut):
    lines: list[LineOut]


class AllocationOut(Schema):
    id: int
    invoice_id: int
    invoice_line_id: int | None
    remittance_line_id: int | None
    kind: str
    amount: Decimal
    shortfall: Decimal
    reason: str
    reverses_id: int | None
    patient_invoice_id: int | None
    posted_on: date
    created_at: datetime


class MatchIn(Schema):
    invoice_id: int


class ReasonIn(Schema):
    reason: str = Field(..., min_length=1, max_length=300)


class BankAmountIn(Schema):
    bank_amount: Decimal = Field(
        ..., ge=0, max_digits=12, decimal_places=2, description="The BACS credit on the bank statement, in pounds"
    )


class ImportIn(Schema):
    kind: str = Field(..., pattern="^(fhir|csv)$", description="fhir (a Healthcode remittance Bundle) or csv")
    content_base64: str = Field(..., description="The file, base64-encoded")
    mapping: dict[str, str] = Field(default_factory=dict, description="CSV: our field -> the file's column header")
    insurer_identifier: str = ""
    payment_reference: str = ""
    payment_date: date | None = None
    preview: bool = Field(False, description="true: read and report only, post nothing")


class _FileOptions(TypedDict):
    """What an import and its preview are both given, from ImportIn."""

    kind: str
    mapping: dict[str, str]
    insurer_identifier: str
    payment_reference: str
    payment_date: date | None


class PostedLineOut(Schema):
    sequence: int = Field(description="The line in this file")
    invoice_number: str
    amount_paid: Decimal
    remittance: str = Field(description="The remittance id it was posted from")
    remittance_id: int
    payment_reference: str
    line: int = Field(description="Its line in that remittance")


class PreviewOut(Schema):
    external_id: str
    payment_reference: str
    payment_amount: Decimal
    lines: int
    new_lines: int = Field(description="Lines that would post")
    already_posted: list[PostedLineOut] = Field(description="Lines received before, which will not post again")
    received_as: int | None = Field(None, description="The remittance this file repeats, if it was received before")
    message: str = Field("", description="Why nothing would be posted, if so")


def _line(line) -> dict:
    return {**{f: getattr(line, f) for f in LineOut.model_fields if f != "outcome"}, "outcome": line.outcome}


def _batch(batch, with_lines=False) -> dict:
    out = {f: getattr(batch, f) for f in BatchOut.model_fields}
    if with_lines:
        out["lines"] = [_line(line) for line in selectors.lines_of(batch=batch)]
    return out


@router.get("/remittances", response=list[BatchOut], auth=auth_for(Capability.VIEW_RECORDS))
def list_remittances(request, status: str = ""):
    qs = selectors.batches(practice=request.practice)
    if status:
        qs = qs.filter(status=status)
    return [_batch(b) for b in qs[:200]]


@router.get("/remittances/review", response=list[LineOut], auth=auth_for(Capability.VIEW_RECORDS))
def review(request):
    return [_line(line) for line in selectors.review_queue(practice=request.practice)[:500]]


@router.get("/remittances/{int:batch_id}", response=BatchDetailOut, auth=auth_for(Capability.VIEW_RECORDS))
def get_remittance(request, batch_id: int):
    return _batch(selectors.batch(practice=request.practice, batch_id=batch_id), with_lines=True)


@router.post("/remittances/fetch", response={202: dict}, auth=auth_for(Capability.BILLING))
def fetch(request):
    run = fetching.request_fetch(practice=request.practice, user=request.user)
    return Status(202, {"detail": "Fetching remittances from Healthcode.", "run": run.pk, "status": run.status})


@router.post("/remittances/import", response={200: PreviewOut, 201: BatchDetailOut}, auth=auth_for(Capability.BILLING))
def import_remittance(request, payload: ImportIn):
    try:
        content = base64.b64decode(payload.content_base64, validate=True)
    except (binascii.Error, ValueError):
        raise RemittanceError(
            "content_base64 is not base64: encode the file's bytes.", field="content_base64"
        ) from None
    options: _FileOptions = {
        "kind": payload.kind,
        "mapping": payload.mapping,
        "insurer_identifier": payload.insurer_identifier,
        "payment_reference": payload.payment_reference,
        "payment_date": payload.payment_date,
    }
    if payload.preview:
        preview = services.preview_file(practice=request.practice, content=content, **options)
        parsed = preview.parsed
        return Status(
            200,
            {
                "external_id": parsed.external_id,
                "payment_reference": parsed.payment_reference,
                "payment_amount": parsed.payment_amount,
                "lines": len(parsed.lines),
                "new_lines": len(preview.new_lines),
                "already_posted": [
                    {
                        "sequence": line.sequence,
                        "invoice_number": line.invoice_number,
                        "amount_paid": line.amount_paid,
                        "remittance": before.remittance,
                        "remittance_id": before.batch_id,
                        "payment_reference": before.payment_reference,
                        "line": before.sequence,
                    }
                    for line in preview.already_posted
                    for before in [preview.posted_from[line.sequence]]
                ],
                "received_as": preview.received_as.pk if preview.received_as else None,
                "message": preview.message,
            },
        )
    batch = services.import_file(practice=request.practice, content=content, user=request.user, **options)
    return Status(201, _batch(batch, with_lines=True))


@router.put("/remittances/{int:batch_id}/bank-amount", response=BatchOut, auth=auth_for(Capability.BILLING))
def bank_amount(request, batch_id: int, payload: BankAmountIn):
    batch = selectors.batch(practice=request.practice, batch_id=batch_id)
    return _batch(services.record_bank_amount(batch=batch, amount=str(payload.bank_amount)))


@router.post("/remittance-lines/{line_id}/match", response=LineOut, auth=auth_for(Capability.BILLING))
def match(request, line_id: int, payload: MatchIn):
    line = selectors.line(practice=request.practice, line_id=line_id)
    invoice = get_for_practice_or_404(Invoice, request.practice, pk=payload.invoice_id)
    return _line(services.match_by_hand(line=line, invoice=invoice, user=request.user))


@router.post("/remittance-lines/{line_id}/set-aside", response=LineOut, auth=auth_for(Capability.BILLING))
def set_aside(request, line_id: int, payload: ReasonIn):
    line = selectors.line(practice=request.practice, line_id=line_id)
    return _line(services.set_aside(line=line, reason=payload.reason, user=request.user))


@router.post("/remittance-lines/{line_id}/shortfall-transfer", response={201: dict}, auth=auth_for(Capability.BILLING))
def transfer(request, line_id: int):
    line = selectors.line(practice=request.practice, line_id=line_id)
    invoice = services.transfer_shortfall(line=line, user=request.user)
    return Status(201, {"patient_invoice_id": invoice.pk, "number": invoice.number, "total": invoice.total})


class VerdictIn(Schema):
    kind: str = Field(..., pattern="^(underpayment|patient)$", description="Who owes the shortfall")
    reason: str = Field(..., min_length=1, max_length=300, description="Why, against the rule (kept)")


class VerdictOut(Schema):
    remittance_line_id: int
    kind: str = Field(description="underpayment (disputed with the insurer) or patient")
    rule_kind: str = Field(description="What the rule said")
    why: str
    contract_price: Decimal | None
    paid: Decimal
    difference: Decimal
    override_reason: str
    overridden_at: datetime | None


@router.post("/remittance-lines/{line_id}/who-owes", response=VerdictOut, auth=auth_for(Capability.BILLING))
def who_owes(request, line_id: int, payload: VerdictIn):
    """Override who owes a shortfall (an insurer underpayment or the patient's), with a reason."""
    line = selectors.line(practice=request.practice, line_id=line_id)
    verdict = services.override_shortfall(line=line, kind=payload.kind, reason=payload.reason, user=request.user)
    return {f: getattr(verdict, f) for f in VerdictOut.model_fields}


@router.get("/allocations", response=list[AllocationOut], auth=auth_for(Capability.VIEW_RECORDS))
def list_allocations(request, invoice_id: int | None = None, remittance_id: int | None = None):
    return list(selectors.allocations(practice=request.practice, invoice_id=invoice_id, batch_id=remittance_id)[:1000])


@router.post("/allocations/{allocation_id}/reverse", response={201: AllocationOut}, auth=auth_for(Capability.BILLING))
def reverse(request, allocation_id: int, payload: ReasonIn):
    allocation = selectors.allocation(practice=request.practice, allocation_id=allocation_id)
    return Status(201, services.reverse_allocation(allocation=allocation, reason=payload.reason, user=request.user))
