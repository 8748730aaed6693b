"""Reads across the practices of a bureau: who works where (the workspace) and the combined queue.

Every read here takes the practice ids the signed-in person may see for that kind of row
(`Workspace.practice_ids(capability)`: their active memberships in their bureau's practices
whose role has the capability) and filters by them; a filter by practice only narrows that list,
never widens it. Each kind of row is one keyset-paged query whatever the number of practices, so
the combined page costs the same for 2 practices or 50 (tests/test_pages_fixed_queries.py).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.db.models import (
    Count,
    DecimalField,
    F,
    Max,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
)
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone

from openpractice.billing.models import BALANCE, OWES, BillTo, HealthcodeStatus, Invoice, RecordStatus
from openpractice.billing.selectors import AGE_BUCKETS, count_up_to
from openpractice.bureaus.models import Bureau, BureauRun, BureauStaff
from openpractice.coding.models import Insurer
from openpractice.healthcode import selectors as healthcode_selectors
from openpractice.healthcode import stored_checks
from openpractice.healthcode.models import InvoiceCheck, InvoiceCheckProblem
from openpractice.practices.models import Membership, Practice
from openpractice.practices.roles import Capability, Role
from openpractice.receivables.models import AccountActivity, ActivityKind
from openpractice.remittances.models import LineStatus, RemittanceLine
from openpractice.reports import consultant
from openpractice.reports.consultant_models import ConsultantReport
from openpractice.reports.selectors import BUCKETS, PayerDebt, owed_by_practice

PAGE_SIZE = 50
COUNT_CAP = 1000  # each tab says how many up to here ("1,000+"): a capped count reads at most this many
ZERO = Decimal("0.00")
PENNY = Decimal("0.01")
MONEY: DecimalField = DecimalField(max_digits=14, decimal_places=2)
DUE_ON = Coalesce(F("due_date"), F("invoice_date"))


# -- who works where ------------------------------------------------------------------------------
def staff_of(*, user) -> BureauStaff | None:
    """The user's place in a bureau (the first, by the bureau's name), or None: one query."""
    if not getattr(user, "is_authenticated", False):
        return None
    return (
        BureauStaff.objects.filter(user=user, is_active=True).select_related("bureau").order_by("bureau__name").first()
    )


@dataclasses.dataclass
class Workspace:
    bureau: Bureau | None
    memberships: list[Membership]  # active, in the bureau's practices, by practice name

    def practice_ids(self, capability: str = Capability.VIEW_RECORDS) -> list[int]:
        return [m.practice_id for m in self.memberships if m.can(capability)]

    def practices(self, capability: str = Capability.VIEW_RECORDS) -> list[Practice]:
        return [m.practice for m in self.memberships if m.can(capability)]

    def membership_in(self, practice_id) -> Membership | None:
        return next((m for m in self.memberships if str(m.practice_id) == str(practice_id)), None)

    def can(self, capability: str) -> bool:
        return bool(self.practice_ids(capability))

    @functools.cached_property
    def names(self) -> dict[int, str]:
        return {m.practice_id: m.practice.name for m in self.memberships}


def workspace(*, user, staff: BureauStaff | None = None, only_practice_id: int | None = None) -> Workspace:
    """The bureau's practices the user is an active member of (one query). `only_practice_id`
    narrows it to one practice (an API token is bound to one practice, and sees only that one)."""
    staff = staff if staff is not None else staff_of(user=user)
    if staff is None:
        return Workspace(bureau=None, memberships=[])
    found = Membership.objects.filter(
        user=user,
        is_active=True,
        user__is_active=True,
        practice__bureau_link__bureau_id=staff.bureau_id,
    )
    if only_practice_id is not None:
        found = found.filter(practice_id=only_practice_id)
    return Workspace(bureau=staff.bureau, memberships=list(found.select_related("practice").order_by("practice__name")))


# -- the combined queue ---------------------------------------------------------------------------
class Kind:
    FAILED = "failed"
    NOT_READY = "not_ready"
    READY = "ready"
    REMITTANCES = "remittances"
    DEBTS = "debts"

    LABELS = {
        FAILED: "Failed bills",
        NOT_READY: "Not ready to submit",
        READY: "Ready to submit",
        REMITTANCES: "Remittance lines to review",
        DEBTS: "Patient debts to chase",
    }
    # What a member's role must allow for their practice's rows of this kind to be listed.
    CAPABILITY = {
        FAILED: Capability.BILLING,
        NOT_READY: Capability.BILLING,
        READY: Capability.BILLING,
        REMITTANCES: Capability.BILLING,
        DEBTS: Capability.MANAGE_COLLECTIONS,
    }
    ALL = (FAILED, NOT_READY, READY, REMITTANCES, DEBTS)
    SELECTABLE = (FAILED, READY)  # rows that can be ticked and submitted in one action
    INSURER_FILTERED = (FAILED, NOT_READY, READY, REMITTANCES)  # patient debts have no insurer


@dataclasses.dataclass(frozen=True)
class Filters:
    practice_id: int | None = None
    insurer: str = ""  # a Healthcode insurer identifier ("bup"): the same insurer in every practice
    age: str = ""  # a key of billing.selectors.AGE_BUCKETS

    def practice_ids(self, allowed: list[int]) -> list[int]:
        """The practices to read: the allowed ones, or the one asked for if it is allowed."""
        if self.practice_id is None:
            return allowed
        return [self.practice_id] if self.practice_id in allowed else []


def as_int(value) -> int | None:
    text = (value or "").strip()
    return int(text) if text.isdigit() and len(text) < 18 else None


def filters_from(data) -> Filters:
    """The queue's filters from a query string; anything unknown is left out (never an error)."""
    insurer = (data.get("insurer") or "").strip()[:10]
    age = data.get("age") or ""
    return Filters(practice_id=as_int(data.get("practice")), insurer=insurer, age=age if age in AGE_BUCKETS else "")


@dataclasses.dataclass
class Row:
    kind: str
    key: int  # the invoice id (bills, debts) or the remittance line id
    practice_id: int
    practice: str
    reference: str  # invoice number, or the remittance's payment reference
    who: str  # the patient (or, for a remittance line, the patient as the insurer names them)
    insurer: str
    on: dt.date | None  # invoice date, date due (debts), payment date (remittances)
    amount: Decimal
    detail: str  # why it is here
    path: str  # the row's page in its practice

    @property
    def selectable(self) -> bool:
        return self.kind in Kind.SELECTABLE


@dataclasses.dataclass
class QueuePage:
    kind: str
    rows: list[Row]
    next_cursor: str  # "" on the last page
    bad_cursor: bool  # the address named no page: the first page is shown


class BadCursor(ValueError):
    pass


_DATE_CURSOR = re.compile(r"^(\d{4}-\d{2}-\d{2})\.(\d{1,18})$")


def _date_cursor(text: str) -> tuple[dt.date, int]:
    found = _DATE_CURSOR.match(text.strip())
    if found is None:
        raise BadCursor(text)
    try:
        return dt.date.fromisoformat(found[1]), int(found[2])
    except ValueError:
        raise BadCursor(text) from None


def _id_cursor(text: str) -> int:
    if not text.strip().isdigit() or len(text.strip()) > 18:
        raise BadCursor(text)
    return int(text)


def _age_range(field: str, age: str, today: dt.date) -> Q:
    """Rows whose `field` date is in the age band (the invoice list's bands)."""
    if age not in AGE_BUCKETS:
        return Q()
    low, high = AGE_BUCKETS[age]
    condition = Q()
    if low:
        condition &= Q(**{f"{field}__lte": today - dt.timedelta(days=low)})
    if high is not None:
        condition &= Q(**{f"{field}__gte": today - dt.timedelta(days=high)})
    return condition


def _pounds(value) -> Decimal:
    return Decimal(str(value if value is not None else 0)).quantize(PENNY)


def _invoices(ids: list[int], filters: Filters, today: dt.date) -> QuerySet[Invoice]:
    qs = Invoice.objects.filter(practice_id__in=ids).select_related("practice", "patient", "insurer_contact")
    if filters.insurer:
        qs = qs.filter(insurer_contact__insurer__healthcode_identifier=filters.insurer)
    return qs.filter(_age_range("invoice_date", filters.age, today))


def _older_than(day: dt.date, pk: int, date_field: str = "invoice_date", id_field: str = "id") -> Q:
    return Q(**{f"{date_field}__lte": day}) & (
        Q(**{f"{date_field}__lt": day}) | Q(**{date_field: day, f"{id_field}__lt": pk})
    )


def _bill_row(kind: str, invoice: Invoice, detail: str) -> Row:
    return Row(
        kind=kind,
        key=invoice.pk,
        practice_id=invoice.practice_id,
        practice=invoice.practice.name,
        reference=invoice.number or "Draft",  # a draft has no number yet
        who=f"{invoice.patient.first_name} {invoice.patient.last_name}",
        insurer=invoice.insurer_contact.name if invoice.insurer_contact else "",
        on=invoice.invoice_date,
        amount=invoice.total,
        detail=detail,
        path=reverse("billing:detail", args=[invoice.pk]),
    )


# Each kind: the rows it lists (a queryset over the practices given), and how to page and show them.
def _failed(ids, filters, today) -> QuerySet:
    return (
        _invoices(ids, filters, today)
        .filter(healthcode_status=HealthcodeStatus.FAILED)
        .exclude(record_status=RecordStatus.VOID)
    )


def _checks(ids, filters, today, *, passed: bool) -> QuerySet:
    qs = InvoiceCheck.objects.filter(stored_checks.CANDIDATE_CHECK, practice_id__in=ids, passed=passed, stale=False)
    if filters.insurer:
        qs = qs.filter(invoice__insurer_contact__insurer__healthcode_identifier=filters.insurer)
    return qs.filter(_age_range("invoice_date", filters.age, today))


def _remittance_lines(ids, filters, today) -> QuerySet:
    qs = RemittanceLine.objects.filter(practice_id__in=ids, status=LineStatus.REVIEW)
    if filters.insurer:
        qs = qs.filter(batch__insurer_identifier=filters.insurer)
    return qs.filter(_age_range("batch__payment_date", filters.age, today))


def _debts(ids, filters, today) -> QuerySet:
    qs = (
        Invoice.objects.filter(practice_id__in=ids, bill_to=BillTo.PATIENT, record_status=RecordStatus.ISSUED)
        .filter(OWES)
        .alias(due_on=DUE_ON)
    )
    return qs.filter(_age_range("due_on", filters.age, today))


def _rows_of(kind: str, ids: list[int], filters: Filters, today: dt.date) -> QuerySet:
    if kind == Kind.FAILED:
        return _failed(ids, filters, today)
    if kind in (Kind.NOT_READY, Kind.READY):
        return _checks(ids, filters, today, passed=kind == Kind.READY)
    if kind == Kind.REMITTANCES:
        return _remittance_lines(ids, filters, today)
    return _debts(ids, filters, today)


def queue_page(
    *,
    space: Workspace,
    kind: str,
    filters: Filters | None = None,
    after: str = "",
    limit: int = PAGE_SIZE,
    today: dt.date | None = None,
) -> QueuePage:
    """One page of one kind of row across the practices where the user may see that kind: newest
    first (oldest due first for debts), `limit` rows after the cursor. One query (two for "not
    ready", whose reasons come with it) whatever the number of practices or rows."""
    kind = kind if kind in Kind.ALL else Kind.FAILED
    filters = filters or Filters()
    today = today or timezone.localdate()
    ids = filters.practice_ids(space.practice_ids(Kind.CAPABILITY[kind]))
    if not ids:
        return QueuePage(kind=kind, rows=[], next_cursor="", bad_cursor=False)
    qs = _rows_of(kind, ids, filters, today)
    bad = False
    try:
        cursor: Any = None
        if after:
            cursor = _id_cursor(after) if kind == Kind.REMITTANCES else _date_cursor(after)
    except BadCursor:
        bad, cursor = True, None
    build, next_of = _PAGERS[kind]
    found = build(qs, cursor, limit + 1)
    shown = found[:limit]
    return QueuePage(
        kind=kind,
        rows=[_ROWS[kind](item) for item in shown],
        next_cursor=next_of(shown[-1]) if len(found) > limit else "",
        bad_cursor=bad,
    )


def _page_failed(qs, cursor, n):
    """The page's ids first (the status index, newest first), then their rows: joined before the
    limit, PostgreSQL hashed every patient to sort 5,000 failed bills of 50 practices (70 ms)."""
    if cursor:
        qs = qs.filter(_older_than(*cursor))
    order = ("-invoice_date", "-id")
    page = qs.order_by(*order).values("pk")[:n]
    return list(
        Invoice.objects.filter(pk__in=Subquery(page))
        .select_related("practice", "patient", "insurer_contact")
        .order_by(*order)
    )


def _page_checks(qs, cursor, n):
    if cursor:
        qs = qs.filter(_older_than(*cursor, id_field="invoice_id"))
    return list(
        qs.select_related("invoice__practice", "invoice__patient", "invoice__insurer_contact")
        .prefetch_related(Prefetch("problems", queryset=InvoiceCheckProblem.objects.order_by("position")))
        .order_by("-invoice_date", "-invoice_id")[:n]
    )


def _page_lines(qs, cursor, n):
    if cursor:
        qs = qs.filter(id__lt=cursor)
    return list(qs.select_related("batch", "practice").order_by("-id")[:n])


def _page_debts(qs, cursor, n):
    if cursor:
        day, pk = cursor
        qs = qs.filter(Q(due_on__gte=day) & (Q(due_on__gt=day) | Q(due_on=day, id__gt=pk)))
    last_chase = AccountActivity.objects.filter(invoice=OuterRef("pk"), kind=ActivityKind.CHASE_SENT)
    return list(
        qs.select_related("practice", "patient")
        .annotate(
            due=DUE_ON,
            open_balance=BALANCE,
            last_chased=Subquery(last_chase.values("invoice").annotate(m=Max("on_date")).values("m")[:1]),
        )
        .order_by("due_on", "id")[:n]
    )


def _check_row(check: InvoiceCheck) -> Row:
    problems = list(check.problems.all())
    if check.passed:
        detail = "Passed the pre-submission check"
    else:
        detail = "; ".join(f"{p.field}: {p.message}" for p in problems[:2]) + (
            f" (and {len(problems) - 2} more)" if len(problems) > 2 else ""
        )
    return _bill_row(Kind.READY if check.passed else Kind.NOT_READY, check.invoice, detail)


def _line_row(line: RemittanceLine) -> Row:
    return Row(
        kind=Kind.REMITTANCES,
        key=line.pk,
        practice_id=line.practice_id,
        practice=line.practice.name,
        reference=line.batch.payment_reference or line.batch.external_id,
        who=line.patient_name,
        insurer=line.batch.insurer_name or line.batch.insurer_identifier,
        on=line.batch.payment_date,
        amount=line.amount_paid,
        detail=line.problem or "Not matched to an invoice",
        path=reverse("remittances:review"),
    )


def _debt_row(invoice: Any) -> Row:
    overdue = max((timezone.localdate() - invoice.due).days, 0)
    chased = f"; last chased {invoice.last_chased:%-d %b %Y}" if invoice.last_chased else "; not chased yet"
    return Row(
        kind=Kind.DEBTS,
        key=invoice.pk,
        practice_id=invoice.practice_id,
        practice=invoice.practice.name,
        reference=invoice.display_number,
        who=f"{invoice.patient.first_name} {invoice.patient.last_name}",
        insurer="",
        on=invoice.due,
        amount=_pounds(invoice.open_balance),
        detail=(f"{overdue} days overdue" if overdue else "Not yet due") + chased,
        path=reverse("receivables:debt", args=[invoice.pk]),
    )


_PAGERS: dict[str, tuple[Callable, Callable]] = {
    Kind.FAILED: (_page_failed, lambda i: f"{i.invoice_date.isoformat()}.{i.pk}"),
    Kind.NOT_READY: (_page_checks, lambda c: f"{c.invoice_date.isoformat()}.{c.invoice_id}"),
    Kind.READY: (_page_checks, lambda c: f"{c.invoice_date.isoformat()}.{c.invoice_id}"),
    Kind.REMITTANCES: (_page_lines, lambda line: str(line.pk)),
    Kind.DEBTS: (_page_debts, lambda i: f"{i.due.isoformat()}.{i.pk}"),
}
_ROWS: dict[str, Callable[[Any], Row]] = {
    Kind.FAILED: lambda i: _bill_row(Kind.FAILED, i, "Healthcode asks for a correction: fix and resubmit"),
    Kind.NOT_READY: _check_row,
    Kind.READY: _check_row,
    Kind.REMITTANCES: _line_row,
    Kind.DEBTS: _debt_row,
}


def counts(*, space: Workspace, filters: Filters | None = None, today: dt.date | None = None) -> dict[str, int]:
    """How many rows of each kind (each capped at COUNT_CAP + 1): one query per kind."""
    filters = filters or Filters()
    today = today or timezone.localdate()
    found = {}
    for kind in Kind.ALL:
        ids = filters.practice_ids(space.practice_ids(Kind.CAPABILITY[kind]))
        found[kind] = count_up_to(_rows_of(kind, ids, filters, today), COUNT_CAP) if ids else 0
    return found


# -- aged debt, per practice ----------------------------------------------------------------------
@dataclasses.dataclass
class DebtLine:
    practice_id: int
    practice: str
    buckets: list[Decimal]  # BUCKETS' bands
    total: Decimal
    invoices: int


@dataclasses.dataclass
class AgedDebt:
    rows: list[DebtLine]
    totals: list[Decimal]
    total: Decimal
    counted_at: dt.datetime | None = None  # a kept count's time (None: counted just now)
    bands: tuple[str, ...] = BUCKETS


def aged_debt(*, space: Workspace, filters: Filters | None = None, today: dt.date | None = None) -> AgedDebt:
    """What each practice is owed, by age since the invoice date (the aged-debt report's bands and
    balance), counted afresh: one grouped query over every practice (reports.owed_by_practice).
    With an insurer filter, that insurer's bills. The combined page reads the kept count instead
    (debt_summaries, through services.aged_debt_for)."""
    filters = filters or Filters()
    today = today or timezone.localdate()
    ids = filters.practice_ids(space.practice_ids(Capability.VIEW_RECORDS))
    return aged_debt_of(space=space, debts=owed_by_practice(practice_ids=ids, today=today), filters=filters)


def aged_debt_of(
    *, space: Workspace, debts: list[PayerDebt], filters: Filters, counted_at: dt.datetime | None = None
) -> AgedDebt:
    """Each practice's line (largest debt first) and the totals, from its payers' debts, counted
    afresh or kept. With an insurer filter, only that insurer's bills count."""
    lines: dict[int, DebtLine] = {}
    names = space.names
    for debt in debts:
        if filters.insurer and not (debt.bill_to == BillTo.INSURER and debt.insurer == filters.insurer):
            continue
        line = lines.setdefault(
            debt.practice_id,
            DebtLine(debt.practice_id, names.get(debt.practice_id, ""), [ZERO] * len(BUCKETS), ZERO, 0),
        )
        line.buckets = [a + _pounds(b) for a, b in zip(line.buckets, debt.bands, strict=True)]
        line.invoices += debt.invoices
    rows = [line for line in lines.values() if line.invoices]
    for line in rows:
        line.total = sum(line.buckets, ZERO)
    rows.sort(key=lambda r: (-r.total, r.practice))
    totals = [sum((r.buckets[i] for r in rows), ZERO) for i in range(len(BUCKETS))]
    return AgedDebt(rows=rows, totals=totals, total=sum(totals, ZERO), counted_at=counted_at)


def insurer_choices() -> list[tuple[str, str]]:
    """The published insurer directory (the same identifiers in every practice): one query."""
    return list(
        Insurer.objects.filter(practice__isnull=True)
        .exclude(healthcode_identifier="")
        .order_by("name")
        .values_list("healthcode_identifier", "name")
    )


# -- bulk actions ---------------------------------------------------------------------------------
def chosen_bills(*, space: Workspace, invoice_ids: list[int]) -> QuerySet[Invoice]:
    """The ticked bills that are in practices where the user may bill: others are not found."""
    return Invoice.objects.filter(pk__in=invoice_ids, practice_id__in=space.practice_ids(Capability.BILLING))


def totals_by_practice(bills: QuerySet[Invoice]) -> dict:
    """How many bills and how much, per practice and in all: what the confirmation shows."""
    rows = list(
        bills.order_by()
        .values("practice_id", "practice__name")
        .annotate(count=Count("pk"), amount=Sum("total"))
        .order_by("practice__name")
    )
    return {
        "rows": [{"practice": r["practice__name"], "count": r["count"], "amount": _pounds(r["amount"])} for r in rows],
        "count": sum(r["count"] for r in rows),
        "amount": sum((_pounds(r["amount"]) for r in rows), ZERO),
    }


def run(*, space: Workspace, run_id) -> BureauRun | None:
    """A run of the user's bureau; None for another bureau's (the view answers 404)."""
    if space.bureau is None:
        return None
    try:
        return BureauRun.objects.filter(bureau=space.bureau).get(pk=run_id)
    except (BureauRun.DoesNotExist, ValueError, TypeError):
        return None


def recent_runs(*, space: Workspace, limit: int = 5) -> list[BureauRun]:
    if space.bureau is None:
        return []
    return list(BureauRun.objects.filter(bureau=space.bureau).select_related("created_by")[:limit])


@dataclasses.dataclass
class RunPart:
    practice_id: int
    practice: str
    progress: dict | None  # a submission: healthcode.selectors.bulk_progress
    not_sent: list[dict]  # a submission: [{invoice_id, number, why}]
    fetch: Any = None  # a remittance fetch: its remittances.FetchRun


def run_parts(*, space: Workspace, run: BureauRun) -> list[RunPart]:
    """Each practice's part of a run, for the practices the user may still bill in (a membership
    ended since is no longer shown). A few queries per practice: a run page, not a list."""
    allowed = set(space.practice_ids(Capability.BILLING))
    names = space.names
    parts = []
    if run.kind == "submission":
        for bulk in run.submissions.filter(practice_id__in=allowed).order_by("practice__name"):
            parts.append(
                RunPart(
                    practice_id=bulk.practice_id,
                    practice=names[bulk.practice_id],
                    progress=healthcode_selectors.bulk_progress(bulk=bulk),
                    not_sent=list(bulk.skipped),
                )
            )
    else:
        for fetch in run.fetches.filter(practice_id__in=allowed).order_by("practice__name"):
            parts.append(RunPart(fetch.practice_id, names[fetch.practice_id], None, [], fetch))
    return parts


def run_skipped(*, space: Workspace, run: BureauRun) -> list[dict]:
    allowed = set(space.practice_ids(Capability.BILLING))
    return [s for s in run.skipped if s.get("practice_id") in allowed]


def rechecks_pending(*, space: Workspace, today: dt.date | None = None) -> dict[int, int]:
    """Bills waiting to be checked again (stale, or at their recheck day), per practice where the
    user may bill: one grouped query on the checks' own indexes. They are in neither "Ready" nor
    "Not ready" until checked; the page says so and queues their practice's recheck."""
    ids = space.practice_ids(Capability.BILLING)
    if not ids:
        return {}
    today = today or timezone.localdate()
    found = (
        InvoiceCheck.objects.filter(stored_checks.CANDIDATE_CHECK, practice_id__in=ids)
        .filter(Q(stale=True) | Q(recheck_on__lte=today))
        .order_by()
        .values("practice_id")
        .annotate(n=Count("pk"))
    )
    return {row["practice_id"]: row["n"] for row in found}


# -- the practices panel --------------------------------------------------------------------------
@dataclasses.dataclass
class ReportState:
    month: dt.date
    generated_at: dt.datetime | None  # saved (None: not saved yet)
    sent_at: dt.datetime | None

    @property
    def status(self) -> str:
        if self.sent_at:
            return "sent"
        return "saved" if self.generated_at else "not saved"


@dataclasses.dataclass
class PracticeLine:
    practice_id: int
    practice: str
    consultant: str  # the practice's practitioner (else its owner), not the bureau's own people
    this_month: ReportState
    last_month: ReportState

    @property
    def report_states(self) -> tuple[ReportState, ReportState]:
        return self.last_month, self.this_month

    @property
    def report_path(self) -> str:
        """Last month's report: the latest month with all its figures."""
        return f"{reverse('reports:consultant')}?month={self.last_month.month:%Y-%m}"


def practices_panel(*, space: Workspace, user, today: dt.date | None = None) -> list[PracticeLine]:
    """Each practice of the person's bureau, its consultant, and this month's and last month's
    report: two queries (the reports of every practice, the consultants of every practice)."""
    ids = space.practice_ids(Capability.VIEW_RECORDS)
    if not ids:
        return []
    this = consultant.month_start(today or timezone.localdate())
    last = consultant.previous_month(this)
    saved = {
        (r["practice_id"], r["month"]): r
        for r in ConsultantReport.objects.filter(practice_id__in=ids, month__in=[this, last]).values(
            "practice_id", "month", "generated_at", "sent_at"
        )
    }
    people: dict[int, str] = {}
    # a practitioner names the consultant before an owner does (a bureau's onboarding makes the
    # bureau's own user the owner and invites the consultant as practitioner)
    for m in (
        Membership.objects.filter(practice_id__in=ids, is_active=True, role__in=[Role.PRACTITIONER, Role.OWNER])
        .exclude(user_id=user.pk)
        .exclude(user__bureau_staff__bureau_id=space.bureau.pk if space.bureau else None)
        .select_related("user")
        .order_by("practice_id", "-role", "pk")  # "practitioner" sorts after "owner": first when descending
    ):
        people.setdefault(m.practice_id, m.user.full_name or m.user.email)

    def state(practice_id: int, month: dt.date) -> ReportState:
        found = saved.get((practice_id, month)) or {}
        return ReportState(month, found.get("generated_at"), found.get("sent_at"))

    return [PracticeLine(pid, space.names[pid], people.get(pid, ""), state(pid, this), state(pid, last)) for pid in ids]
