"""/api/v1/collections: patients' accounts, the work queue, chase runs, write-offs, patient
payments, insurer disputes and insurer debt. The same services, rules and capabilities as the
pages: everything needs manage_collections; deciding and reversing a write-off (and writing a
dispute off) needs approve_write_offs. Another practice's object is a 404; a broken rule a 422
with the field and a code (ReceivablesError)."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from decimal import Decimal

from ninja import Query, Router, Schema, Status
from pydantic import Field

from openpractice.billing.models import BillTo, Payment
from openpractice.pagination import limit_param, offset_param, page_of
from openpractice.patients.models import Patient
from openpractice.practices.api_auth import auth_for
from openpractice.practices.roles import Capability
from openpractice.practices.tenancy import get_for_practice_or_404
from openpractice.receivables import disputes, insurer_debt, selectors, services
from openpractice.receivables.models import StageKey, WriteOff, WriteOffEntry

router = Router(tags=["collections"])
COLLECTIONS = auth_for(Capability.MANAGE_COLLECTIONS)
APPROVER = auth_for(Capability.APPROVE_WRITE_OFFS)


# -- accounts --------------------------------------------------------------------------------------
class AccountRowOut(Schema):
    patient_id: int
    name: str
    balance: Decimal
    invoices: int
    oldest_due: date
    days_overdue: int


class AccountsOut(Schema):
    rows: list[AccountRowOut]
    page: int
    pages: int
    count: int
    total: Decimal = Field(description="What every patient on every page owes")


class OpenItemOut(Schema):
    invoice_id: int
    number: str
    invoice_date: date
    due_on: date
    kind: str = Field(description="self_pay, shortfall, excess or credit")
    total: Decimal
    paid: Decimal
    balance: Decimal
    days_overdue: int


class PaymentOut(Schema):
    id: int
    invoice_id: int
    invoice_number: str
    patient_id: int
    amount: Decimal
    received_on: date
    method: str
    reference: str


class AccountOut(Schema):
    patient_id: int
    name: str
    owed: Decimal
    credit: Decimal
    balance: Decimal = Field(description="Owed less credit (negative: the practice owes the patient)")
    items: list[OpenItemOut]
    payments: list[PaymentOut]


def _payment(p: Payment) -> dict:
    return {
        "id": p.pk,
        "invoice_id": p.invoice_id,
        "invoice_number": p.invoice.number,
        "patient_id": p.invoice.patient_id,
        "amount": p.amount,
        "received_on": p.received_on,
        "method": p.method,
        "reference": p.reference,
    }


@router.get("/collections/accounts", response=AccountsOut, auth=COLLECTIONS)
def list_accounts(request, page: int = Query(1, ge=1, le=1_000_000)):
    found = selectors.accounts_owing(practice=request.practice, page=page)
    return {
        "rows": [dataclasses.asdict(r) for r in found.rows],
        "page": found.number,
        "pages": found.pages,
        "count": found.count,
        "total": found.total,
    }


@router.get("/collections/accounts/{int:patient_id}", response=AccountOut, auth=COLLECTIONS)
def get_account(request, patient_id: int):
    patient = get_for_practice_or_404(Patient, request.practice, pk=patient_id)
    account = selectors.patient_account(practice=request.practice, patient=patient)
    return {
        "patient_id": patient.pk,
        "name": f"{patient.first_name} {patient.last_name}",
        "owed": account.owed,
        "credit": account.credit,
        "balance": account.balance,
        "items": [dataclasses.asdict(i) for i in account.items],
        "payments": [_payment(p) for p in account.payments],
    }


# -- the work queue --------------------------------------------------------------------------------
class QueueRowOut(Schema):
    invoice_id: int
    number: str
    patient_id: int
    patient_name: str
    balance: Decimal
    due_on: date
    days_overdue: int
    next_stage: str | None
    next_action: str
    action_on: date | None
    hold: str
    assigned_to: str
    limitation_on: date


class QueueOut(Schema):
    rows: list[QueueRowOut]
    page: int
    pages: int
    count: int


@router.get("/collections/queue", response=QueueOut, auth=COLLECTIONS)
def work_queue(
    request,
    stage: StageKey | None = None,
    assigned: str = Query("", pattern=r"^(|none|\d{1,12})$", description="A user id, or none"),
    overdue: bool = False,
    page: int = Query(1, ge=1, le=1_000_000),
):
    found = selectors.work_queue(
        practice=request.practice, stage=stage or "", assigned=assigned, overdue_only=overdue, page=page
    )
    return {
        "rows": [{**dataclasses.asdict(r), "next_action": r.next_action} for r in found.rows],
        "page": found.number,
        "pages": found.pages,
        "count": found.count,
    }


# -- chase runs ------------------------------------------------------------------------------------
class RunOut(Schema):
    id: int
    run_on: date
    status: str
    items: int
    created_at: datetime
    sent_at: datetime | None


class RunItemOut(Schema):
    id: int
    invoice_id: int
    patient_id: int
    stage: str
    channel: str
    balance: Decimal
    days_overdue: int
    outcome: str


class RunDetailOut(RunOut):
    run_items: list[RunItemOut]


class SendIn(Schema):
    include: list[int] = Field(..., description="The items to send (the rest are left out)", max_length=200_000)


def _run(run, with_items=False) -> dict:
    out = {
        "id": run.pk,
        "run_on": run.run_on,
        "status": run.status,
        "items": run.item_count,
        "created_at": run.created_at,
        "sent_at": run.sent_at,
    }
    if with_items:
        out["run_items"] = [
            {f: getattr(i, f) for f in RunItemOut.model_fields} for i in selectors.run_items(run=run).order_by("id")
        ]
    return out


def _find_run(request, run_id: int):
    return get_for_practice_or_404(selectors.chase_runs(practice=request.practice), request.practice, pk=run_id)


@router.get("/collections/chase-runs", response=list[RunOut], auth=COLLECTIONS)
def list_runs(request, limit: int = limit_param(50, 500), offset: int = offset_param()):
    return [
        _run(r)
        for r in page_of(selectors.chase_runs(practice=request.practice), limit=limit, offset=offset, maximum=500)
    ]


@router.post("/collections/chase-runs", response={201: RunDetailOut}, auth=COLLECTIONS)
def create_run(request):
    """Today's run, for review: what each debt needs (nothing is sent). Again the same day: the same run."""
    run = services.create_chase_run(practice=request.practice, user=request.user)
    return Status(201, _run(_find_run(request, run.pk), with_items=True))


@router.get("/collections/chase-runs/{int:chase_run_id}", response=RunDetailOut, auth=COLLECTIONS)
def get_run(request, chase_run_id: int):
    return _run(_find_run(request, chase_run_id), with_items=True)


@router.post("/collections/chase-runs/{int:chase_run_id}/send", response=dict, auth=COLLECTIONS)
def send_run(request, chase_run_id: int, payload: SendIn):
    counts = services.send_chase_run(
        run=_find_run(request, chase_run_id), include=set(payload.include), user=request.user
    )
    return {"sent": counts}


# -- write-offs ------------------------------------------------------------------------------------
class WriteOffIn(Schema):
    amount: Decimal = Field(..., gt=0, max_digits=12, decimal_places=2)
    reason: str = Field(..., min_length=1, max_length=300)


class ReasonIn(Schema):
    reason: str = Field(..., min_length=1, max_length=300)


class WriteOffOut(Schema):
    id: int
    invoice_id: int
    amount: Decimal
    reason: str
    status: str
    requested_at: datetime
    decided_at: datetime | None


class EntryOut(Schema):
    id: int
    invoice_id: int
    write_off_id: int
    amount: Decimal = Field(description="Negative for a reversal")
    reason: str
    reverses_id: int | None
    posted_on: date


def _write_off(w: WriteOff) -> dict:
    return {f: getattr(w, f) for f in WriteOffOut.model_fields}


def _entry(e: WriteOffEntry) -> dict:
    return {f: getattr(e, f) for f in EntryOut.model_fields}


@router.post("/collections/debts/{int:invoice_id}/write-offs", response={201: WriteOffOut}, auth=COLLECTIONS)
def request_write_off(request, invoice_id: int, payload: WriteOffIn):
    invoice = selectors.patient_invoice(practice=request.practice, invoice_id=invoice_id)
    asked = services.request_write_off(
        invoice=invoice, amount=str(payload.amount), reason=payload.reason, by=request.user
    )
    return Status(201, _write_off(asked))


@router.get("/collections/write-offs", response=list[WriteOffOut], auth=COLLECTIONS)
def list_write_offs(
    request,
    status: str = Query("", pattern="^(|requested|approved|declined)$"),
    limit: int = limit_param(100, 1000),
    offset: int = offset_param(),
):
    found = WriteOff.objects.for_practice(request.practice)
    if status:
        found = found.filter(status=status)
    return [_write_off(w) for w in page_of(found, limit=limit, offset=offset, maximum=1000)]


@router.post("/collections/write-offs/{int:write_off_id}/approve", response={201: EntryOut}, auth=APPROVER)
def approve_write_off(request, write_off_id: int):
    asked = get_for_practice_or_404(WriteOff, request.practice, pk=write_off_id)
    return Status(201, _entry(services.approve_write_off(write_off=asked, by=request.user)))


@router.post("/collections/write-offs/{int:write_off_id}/decline", response=WriteOffOut, auth=APPROVER)
def decline_write_off(request, write_off_id: int):
    asked = get_for_practice_or_404(WriteOff, request.practice, pk=write_off_id)
    return _write_off(services.decline_write_off(write_off=asked, by=request.user))


@router.post("/collections/write-off-entries/{int:entry_id}/reverse", response={201: EntryOut}, auth=APPROVER)
def reverse_write_off(request, entry_id: int, payload: ReasonIn):
    entry = get_for_practice_or_404(WriteOffEntry, request.practice, pk=entry_id)
    return Status(201, _entry(services.reverse_write_off(entry=entry, reason=payload.reason, by=request.user)))


# -- payments --------------------------------------------------------------------------------------
@router.get("/collections/payments", response=list[PaymentOut], auth=COLLECTIONS)
def list_payments(
    request,
    patient_id: int | None = Query(None, ge=1, le=2**62),
    limit: int = limit_param(100, 1000),
    offset: int = offset_param(),
):
    """Patient payments recorded against patient invoices, newest first."""
    found = (
        Payment.objects.filter(practice=request.practice, invoice__bill_to=BillTo.PATIENT)
        .select_related("invoice")
        .order_by("-received_on", "-id")
    )
    if patient_id is not None:
        found = found.filter(invoice__patient_id=patient_id)
    return [_payment(p) for p in page_of(found, limit=limit, offset=offset, maximum=1000)]


# -- insurer disputes and insurer debt -------------------------------------------------------------
class DisputeOut(Schema):
    id: int
    invoice_id: int
    invoice_number: str
    insurer_contact_id: int | None
    insurer: str
    remittance_reference: str
    billed: Decimal
    contract_price: Decimal | None
    paid: Decimal
    difference: Decimal
    status: str = Field(description="raised, sent, paid, patient or written_off")
    why: str
    overridden: bool
    override_reason: str


class DisputeDetailOut(DisputeOut):
    letter_subject: str
    letter: str = Field(description="Plain text to send the insurer")


class DisputesOut(Schema):
    rows: list[DisputeOut]
    next_after: int | None = Field(description="Pass as `after` for the next page")


class NoteIn(Schema):
    note: str = Field("", max_length=300)


def _dispute(v, status: str | None = None) -> dict:
    batch = v.remittance_line.batch
    return {
        "id": v.pk,
        "invoice_id": v.invoice_id,
        "invoice_number": v.invoice.number,
        "insurer_contact_id": v.insurer_contact_id,
        "insurer": v.insurer_contact.name if v.insurer_contact else "",
        "remittance_reference": batch.payment_reference or batch.external_id,
        "billed": v.billed,
        "contract_price": v.contract_price,
        "paid": v.paid,
        "difference": v.difference,
        "status": status or v.dispute_status,
        "why": v.why,
        "overridden": v.overridden,
        "override_reason": v.override_reason,
    }


def _detail(request, verdict_id: int) -> dict:
    v = disputes.dispute(practice=request.practice, verdict_id=verdict_id)
    subject, body = disputes.dispute_letter(verdict=v, practice_name=request.practice.name)
    return {**_dispute(v), "letter_subject": subject, "letter": body}


@router.get("/collections/disputes", response=DisputesOut, auth=COLLECTIONS)
def list_disputes(
    request,
    status: str = Query("open", pattern="^(open|resolved|all)$"),
    insurer_id: int | None = Query(None, ge=1, le=2**62),
    after: int | None = Query(None, ge=1, le=2**62),
    limit: int = limit_param(50, 200),
):
    page = disputes.dispute_page(
        practice=request.practice, status=status, insurer_id=insurer_id, after=after, size=limit
    )
    return {"rows": [_dispute(r.verdict, r.status) for r in page.rows], "next_after": page.next_after}


@router.get("/collections/disputes/{int:verdict_id}", response=DisputeDetailOut, auth=COLLECTIONS)
def get_dispute(request, verdict_id: int):
    return _detail(request, verdict_id)


@router.post("/collections/disputes/{int:verdict_id}/sent", response=DisputeDetailOut, auth=COLLECTIONS)
def dispute_sent(request, verdict_id: int, payload: NoteIn):
    disputes.mark_sent(
        verdict=disputes.dispute(practice=request.practice, verdict_id=verdict_id), note=payload.note, by=request.user
    )
    return _detail(request, verdict_id)


@router.post("/collections/disputes/{int:verdict_id}/paid", response=DisputeDetailOut, auth=COLLECTIONS)
def dispute_paid(request, verdict_id: int, payload: NoteIn):
    disputes.resolve_paid(
        verdict=disputes.dispute(practice=request.practice, verdict_id=verdict_id), note=payload.note, by=request.user
    )
    return _detail(request, verdict_id)


@router.post("/collections/disputes/{int:verdict_id}/patient", response={201: dict}, auth=COLLECTIONS)
def dispute_patient(request, verdict_id: int, payload: ReasonIn):
    """Resolved as the patient's: the shortfall moves to the patient. Returns the patient's invoice."""
    invoice = disputes.resolve_as_patients(
        verdict=disputes.dispute(practice=request.practice, verdict_id=verdict_id), note=payload.reason, by=request.user
    )
    return Status(201, {"patient_invoice_id": invoice.pk, "number": invoice.number, "total": invoice.total})


@router.post("/collections/disputes/{int:verdict_id}/write-off", response={201: EntryOut}, auth=APPROVER)
def dispute_write_off(request, verdict_id: int, payload: ReasonIn):
    entry = disputes.resolve_written_off(
        verdict=disputes.dispute(practice=request.practice, verdict_id=verdict_id), note=payload.reason, by=request.user
    )
    return Status(201, _entry(entry))


class InsurerDebtRowOut(Schema):
    invoice_id: int
    number: str
    invoice_date: date
    patient_id: int
    insurer_contact_id: int
    insurer: str
    insurer_email: str
    insurer_phone: str
    usual_days_to_pay: int
    days_unpaid: int
    total: Decimal
    balance: Decimal
    history: list[str]


class InsurerDebtOut(Schema):
    rows: list[InsurerDebtRowOut]
    next_after: str | None = Field(description="Pass as `after` for the next page")


@router.get("/collections/insurer-debt", response=InsurerDebtOut, auth=COLLECTIONS)
def list_insurer_debt(
    request,
    insurer_id: int | None = Query(None, ge=1, le=2**62),
    age: str = Query("", pattern="^(|60|90|120)$", description="Unpaid for at least this many days"),
    after: str | None = Query(None, max_length=40),
    limit: int = limit_param(50, 200),
):
    page = insurer_debt.insurer_debt_page(
        practice=request.practice, insurer_id=insurer_id, age=age, after=after, size=limit
    )
    return {
        "rows": [
            {
                "invoice_id": r.invoice.pk,
                "number": r.invoice.number,
                "invoice_date": r.invoice.invoice_date,
                "patient_id": r.invoice.patient_id,
                "insurer_contact_id": r.insurer.pk,
                "insurer": r.insurer.name,
                "insurer_email": r.insurer.email,
                "insurer_phone": r.insurer.phone,
                "usual_days_to_pay": r.insurer.usual_days_to_pay,
                "days_unpaid": r.days_unpaid,
                "total": r.invoice.total,
                "balance": r.balance,
                "history": r.history,
            }
            for r in page.rows
        ],
        "next_after": page.next_after,
    }
