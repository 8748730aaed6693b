"""Support pages: every request OpenPractice sent the clearing house and its reply, secrets
already redacted when recorded (client.py). Owners and admins only, like the credentials."""

from __future__ import annotations

from django.shortcuts import render

from openpractice.healthcode import selectors
from openpractice.healthcode.models import ApiExchange
from openpractice.practices.permissions import require_capability
from openpractice.practices.roles import Capability
from openpractice.practices.tenancy import get_for_practice_or_404


@require_capability(Capability.MANAGE_INTEGRATIONS)
def exchange_list(request):
    failures_only = request.GET.get("failures") == "1"
    endpoint = request.GET.get("endpoint", "")[:60]
    query = request.GET.get("q", "").strip()[:100]
    found = selectors.exchanges(practice=request.practice, failures_only=failures_only, endpoint=endpoint,
                                query=query)
    # No COUNT over a log that grows with every call: one row more than a page says "next".
    number = max(1, min(_int(request.GET.get("page")), 10_000))
    start = (number - 1) * selectors.PAGE_SIZE
    rows = list(found[start:start + selectors.PAGE_SIZE + 1])
    filters = request.GET.copy()
    filters.pop("page", None)
    return render(request, "healthcode/exchange_list.html", {
        "rows": rows[:selectors.PAGE_SIZE], "page_number": number, "has_next": len(rows) > selectors.PAGE_SIZE, "failures_only": failures_only, "endpoint": endpoint, "query": query,
        "endpoints": selectors.endpoints(practice=request.practice), "filters": filters.urlencode(),
        "settings_tab": "integrations",
    })


@require_capability(Capability.MANAGE_INTEGRATIONS)
def exchange_detail(request, exchange_id: int):
    exchange = get_for_practice_or_404(ApiExchange, request.practice, pk=exchange_id)
    return render(request, "healthcode/exchange_detail.html", {
        "exchange": exchange, "request_body": selectors.pretty(exchange.request_body),
        "response_body": selectors.pretty(exchange.response_body), "settings_tab": "integrations",
    })


def _int(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 1
