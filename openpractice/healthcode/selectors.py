"""Reads for Healthcode's pages: the exchange log, an invoice's submissions, bulk runs."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections import Counter

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from openpractice.billing import selectors as billing_selectors
from openpractice.healthcode.checking import CheckResult, check_invoices
from openpractice.healthcode.models import ApiExchange, Submission, SubmissionState

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
        found = found.filter(
            Q(url__icontains=query) | Q(request_body__icontains=query) | Q(response_body__icontains=query)
        )
    return found.order_by("-at", "-id")


def endpoints(*, practice) -> list[str]:
    return list(
        ApiExchange.objects.for_practice(practice).order_by("endpoint").values_list("endpoint", flat=True).distinct()
    )


def pretty(body: str) -> str:
    """A JSON body indented for reading; anything else as it came."""
    try:
        return json.dumps(json.loads(body), indent=2, ensure_ascii=False)
    except (TypeError, ValueError):
        return body


def submissions_of(*, practice, invoice) -> QuerySet[Submission]:
    """An invoice's versions sent to Healthcode, newest first, each with its events."""
    return (
        Submission.objects.for_practice(practice)
        .filter(invoice=invoice)
        .select_related("replaces")
        .prefetch_related("events")
        .order_by("-version")
    )


def not_ready_candidates(*, practice, practitioner_id: int | None = None) -> QuerySet:
    """What could go to Healthcode now (insurer invoices not sent, or failed); one practitioner's when given."""
    candidates = billing_selectors.submittable_candidates(practice=practice)
    return candidates.filter(practitioner_id=practitioner_id) if practitioner_id else candidates


def not_ready(*, practice, limit: int = 500, practitioner_id: int | None = None) -> list[tuple]:
    """(invoice, CheckResult) for the insurer invoices that could go to Healthcode now but fail the
    pre-submission check: the list's "Not ready to submit" view (of the first `limit` candidates)."""
    candidates = not_ready_candidates(practice=practice, practitioner_id=practitioner_id)
    results: dict[int, CheckResult] = check_invoices(practice=practice, queryset=candidates)
    return [(invoice, results[invoice.pk]) for invoice in candidates[:limit] if not results[invoice.pk].passed]


@dataclasses.dataclass
class NotReady:
    """How many bills fail the pre-submission check, and the commonest reasons (field, words, bills)."""

    count: int
    reasons: list[tuple[str, str, int]]


def not_ready_summary(*, practice, practitioner_id: int | None = None, reasons: int = 3) -> NotReady:
    """The "Not ready to submit" view counted, with why: the check run over every candidate (a
    handful of queries however many bills, checking.check_invoices) and each blocking problem
    counted once per bill, by its field and words."""
    candidates = not_ready_candidates(practice=practice, practitioner_id=practitioner_id)
    results = check_invoices(practice=practice, queryset=candidates)
    failing = [result for result in results.values() if not result.passed]
    why: Counter[tuple[str, str]] = Counter()
    for result in failing:
        why.update({(problem.field, problem.error) for problem in result.errors})
    top = sorted(why.items(), key=lambda item: (-item[1], item[0]))[:reasons]
    return NotReady(count=len(failing), reasons=[(field, error, n) for (field, error), n in top])


# A bulk run whose queueing made no progress for this long, unfinished, was cut short (a crash).
BULK_STALLED_AFTER_SECONDS = 60


def bulk_progress(*, bulk, now=None) -> dict:
    """Where every invoice of a bulk run is, derived from its items and the submissions of the run:
    in flight (queued or sending), answered (accepted or refused), held back with why (check or
    guard), or never queued (the queueing was cut short). `finished` only when nothing is in flight
    or waiting to be queued, so a run stopped half-way never reads as done."""
    now = now or timezone.now()
    subs = Submission.objects.filter(bulk=bulk)
    by_state = dict(subs.values_list("state").annotate(n=Count("id")).order_by())
    sent_ids = subs.values("invoice_id")
    items = bulk.items.count()
    with_submission = bulk.items.filter(invoice_id__in=sent_ids).count()
    held = bulk.items.exclude(invoice_id__in=sent_ids).exclude(why="").count()
    never = items - with_submission - held
    unknown = sum(1 for s in bulk.skipped if s.get("why") == "No such invoice in this practice.")
    accepted, rejected = by_state.get(SubmissionState.ACCEPTED, 0), by_state.get(SubmissionState.REJECTED, 0)
    in_flight = by_state.get(SubmissionState.QUEUED, 0) + by_state.get(SubmissionState.SENDING, 0)
    seen = bulk.queueing_seen_at or bulk.created_at
    queueing = bulk.queueing_finished_at is None and seen > now - dt.timedelta(seconds=BULK_STALLED_AFTER_SECONDS)
    to_send = items - held  # never-queued invoices count: they are still to be sent
    done = accepted + rejected
    return {
        "requested": bulk.requested,
        "to_send": to_send,
        "done": done,
        "accepted": accepted,
        "rejected": rejected,
        "queued": by_state.get(SubmissionState.QUEUED, 0),
        "sending": by_state.get(SubmissionState.SENDING, 0),
        "in_flight": in_flight,
        "held": held + unknown,
        "never_queued": never,
        "queueing": queueing,
        "stopped": never > 0 and not queueing,
        "finished": not queueing and never == 0 and in_flight == 0,
        "percent": int(100 * done / to_send) if to_send else 100,
        "by_status": dict(
            subs.filter(state=SubmissionState.ACCEPTED)
            .values_list("healthcode_status")
            .annotate(n=Count("id"))
            .order_by()
        ),
    }


def never_queued_items(*, bulk, limit: int = 100):
    """The run's invoices that have no submission of the run and no reason to be held back."""
    return (
        bulk.items.exclude(invoice_id__in=Submission.objects.filter(bulk=bulk).values("invoice_id"))
        .filter(why="")
        .select_related("invoice__patient")
        .order_by("invoice_id")[:limit]
    )
