"""Settings > Read log: who opened what, filtered, paged newest first, and as CSV."""

from __future__ import annotations

from urllib.parse import urlencode

from django.http import StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone

from openpractice.audit import exports, selectors
from openpractice.audit.errors import AuditError
from openpractice.audit.forms import ReadLogFilterForm
from openpractice.audit.selectors import ReadFilters
from openpractice.practices.permissions import require_capability
from openpractice.practices.roles import Capability
from openpractice.practices.selectors import practice_members

FILTER_FIELDS = ("user", "kind", "start", "end", "object_type", "object_id")


def _cursor(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


@require_capability(Capability.VIEW_AUDIT)
def read_log(request):
    users = [m.user for m in practice_members(practice=request.practice)]
    form = ReadLogFilterForm(request.GET or None, users=users)
    page, filters = None, None
    if not request.GET or form.is_valid():
        data = form.cleaned_data if form.is_bound else {}
        filters = ReadFilters(
            user_id=data.get("user"),
            kind=data.get("kind") or "",
            start=data.get("start"),
            end=data.get("end"),
            object_type=data.get("object_type") or "",
            object_id=data.get("object_id"),
        )
        try:
            if request.GET.get("format") == "csv":
                queryset = selectors.events_for(practice=request.practice, filters=filters)
                response = StreamingHttpResponse(
                    exports.csv_lines(practice=request.practice, queryset=queryset),
                    content_type="text/csv; charset=utf-8",
                )
                response["Content-Disposition"] = f'attachment; filename="read-log-{timezone.localdate():%Y-%m-%d}.csv"'
                return response
            page = selectors.read_events(
                practice=request.practice,
                filters=filters,
                before=_cursor(request.GET.get("before")),
                after=_cursor(request.GET.get("after")),
            )
        except AuditError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            page = None
    if page is not None:
        names = selectors.record_names(practice=request.practice, events=page.events)
        for event in page.events:
            event.record_name = names.get((event.object_type, event.object_id), "")
    query = {k: request.GET[k] for k in FILTER_FIELDS if request.GET.get(k)}
    return render(
        request,
        "audit/read_log.html",
        {
            "form": form,
            "page": page,
            "settings_tab": "read_log",
            "filtered": bool(query),
            "query": urlencode(query),
            "csv_query": urlencode({**query, "format": "csv"}),
        },
    )
