"""Report pages and their CSV exports. Thin: the figures come from reports/selectors.py."""

from __future__ import annotations

import datetime as dt
import itertools

from django.shortcuts import render

from openpractice.csv_export import csv_response, csv_stream_response  # every export: no formulas reach a spreadsheet
from openpractice.practices.models import Membership
from openpractice.practices.permissions import require_capability
from openpractice.practices.roles import Capability
from openpractice.reports import selectors

REPORTS = [
    ("aged_debt", "Aged debt"),
    ("bills", "Bills by Healthcode status"),
    ("payments", "Payments received"),
    ("days", "Days to payment"),
    ("collection", "Collection rate"),
    ("write_offs", "Write-offs"),
    ("consultant", "Consultant report"),
]


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


def _date(value: str | None):
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None


@require_capability(Capability.VIEW_RECORDS)
def index(request):
    return aged_debt(request)


@require_capability(Capability.VIEW_RECORDS)
def aged_debt(request):
    by = "patient" if request.GET.get("by") == "patient" else "insurer"
    # ?practitioner=<membership id>: one practitioner's invoices (the dashboard's link for a practitioner)
    practitioner = (
        Membership.objects.for_practice(request.practice)
        .filter(pk=_int(request.GET.get("practitioner")))
        .select_related("user")
        .first()
    )
    practitioner_id = practitioner.pk if practitioner else None
    if request.GET.get("format") == "csv":
        rows = selectors.aged_debt_export(practice=request.practice, by=by, practitioner_id=practitioner_id)
        report = selectors.aged_debt(practice=request.practice, by=by, practitioner_id=practitioner_id, page_size=0)
        return csv_stream_response(
            f"aged-debt-by-{by}{f'-{practitioner.pk}' if practitioner else ''}",
            [by.title(), *selectors.BUCKETS, "Total", "Invoices"],
            itertools.chain(
                ([r.label, *r.buckets, r.total, r.invoices] for r in rows),
                [["Total", *report.totals, report.total, report.invoices]],
            ),
        )
    report = selectors.aged_debt(
        practice=request.practice, by=by, practitioner_id=practitioner_id, page=_int(request.GET.get("page")) or 1
    )
    bars = _chart(report)
    return render(
        request,
        "reports/aged_debt.html",
        {
            "report": report,
            "by": by,
            "practitioner": practitioner,
            "scope": f"&practitioner={practitioner.pk}" if practitioner else "",
            "bars": bars,
            "tab": "aged_debt",
            "totals_named": list(zip(selectors.BUCKETS, report.totals)),
            "reports": REPORTS,
            "buckets": selectors.BUCKETS,
        },
    )


def _chart(report) -> list[dict]:
    """Server-rendered stacked bars: each row's buckets as widths relative to the largest row.
    Drawn as SVG rectangles (x and width attributes), not inline styles, which the page's
    Content-Security-Policy refuses; the colour class follows the bucket, not the position."""
    largest = report.largest or 1
    bars = []
    for row in report.rows[:15]:
        parts, x = [], 0.0
        for index, (name, amount) in enumerate(zip(selectors.BUCKETS, row.buckets)):
            if amount:
                width = float(amount / largest * 100)
                parts.append({"bucket": name, "amount": amount, "index": index, "x": x, "width": width})
                x += width
        bars.append({"label": row.label, "total": row.total, "parts": parts})
    return bars


@require_capability(Capability.VIEW_RECORDS)
def bills(request):
    rows = selectors.bills_by_status(practice=request.practice)
    if request.GET.get("format") == "csv":
        return csv_response(
            "bills-by-healthcode-status",
            ["Healthcode status", "Bills", "Total", "Balance"],
            [[r["label"], r["count"], r["total"], r["balance"]] for r in rows],
        )
    return render(request, "reports/bills.html", {"rows": rows, "tab": "bills", "reports": REPORTS})


@require_capability(Capability.VIEW_RECORDS)
def payments(request):
    period = "week" if request.GET.get("period") == "week" else "month"
    start, end = _date(request.GET.get("start")), _date(request.GET.get("end"))
    rows = selectors.payments_by_period(practice=request.practice, period=period, start=start, end=end)
    if request.GET.get("format") == "csv":
        return csv_response(
            "payments",
            ["Period starting", "Payer", "Source", "Amount"],
            [[r["period"], r["payer"], r["source"], r["amount"]] for r in rows],
        )
    total = sum((r["amount"] for r in rows), selectors.ZERO)
    return render(
        request,
        "reports/payments.html",
        {
            "rows": rows,
            "period": period,
            "start": start,
            "end": end,
            "total": total,
            "tab": "payments",
            "reports": REPORTS,
        },
    )


@require_capability(Capability.VIEW_RECORDS)
def days(request):
    rows = selectors.average_days_to_payment(practice=request.practice)
    if request.GET.get("format") == "csv":
        return csv_response(
            "days-to-payment",
            ["Insurer", "Invoices paid", "Average days", "Fastest", "Slowest"],
            [[r["insurer"], r["invoices"], r["average_days"], r["fastest"], r["slowest"]] for r in rows],
        )
    return render(request, "reports/days.html", {"rows": rows, "tab": "days", "reports": REPORTS})
