"""Collections report pages (collection rate, debtor days, patient debt by chase stage,
write-offs by period, with the write-off ledger as CSV for the accounts). Thin: the figures come
from reports/collections.py. Like the other reports, for whoever may view records."""

from __future__ import annotations

import datetime as dt

from django.shortcuts import render
from django.views.decorators.http import require_GET

from openpractice.csv_export import csv_stream_response
from openpractice.practices.permissions import require_capability
from openpractice.practices.roles import Capability
from openpractice.reports import collections
from openpractice.reports.views import REPORTS

DEBTOR_WINDOWS = (30, 90, 180, 365)


def _date(value: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _period(request) -> tuple[dt.date, dt.date, bool]:
    """The period asked for (From/To), else the default; True when what was typed was wrong."""
    start, end = collections.default_period()
    asked_start, asked_end = _date(request.GET.get("start")), _date(request.GET.get("end"))
    wrong = bool(request.GET.get("start") and not asked_start) or bool(request.GET.get("end") and not asked_end)
    start, end = asked_start or start, asked_end or end
    if start > end:
        start, end, wrong = end, start, True
    return start, end, wrong


@require_GET
@require_capability(Capability.VIEW_RECORDS)
def collection(request):
    start, end, wrong = _period(request)
    try:
        window = int(request.GET.get("days", "90"))
    except ValueError:
        window = 90
    window = window if window in DEBTOR_WINDOWS else 90
    return render(
        request,
        "reports/collection.html",
        {
            "rates": collections.collection_rate(practice=request.practice, start=start, end=end),
            "debtor_days": collections.debtor_days(practice=request.practice, days=window),
            "stages": collections.debt_by_stage(practice=request.practice),
            "start": start,
            "end": end,
            "wrong": wrong,
            "window": window,
            "windows": DEBTOR_WINDOWS,
            "tab": "collection",
            "reports": REPORTS,
        },
    )


@require_GET
@require_capability(Capability.VIEW_RECORDS)
def write_offs(request):
    start, end, wrong = _period(request)
    if request.GET.get("format") == "csv":
        return csv_stream_response(
            f"write-offs-{start.isoformat()}-to-{end.isoformat()}",
            collections.EXPORT_HEADER,
            collections.write_off_export(practice=request.practice, start=start, end=end),
        )
    months = collections.write_offs_by_month(practice=request.practice, start=start, end=end)
    return render(
        request,
        "reports/write_offs.html",
        {
            "months": months,
            "total_off": sum((m.written_off for m in months), collections.ZERO),
            "total_back": sum((m.reversed for m in months), collections.ZERO),
            "total_net": sum((m.net for m in months), collections.ZERO),
            "start": start,
            "end": end,
            "wrong": wrong,
            "tab": "write_offs",
            "reports": REPORTS,
        },
    )
