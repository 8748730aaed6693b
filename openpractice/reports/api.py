"""/api/v1/reports: the same figures as the report pages (view_records)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from ninja import Router, Schema

from openpractice.practices.api_auth import auth_for
from openpractice.practices.roles import Capability
from openpractice.reports import selectors

router = Router(tags=["reports"])


class DebtRowOut(Schema):
    id: int | None
    label: str
    days_0_30: Decimal
    days_31_60: Decimal
    days_61_90: Decimal
    days_over_90: Decimal
    total: Decimal
    invoices: int


class AgedDebtOut(Schema):
    by: str
    as_of: date
    rows: list[DebtRowOut]
    totals: DebtRowOut


def _row(key, label, buckets, total, invoices) -> dict:
    return {
        "id": key,
        "label": label,
        "days_0_30": buckets[0],
        "days_31_60": buckets[1],
        "days_61_90": buckets[2],
        "days_over_90": buckets[3],
        "total": total,
        "invoices": invoices,
    }


@router.get("/reports/aged-debt", response=AgedDebtOut, auth=auth_for(Capability.VIEW_RECORDS))
def aged_debt(request, by: str = "insurer"):
    report = selectors.aged_debt(practice=request.practice, by=by, page_size=0)
    rows = selectors.aged_debt_export(practice=request.practice, by=by, today=report.today)
    return {
        "by": report.by,
        "as_of": report.today,
        "rows": [_row(r.key, r.label, r.buckets, r.total, r.invoices) for r in rows],
        "totals": _row(None, "Total", report.totals, report.total, report.invoices),
    }


@router.get("/reports/bills-by-status", response=list[dict], auth=auth_for(Capability.VIEW_RECORDS))
def bills_by_status(request):
    return selectors.bills_by_status(practice=request.practice)


@router.get("/reports/payments", response=list[dict], auth=auth_for(Capability.VIEW_RECORDS))
def payments(request, period: str = "month", start: date | None = None, end: date | None = None):
    return selectors.payments_by_period(practice=request.practice, period=period, start=start, end=end)


@router.get("/reports/days-to-payment", response=list[dict], auth=auth_for(Capability.VIEW_RECORDS))
def days_to_payment(request):
    return selectors.average_days_to_payment(practice=request.practice)
