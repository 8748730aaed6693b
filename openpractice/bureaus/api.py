"""/api/v1/bureau: the combined queue, aged debt by practice, and the actions across practices,
for a bureau's staff. Rows come only from practices where the caller's own membership has that
kind's capability. A browser session works across all of them; an API token is bound to one
practice, so with a token these routes see that practice alone."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.utils import timezone
from ninja import Query, Router, Schema, Status
from ninja.errors import HttpError

from openpractice.accounts.models import ApiToken
from openpractice.bureaus import selectors, services
from openpractice.bureaus.selectors import Kind, Workspace, filters_from
from openpractice.practices.roles import Capability

router = Router(tags=["bureau"])


def _space(request) -> Workspace:
    staff = selectors.staff_of(user=request.user)
    if staff is None:
        raise HttpError(403, "This is for a bureau's staff: your account does not work for a bureau.")
    only = request.practice.pk if isinstance(getattr(request, "auth", None), ApiToken) else None
    return selectors.workspace(user=request.user, staff=staff, only_practice_id=only)


class PracticeOut(Schema):
    id: int
    name: str
    role: str
    capabilities: list[str]


class RowOut(Schema):
    kind: str
    id: int  # the invoice's id (bills, debts) or the remittance line's
    practice_id: int
    practice: str
    reference: str
    patient: str
    insurer: str
    date: dt.date | None
    amount: Decimal
    detail: str


class QueueOut(Schema):
    kind: str
    rows: list[RowOut]
    next_cursor: str
    counts: dict[str, int]


class DebtLineOut(Schema):
    practice_id: int
    practice: str
    days_0_30: Decimal
    days_31_60: Decimal
    days_61_90: Decimal
    days_over_90: Decimal
    total: Decimal
    invoices: int
    counted_at: dt.datetime  # when these figures were counted (kept up to a couple of minutes)


class SubmitIn(Schema):
    invoice_ids: list[int]


class FetchIn(Schema):
    practice_ids: list[int] | None = None


class RunPartOut(Schema):
    practice_id: int
    practice: str
    status: str
    requested: int = 0
    accepted: int = 0
    rejected: int = 0
    not_sent: int = 0
    fetched: int = 0
    to_review: int = 0


class RunOut(Schema):
    id: int
    kind: str
    created_at: dt.datetime
    parts: list[RunPartOut]
    skipped: list[dict]


@router.get("/bureau/practices", response=list[PracticeOut], operation_id="bureau_practices")
def practices(request):
    space = _space(request)
    return [
        {
            "id": m.practice_id,
            "name": m.practice.name,
            "role": m.role,
            "capabilities": [c for c in Capability.values if m.can(c)],
        }
        for m in space.memberships
    ]


@router.get("/bureau/queue", response=QueueOut, operation_id="bureau_queue")
def queue(
    request,
    kind: str = Query(Kind.FAILED, description="failed, not_ready, ready, remittances or debts"),
    practice: int | None = None,
    insurer: str = "",
    age: str = Query("", description="0-30, 31-60, 61-90 or 90+ (days)"),
    after: str = Query("", description="next_cursor of the page before"),
    limit: int = Query(selectors.PAGE_SIZE, ge=1, le=200),
):
    space = _space(request)
    if kind not in Kind.ALL:
        raise HttpError(422, f"kind must be one of {', '.join(Kind.ALL)}.")
    filters = filters_from({"practice": str(practice or ""), "insurer": insurer, "age": age})
    page = selectors.queue_page(space=space, kind=kind, filters=filters, after=after, limit=limit)
    return {
        "kind": page.kind,
        "rows": [
            {
                "kind": r.kind,
                "id": r.key,
                "practice_id": r.practice_id,
                "practice": r.practice,
                "reference": r.reference,
                "patient": r.who,
                "insurer": r.insurer,
                "date": r.on,
                "amount": r.amount,
                "detail": r.detail,
            }
            for r in page.rows
        ],
        "next_cursor": page.next_cursor,
        "counts": selectors.counts(space=space, filters=filters),
    }


@router.get("/bureau/aged-debt", response=list[DebtLineOut], operation_id="bureau_aged_debt")
def aged_debt(request, practice: int | None = None, insurer: str = ""):
    space = _space(request)
    report = services.aged_debt_for(
        space=space, filters=filters_from({"practice": str(practice or ""), "insurer": insurer})
    )
    return [
        {
            "practice_id": r.practice_id,
            "practice": r.practice,
            "days_0_30": r.buckets[0],
            "days_31_60": r.buckets[1],
            "days_61_90": r.buckets[2],
            "days_over_90": r.buckets[3],
            "total": r.total,
            "invoices": r.invoices,
            "counted_at": report.counted_at or timezone.now(),
        }
        for r in report.rows
    ]


def _run_out(space: Workspace, run) -> dict:
    parts = []
    for part in selectors.run_parts(space=space, run=run):
        if part.progress is not None:
            p = part.progress
            status = "done" if p["finished"] else "stopped" if p["stopped"] else "sending"
            parts.append(
                {
                    "practice_id": part.practice_id,
                    "practice": part.practice,
                    "status": status,
                    "requested": p["requested"],
                    "accepted": p["accepted"],
                    "rejected": p["rejected"],
                    "not_sent": p["held"],
                }
            )
        else:
            f = part.fetch
            parts.append(
                {
                    "practice_id": part.practice_id,
                    "practice": part.practice,
                    "status": f.status,
                    "fetched": f.fetched,
                    "to_review": f.to_review,
                }
            )
    return {
        "id": run.pk,
        "kind": run.kind,
        "created_at": run.created_at,
        "parts": parts,
        "skipped": selectors.run_skipped(space=space, run=run),
    }


@router.post("/bureau/submissions", response={202: RunOut}, operation_id="bureau_submit")
def submit(request, body: SubmitIn):
    space = _space(request)
    run = services.submit_across(space=space, user=request.user, invoice_ids=body.invoice_ids)
    return Status(202, _run_out(space, run))


@router.post("/bureau/remittance-fetches", response={202: RunOut}, operation_id="bureau_fetch_remittances")
def fetch(request, body: FetchIn):
    space = _space(request)
    run = services.fetch_across(space=space, user=request.user, practice_ids=body.practice_ids)
    return Status(202, _run_out(space, run))


@router.get("/bureau/runs/{bureau_run_id}", response=RunOut, operation_id="bureau_run")
def run_detail(request, bureau_run_id: int):
    space = _space(request)
    run = selectors.run(space=space, run_id=bureau_run_id)
    if run is None:
        raise HttpError(404, "Not found.")
    return _run_out(space, run)
