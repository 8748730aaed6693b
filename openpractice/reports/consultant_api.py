"""/api/v1/reports/consultant: the monthly consultant report of the token's practice (view_records to
read; billing to save and send), the same figures as the page, the PDF and the CSV."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.utils import timezone
from ninja import Router, Schema

from openpractice.practices.api_auth import auth_for
from openpractice.practices.roles import Capability
from openpractice.reports import consultant, consultant_services
from openpractice.reports.consultant_errors import ConsultantReportError
from openpractice.reports.selectors import BUCKETS

router = Router(tags=["reports"])


class LineOut(Schema):
    label: str
    amount: Decimal
    count: int | None = None


class OutstandingOut(Schema):
    owed_by: str
    bands: dict[str, Decimal]
    total: Decimal


class FeeOut(Schema):
    kind: str
    description: str
    percentage: Decimal
    monthly_fee: Decimal
    amount: Decimal


class ConsultantReportOut(Schema):
    month: str
    practice: str
    status: str  # live (today's figures), saved or sent (the figures kept)
    saved_at: dt.datetime | None
    sent_at: dt.datetime | None
    sent_to: str
    billed: list[LineOut]
    billed_total: Decimal
    collected: list[LineOut]
    collected_total: Decimal
    outstanding_at: dt.date
    outstanding: list[OutstandingOut]
    outstanding_total: Decimal
    write_offs: list[LineOut]
    write_off_total: Decimal
    fee: FeeOut
    net_due: Decimal


class SavedReportOut(Schema):
    month: str
    saved_at: dt.datetime
    sent_at: dt.datetime | None
    sent_to: str


class MonthIn(Schema):
    month: str
    resend: bool = False


def _month(text: str | None) -> dt.date:
    month = consultant.parse_month(text) if text else consultant.previous_month(timezone.localdate())
    if month is None:
        raise ConsultantReportError("Enter a month such as 2026-11.", field="month")
    return month


def _out(figures: consultant.Figures, report) -> dict:
    lines = lambda found: [{"label": x.label, "amount": x.amount, "count": x.count} for x in found]  # noqa: E731
    return {
        "month": f"{figures.month:%Y-%m}",
        "practice": figures.practice,
        "status": "sent" if report and report.sent_at else "saved" if report else "live",
        "saved_at": report.generated_at if report else None,
        "sent_at": report.sent_at if report else None,
        "sent_to": report.sent_to if report else "",
        "billed": lines(figures.billed),
        "billed_total": figures.billed_total,
        "collected": lines(figures.collected),
        "collected_total": figures.collected_total,
        "outstanding_at": figures.month_end,
        "outstanding": [
            {"owed_by": label, "bands": dict(zip(BUCKETS, bands)), "total": total}
            for label, bands, total in figures.outstanding_rows
        ],
        "outstanding_total": figures.outstanding_total,
        "write_offs": lines(figures.write_offs),
        "write_off_total": figures.write_off_total,
        "fee": {
            "kind": figures.fee.kind,
            "description": figures.fee.description,
            "percentage": figures.fee.rate,
            "monthly_fee": figures.fee.fixed,
            "amount": figures.fee.amount,
        },
        "net_due": figures.net,
    }


@router.get(
    "/reports/consultant",
    response=ConsultantReportOut,
    auth=auth_for(Capability.VIEW_RECORDS),
    operation_id="consultant_report",
)
def consultant_report(request, month: str | None = None):
    """A month's report (`month=2026-11`, default last month): the saved figures once saved or sent."""
    chosen = _month(month)
    report = consultant.saved_report(practice=request.practice, month=chosen)
    figures = (
        consultant.Figures.from_snapshot(report.figures)
        if report
        else consultant.figures(practice=request.practice, month=chosen)
    )
    return _out(figures, report)


@router.get(
    "/reports/consultant/saved",
    response=list[SavedReportOut],
    auth=auth_for(Capability.VIEW_RECORDS),
    operation_id="consultant_reports_saved",
)
def consultant_reports_saved(request):
    return [
        {"month": f"{r.month:%Y-%m}", "saved_at": r.generated_at, "sent_at": r.sent_at, "sent_to": r.sent_to}
        for r in consultant.saved_reports(practice=request.practice)
    ]


@router.post(
    "/reports/consultant/save",
    response=ConsultantReportOut,
    auth=auth_for(Capability.BILLING),
    operation_id="consultant_report_save",
)
def consultant_report_save(request, body: MonthIn):
    report = consultant_services.save_report(practice=request.practice, month=_month(body.month), user=request.user)
    return _out(consultant.Figures.from_snapshot(report.figures), report)


@router.post(
    "/reports/consultant/send",
    response=ConsultantReportOut,
    auth=auth_for(Capability.BILLING),
    operation_id="consultant_report_send",
)
def consultant_report_send(request, body: MonthIn):
    report = consultant_services.send_report(
        practice=request.practice, month=_month(body.month), user=request.user, resend=body.resend
    )
    return _out(consultant.Figures.from_snapshot(report.figures), report)
