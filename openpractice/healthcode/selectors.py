"""Reads for Healthcode's pages: the exchange log, an invoice's submissions, bulk runs, the
"Not ready to submit" view and its count (from the stored checks, stored_checks.py)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import json
import re

from django.db import connections
from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils import timezone

from openpractice.billing.models import Invoice
from openpractice.db import rows
from openpractice.healthcode import stored_checks
from openpractice.healthcode.models import (
    ApiExchange,
    InvoiceCheck,
    InvoiceCheckProblem,
    Submission,
    SubmissionEvent,
    SubmissionState,
)

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


def submissions_with_events(*, practice, invoice) -> list[Submission]:
    """submissions_of as the invoice page's Healthcode panel shows them (newest first, each with
    its events in order), read by hand (openpractice.db.rows): the panel asks on every view of an
    insurer's invoice, mostly to find none, and the ORM took over 1 ms to build the statement
    (issue 18). The events are read only when there are submissions; what each replaces is not
    joined (the panel does not show it; it is read if asked)."""
    sql = _statements(connections["default"].vendor)
    submissions = [s for (s,) in rows.every(sql["submissions"], [practice.pk, invoice.pk], Submission)]
    if not submissions:
        return submissions
    events: dict[int, list[SubmissionEvent]] = {s.pk: [] for s in submissions}
    for (event,) in rows.every(sql["events"], [practice.pk, invoice.pk], SubmissionEvent):
        events[event.submission_id].append(event)
    for submission in submissions:
        rows.prefetched(submission, "events", events[submission.pk])
    return submissions


@functools.cache
def _statements(vendor: str) -> dict[str, str]:
    """submissions_with_events' statements, built once per database vendor (the quoting differs)."""
    submissions, events = rows.table(Submission), rows.table(SubmissionEvent)
    return {
        "submissions": (
            f"SELECT {rows.columns(Submission, 's')} FROM {submissions} s "
            "WHERE s.practice_id = %s AND s.invoice_id = %s ORDER BY s.version DESC"
        ),
        "events": (
            f"SELECT {rows.columns(SubmissionEvent, 'e')} FROM {events} e "
            f"JOIN {submissions} s ON s.id = e.submission_id "
            "WHERE s.practice_id = %s AND s.invoice_id = %s ORDER BY e.at, e.id"
        ),
    }


def not_ready_candidates(*, practice, practitioner_id: int | None = None) -> QuerySet:
    """What could go to Healthcode now (insurer invoices not sent, or failed); one practitioner's when given."""
    return stored_checks.candidates(practice=practice, practitioner_id=practitioner_id)


def _not_ready_checks(*, practice, practitioner_id: int | None = None) -> QuerySet[InvoiceCheck]:
    """Stored checks that failed and still hold, of bills that could go to Healthcode now. A stale
    check is left out: it is being checked again (stored_checks.pending), and the page says how many."""
    checks = InvoiceCheck.objects.filter(stored_checks.CANDIDATE_CHECK, practice=practice, passed=False, stale=False)
    return checks.filter(invoice__practitioner_id=practitioner_id) if practitioner_id else checks


class BadCursor(ValueError):
    """A "Not ready" page link that names no page: the first page is shown instead, saying so."""


_CURSOR = re.compile(r"^(\d{4}-\d{2}-\d{2})\.(\d{1,18})$")


def parse_cursor(text: str | None) -> tuple[dt.date, int] | None:
    """`YYYY-MM-DD.id`, the last bill of the page before: (date, id); None for the first page."""
    if not text:
        return None
    found = _CURSOR.match(text.strip())
    if found is None:
        raise BadCursor(text)
    try:
        return dt.date.fromisoformat(found[1]), int(found[2])
    except ValueError:
        raise BadCursor(text) from None


def cursor_of(check: InvoiceCheck) -> str:
    return f"{check.invoice_date.isoformat()}.{check.invoice_id}"


@dataclasses.dataclass
class NotReadyRow:
    invoice: Invoice
    problems: list[InvoiceCheckProblem]  # every blocking problem, in the check's order

    @property
    def errors(self) -> list[InvoiceCheckProblem]:
        return self.problems


@dataclasses.dataclass
class NotReadyPage:
    rows: list[NotReadyRow]
    next_cursor: str  # "" on the last page
    count: int  # every bill not ready (checked and still true), not only this page's


# What a row of the view shows (healthcode/_not_ready.html and the insurer's fix link): these
# columns alone, not the whole invoice, patient and contact (issue 18: building 50 bills' full
# rows took more than the page's SQL).
NOT_READY_FIELDS = (
    "invoice_id",
    "invoice_date",
    "invoice__id",
    "invoice__practice_id",
    "invoice__number",
    "invoice__invoice_date",
    "invoice__bill_to",
    "invoice__total",
    "invoice__healthcode_status",
    "invoice__patient__id",
    "invoice__patient__first_name",
    "invoice__patient__last_name",
    "invoice__insurer_contact__id",
    "invoice__insurer_contact__name",
    "invoice__insurer_contact__insurer_id",
)


def not_ready_page(
    *, practice, practitioner_id: int | None = None, after: tuple[dt.date, int] | None = None, limit: int = PAGE_SIZE
) -> NotReadyPage:
    """The "Not ready to submit" view, newest first, `limit` bills after the cursor, each with its
    reasons: three queries whatever the number of bills (the page with its invoices, the problems
    of the page, the count)."""
    checks = _not_ready_checks(practice=practice, practitioner_id=practitioner_id)
    page = checks
    if after is not None:
        day, invoice_id = after
        # The leading <= gives the database a range start on the index (invoice_check_not_ready).
        page = page.filter(
            Q(invoice_date__lte=day) & (Q(invoice_date__lt=day) | Q(invoice_date=day, invoice_id__lt=invoice_id))
        )
    found = list(
        page.select_related("invoice__patient", "invoice__insurer_contact")
        .only(*NOT_READY_FIELDS)
        .prefetch_related(
            Prefetch("problems", queryset=InvoiceCheckProblem.objects.filter(blocks=True).order_by("position"))
        )
        .order_by("-invoice_date", "-invoice_id")[: limit + 1]
    )
    shown = found[:limit]
    return NotReadyPage(
        rows=[NotReadyRow(invoice=check.invoice, problems=list(check.problems.all())) for check in shown],
        next_cursor=cursor_of(shown[-1]) if len(found) > limit else "",
        count=checks.count(),
    )


@dataclasses.dataclass
class NotReady:
    """How many bills fail the pre-submission check, and the commonest reasons (field, words, bills)."""

    count: int
    reasons: list[tuple[str, str, int]]


def not_ready_summary(*, practice, practitioner_id: int | None = None, reasons: int = 3) -> NotReady:
    """The "Not ready to submit" view counted, with why, from the stored checks: each blocking
    problem counted once per bill, by its field and words. Two queries whatever the number of bills."""
    checks = _not_ready_checks(practice=practice, practitioner_id=practitioner_id)
    why = (
        InvoiceCheckProblem.objects.filter(stored_check__in=checks, blocks=True)
        .values_list("field", "message")
        .annotate(bills=Count("stored_check", distinct=True))
        .order_by("-bills", "field", "message")[:reasons]
    )
    return NotReady(count=checks.count(), reasons=[(field, message, n) for field, message, n in why])


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
