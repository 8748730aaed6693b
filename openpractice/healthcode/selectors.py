"""Reads for the Healthcode support pages."""

from __future__ import annotations

import json

from django.db.models import Q, QuerySet

from openpractice.healthcode.models import ApiExchange

PAGE_SIZE = 50


def exchanges(*, practice, failures_only: bool = False, endpoint: str = "", query: str = "") -> QuerySet[ApiExchange]:
    """The practice's requests to the clearing house, newest first. A failure is no reply, a
    network error or a status of 400 and over."""
    found = ApiExchange.objects.for_practice(practice).defer("request_body", "response_body", "request_headers")
    if failures_only:
        found = found.filter(Q(status_code__isnull=True) | Q(status_code__gte=400) | ~Q(error=""))
    if endpoint:
        found = found.filter(endpoint=endpoint)
    if query:
        # Invoice numbers, bill ids and idempotency keys appear in the URL or the bodies.
        found = found.filter(Q(url__icontains=query) | Q(request_body__icontains=query)
                             | Q(response_body__icontains=query))
    return found.order_by("-at", "-id")


def endpoints(*, practice) -> list[str]:
    return list(ApiExchange.objects.for_practice(practice).order_by("endpoint")
                .values_list("endpoint", flat=True).distinct())


def pretty(body: str) -> str:
    """A JSON body indented for reading; anything else as it came."""
    try:
        return json.dumps(json.loads(body), indent=2, ensure_ascii=False)
    except (TypeError, ValueError):
        return body
