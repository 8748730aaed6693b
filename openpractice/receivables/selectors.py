"""Reads: what each patient owes (their account), who owes the practice (accounts owing).

A patient's account is their issued patient invoices (self-pay bills and the shortfalls moved to
them from insurers) that still owe something or are overpaid, and what they paid. Every figure is
summed in the database from billing's stored totals (balance = total - paid - credited - written
off, the reports' `BALANCE`), so the account always equals the invoices it is made of.

An item's kind: a **shortfall** is a patient invoice that a live (not reversed) shortfall transfer
of the remittance ledger names; an **excess** is a shortfall whose insurer reason says excess; a
**credit** is any patient invoice paid more than it owes (a negative balance); the rest are
**self-pay** bills.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal
from typing import Any, cast

from django.db.models import (
    Case,
    CharField,
    Count,
    DecimalField,
    Exists,
    F,
    IntegerField,
    Max,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from openpractice.billing.models import (
    BALANCE,
    OVERPAID,
    OWES,
    OWING,
    BillTo,
    Invoice,
    Payment,
    PaymentOutcome,
    RecordStatus,
)
from openpractice.billing.money import format_gbp
from openpractice.card_payments import links as pay_links
from openpractice.card_payments import selectors as card_payments
from openpractice.patients.models import Patient
from openpractice.practices.models import Membership
from openpractice.practices.roles import Capability, Role, role_can
from openpractice.practices.tenancy import get_for_practice_or_404
from openpractice.receivables import rules
from openpractice.receivables.models import (
    STAGE_ORDER,
    AccountActivity,
    ActivityKind,
    ChaseItem,
    ChaseRun,
    ChaseStage,
    Debt,
    ItemOutcome,
    StageKey,
    WriteOff,
    WriteOffEntry,
)
from openpractice.receivables.schedule import DEFAULT_STAGES, Stage
from openpractice.remittances.models import Allocation, AllocationKind

ZERO = Decimal("0.00")
PENNY = Decimal("0.01")
MONEY: DecimalField = DecimalField(max_digits=14, decimal_places=2)
# Billing's spelling of the balance and of "still owes or is overpaid" (reports/0002's partial index).
# When a bill falls due: its due date, else its date (a self-pay bill without terms is due at once).
DUE_ON = Coalesce(F("due_date"), F("invoice_date"))
ACCOUNTS_PER_PAGE = 50


class ItemKind:
    SELF_PAY = "self_pay"
    SHORTFALL = "shortfall"
    EXCESS = "excess"
    CREDIT = "credit"

    LABELS = {SELF_PAY: "Self-pay", SHORTFALL: "Shortfall", EXCESS: "Excess", CREDIT: "Credit"}


def _pounds(value) -> Decimal:
    """SQLite hands sums back as Decimal('430') or a float's text: always two places."""
    return Decimal(str(value if value is not None else 0)).quantize(PENNY)


def _live_transfer(**extra) -> Exists:
    return Exists(
        Allocation.objects.filter(
            patient_invoice=OuterRef("pk"),
            kind=AllocationKind.SHORTFALL_TRANSFER,
            reversed_by__isnull=True,
            **extra,
        )
    )


def open_invoices(*, practice) -> QuerySet[Invoice]:
    """Issued patient invoices of the practice that still owe something or are overpaid."""
    return Invoice.objects.filter(practice=practice, bill_to=BillTo.PATIENT, record_status=RecordStatus.ISSUED).filter(
        OWING
    )


def item_fields() -> dict:
    """Each invoice's `item_kind`, `open_balance` and `due_on`, decided in the query (for values())."""
    return {
        "open_balance": BALANCE,
        "due_on": DUE_ON,
        "item_kind": Case(
            When(OVERPAID, then=Value(ItemKind.CREDIT)),
            When(_live_transfer(reason__icontains="excess"), then=Value(ItemKind.EXCESS)),
            When(_live_transfer(), then=Value(ItemKind.SHORTFALL)),
            default=Value(ItemKind.SELF_PAY),
        ),
    }


@dataclasses.dataclass(frozen=True)
class OpenItem:
    invoice_id: int
    number: str
    invoice_date: dt.date
    due_on: dt.date
    kind: str
    total: Decimal
    paid: Decimal
    balance: Decimal
    days_overdue: int

    @property
    def kind_label(self) -> str:
        return ItemKind.LABELS[self.kind]


@dataclasses.dataclass(frozen=True)
class PatientAccount:
    patient: Patient
    items: list[OpenItem]
    payments: list[Payment]
    owed: Decimal  # the sum of what open items still owe
    credit: Decimal  # what overpaid items hold for the patient (positive)

    @property
    def balance(self) -> Decimal:
        """What the patient owes, less any credit (negative: the practice owes the patient)."""
        return self.owed - self.credit


def patient_account(*, practice, patient: Patient, today: dt.date | None = None) -> PatientAccount:
    """One patient's open items and payments: three queries, whatever the history."""
    today = today or timezone.localdate()
    # Typed plainly: the annotated keys are not the model's fields the stubs know.
    rows: list[dict[str, Any]] = list(
        cast(Any, open_invoices(practice=practice))
        .filter(patient=patient)
        .order_by(DUE_ON.asc(), "invoice_date", "id")
        .values("id", "number", "invoice_date", "total", "paid_total", **item_fields())
    )
    items = [
        OpenItem(
            invoice_id=r["id"],
            number=r["number"],
            invoice_date=r["invoice_date"],
            due_on=r["due_on"],
            kind=r["item_kind"],
            total=_pounds(r["total"]),
            paid=_pounds(r["paid_total"]),
            balance=_pounds(r["open_balance"]),
            days_overdue=max((today - r["due_on"]).days, 0),
        )
        for r in rows
    ]
    payments = list(
        Payment.objects.filter(
            practice=practice, invoice__patient=patient, invoice__bill_to=BillTo.PATIENT
        ).select_related("invoice")
    )
    owed = sum((i.balance for i in items if i.balance > 0), ZERO)
    credit = -sum((i.balance for i in items if i.balance < 0), ZERO)
    return PatientAccount(patient=patient, items=items, payments=payments, owed=owed, credit=credit)


def patient_balance(*, practice, patient_id: int) -> Decimal:
    """What one patient owes in all, less credit (the patient page's figure): one query."""
    total = open_invoices(practice=practice).filter(patient_id=patient_id).aggregate(b=Sum(BALANCE, output_field=MONEY))
    return _pounds(total["b"])


@dataclasses.dataclass(frozen=True)
class AccountRow:
    patient_id: int
    name: str
    balance: Decimal
    invoices: int
    oldest_due: dt.date
    days_overdue: int


@dataclasses.dataclass(frozen=True)
class AccountsPage:
    rows: list[AccountRow]
    number: int
    pages: int
    count: int
    total: Decimal

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages


def accounts_owing(*, practice, today: dt.date | None = None, page: int = 1) -> AccountsPage:
    """Patients who owe the practice (balance above zero), the longest overdue first. Two
    queries whatever the size (the count and total; one page of rows with the names)."""
    today = today or timezone.localdate()
    grouped = (
        open_invoices(practice=practice)
        .values("patient_id")
        .annotate(
            owed=Sum(BALANCE, output_field=MONEY),
            invoices=Count("id"),
            oldest_due=Min(DUE_ON),
        )
        .filter(Q(owed__gt=0))
    )
    # Django sums the grouped rows in a subquery: the database counts and totals them.
    totals = grouped.aggregate(patients=Count("patient_id"), total_owed=Sum("owed"))
    count = totals["patients"] or 0
    pages = max(1, -(-count // ACCOUNTS_PER_PAGE))
    number = min(max(page, 1), pages)
    start = (number - 1) * ACCOUNTS_PER_PAGE
    rows = grouped.annotate(first_name=F("patient__first_name"), last_name=F("patient__last_name")).order_by(
        "oldest_due", "patient_id"
    )[start : start + ACCOUNTS_PER_PAGE]
    return AccountsPage(
        rows=[
            AccountRow(
                patient_id=r["patient_id"],
                name=f"{r['first_name']} {r['last_name']}",
                balance=_pounds(r["owed"]),
                invoices=r["invoices"],
                oldest_due=r["oldest_due"],
                days_overdue=max((today - r["oldest_due"]).days, 0),
            )
            for r in rows
        ],
        number=number,
        pages=pages,
        count=count,
        total=_pounds(totals["total_owed"]),
    )


def chase_schedule(*, practice) -> list[Stage]:
    """The practice's stages in order: its saved ones, else the defaults."""
    saved = {s.key: s for s in ChaseStage.objects.for_practice(practice)}
    return [
        Stage(
            key=default.key,
            days_overdue=saved[default.key].days_overdue,
            enabled=saved[default.key].enabled,
            email_subject=saved[default.key].email_subject,
            email_body=saved[default.key].email_body,
            letter_body=saved[default.key].letter_body,
        )
        if default.key in saved
        else default
        for default in DEFAULT_STAGES
    ]


def merge_fields(*, practice, patient: Patient, today: dt.date | None = None) -> dict[str, str]:
    """The merge fields of the chase templates for one patient, from their account as it is."""
    account = patient_account(practice=practice, patient=patient, today=today)
    oldest = next((i for i in account.items if i.balance > 0), None)
    return {
        "patient_name": patient.full_name,
        "balance": format_gbp(account.balance),
        "oldest_invoice": oldest.number if oldest else "",
        "oldest_invoice_date": f"{oldest.invoice_date:%-d %B %Y}" if oldest else "",
        "due_date": f"{oldest.due_on:%-d %B %Y}" if oldest else "",
        "practice_name": practice.name,
        "practice_phone": practice.phone,
        "payment_link": payment_link(practice=practice, patient=patient),
    }


def pay_online_url(*, practice, patient: Patient) -> str:
    """The patient's "Pay online" link (card_payments: Stripe Checkout for what they owe when they
    open it), or "" while the practice takes no card payments online."""
    if not card_payments.is_ready(card_payments.integration_for(practice)):
        return ""
    return pay_links.pay_url(practice_id=practice.pk, patient_id=patient.pk)


def payment_link(*, practice, patient: Patient) -> str:
    """The chase templates' {{ payment_link }}: the link, or words saying where it will go."""
    return pay_online_url(practice=practice, patient=patient) or "[payment link]"


def preview_patients(*, practice, limit: int = 20) -> list[tuple[int, str]]:
    """Patients to preview the templates with: those who owe, longest overdue first, else any."""
    owing = [(r.patient_id, r.name) for r in accounts_owing(practice=practice).rows[:limit]]
    if owing:
        return owing
    return [(p.pk, p.full_name) for p in Patient.objects.filter(practice=practice).order_by("last_name", "id")[:limit]]


@dataclasses.dataclass(frozen=True)
class Candidate:
    invoice_id: int
    patient_id: int
    email: str
    stage: str
    balance: Decimal
    days_overdue: int


def chase_candidates(*, practice, today: dt.date, invoice_ids=None) -> list[Candidate]:
    """Every open debt of the practice that needs a stage today, and which: `rules.next_stage`
    for all of them in one query and one pass. The schedule is known before the query, so each
    "furthest stage sent" leads to a known next stage, due date and gap (`plan`). The query
    fetches each unheld open debt that could be due (due on or before the loosest stage's date)
    with its furthest stage sent and when; the pass compares dates.

    Why not decide in the query (as it did): a CASE over the subqueries' annotations repeats each
    subquery in every branch and again in the WHERE, a score of index lookups per debt: 20 s for
    100,000 debts on a busy machine. Here each runs once per debt."""
    stages = chase_schedule(practice=practice)
    # furthest position sent (-1: none) -> (next stage, due on or before, last sent on or before)
    plan: dict[int, tuple[str, dt.date, dt.date | None]] = {}
    for last in range(-1, len(STAGE_ORDER)):
        following = rules.next_in_use(stages, last)
        if following is not None:
            plan[last] = (
                following.key,
                today - dt.timedelta(days=following.days_overdue),
                None if last < 0 else today - dt.timedelta(days=rules.gap_days(stages, last, following)),
            )
    if not plan:
        return []
    sent = AccountActivity.objects.filter(invoice=OuterRef("pk"), kind=ActivityKind.CHASE_SENT)
    position = Case(
        *[When(stage=key, then=Value(order)) for key, order in STAGE_ORDER.items()], output_field=IntegerField()
    )
    held = Debt.objects.filter(invoice=OuterRef("pk")).filter(Q(disputed=True) | Q(promised_until__gte=today))
    owing: Any = (
        open_invoices(practice=practice)
        .filter(OWES, written_off_total=0)
        .exclude(payment_outcome=PaymentOutcome.WRITTEN_OFF)
        .filter(~Exists(held))
        .annotate(due_on=DUE_ON)
        .filter(Q(due_on__lte=max(due_by for _, due_by, _ in plan.values())))
    )
    if invoice_ids is not None:
        owing = owing.filter(pk__in=list(invoice_ids))
    rows = (
        owing.annotate(
            open_balance=BALANCE,
            last_position=Subquery(sent.values("invoice").annotate(m=Max(position)).values("m")[:1]),
            last_sent_on=Subquery(sent.values("invoice").annotate(m=Max("on_date")).values("m")[:1]),
        )
        .order_by("due_on", "id")
        .values_list("id", "patient_id", "patient__email", "due_on", "open_balance", "last_position", "last_sent_on")
    )
    found = []
    for invoice_id, patient_id, email, due_on, balance, last_position, last_sent_on in rows.iterator(chunk_size=5000):
        step = plan.get(-1 if last_position is None else last_position)
        if step is None:
            continue  # every stage in use was sent
        key, due_by, sent_by = step
        if due_on > due_by or (sent_by is not None and (last_sent_on is None or last_sent_on > sent_by)):
            continue
        found.append(
            Candidate(
                invoice_id=invoice_id,
                patient_id=patient_id,
                email=email or "",
                stage=key,
                balance=_pounds(balance),
                days_overdue=(today - due_on).days,
            )
        )
    return found


def chase_runs(*, practice) -> QuerySet[ChaseRun]:
    return ChaseRun.objects.for_practice(practice).annotate(item_count=Count("items"))


def run_items(*, run: ChaseRun) -> QuerySet[ChaseItem]:
    return ChaseItem.objects.filter(practice_id=run.practice_id, run=run).select_related("invoice", "patient")


def run_letters(*, run: ChaseRun) -> QuerySet[AccountActivity]:
    """The letters a sent run left to print: the activity keeps each letter's text as sent."""
    return (
        AccountActivity.objects.filter(
            practice_id=run.practice_id, chase_item__run=run, chase_item__outcome=ItemOutcome.TO_PRINT
        )
        .select_related("patient", "invoice")
        .order_by("patient__last_name", "id")
    )


def activity_of(*, practice, patient_id: int | None = None, invoice_id: int | None = None):
    found = AccountActivity.objects.for_practice(practice).select_related("invoice", "created_by")
    if patient_id is not None:
        found = found.filter(patient_id=patient_id)
    if invoice_id is not None:
        found = found.filter(invoice_id=invoice_id)
    return found


# -- the work queue -----------------------------------------------------------------------------

QUEUE_PER_PAGE = 50
# What a row of the work queue (and one debt's page) reads of each debt.
QUEUE_FIELDS = (
    "id",
    "number",
    "patient_id",
    "patient__first_name",
    "patient__last_name",
    "open_balance",
    "due_on",
    "last_position",
    "last_sent_on",
    "next_stage",
    "written_off_total",
    "debt__disputed",
    "debt__promised_until",
    "debt__assigned_to__full_name",
    "last_paid_on",
)


def collectors(*, practice) -> list[tuple[int, str]]:
    """Active members who can chase debts: (user id, name), for assigning."""
    roles = [role for role in Role.values if role_can(role, Capability.MANAGE_COLLECTIONS)]
    return list(
        Membership.objects.filter(practice=practice, is_active=True, role__in=roles)
        .order_by("user__full_name")
        .values_list("user_id", "user__full_name")
    )


@dataclasses.dataclass(frozen=True)
class QueueRow:
    invoice_id: int
    number: str
    patient_id: int
    patient_name: str
    balance: Decimal
    due_on: dt.date
    days_overdue: int
    next_stage: str | None  # StageKey; None: every stage in use was sent
    action_on: dt.date | None  # when the next stage falls due
    hold: str  # why the chase is paused ("" when it is not)
    assigned_to: str
    limitation_on: dt.date  # after this the debt cannot be recovered through the courts

    @property
    def next_action(self) -> str:
        if self.hold:
            return self.hold
        if self.next_stage is None:
            return "Every stage sent: call the patient or write off"
        return StageKey(self.next_stage).label

    @property
    def action_due(self) -> bool:
        return not self.hold and self.action_on is not None and self.action_on <= timezone.localdate()


@dataclasses.dataclass(frozen=True)
class QueuePage:
    rows: list[QueueRow]
    number: int
    pages: int
    count: int


def _annotated_debts(practice, stages) -> Any:
    """Open patient debts with their chase state: due date, balance, furthest stage sent and when,
    the next stage (from the furthest sent, as rules.next_in_use), holds and who works them."""
    sent = AccountActivity.objects.filter(invoice=OuterRef("pk"), kind=ActivityKind.CHASE_SENT)
    position = Case(
        *[When(stage=key, then=Value(order)) for key, order in STAGE_ORDER.items()], output_field=IntegerField()
    )
    nexts = []
    for last in range(-1, len(STAGE_ORDER)):
        following = rules.next_in_use(stages, last)
        if following is not None:
            when = Q(last_position__isnull=True) if last < 0 else Q(last_position=last)
            nexts.append(When(when, then=Value(following.key)))
    owing: Any = open_invoices(practice=practice).filter(OWES)
    return owing.annotate(
        due_on=DUE_ON,
        open_balance=BALANCE,
        last_position=Subquery(sent.values("invoice").annotate(m=Max(position)).values("m")[:1]),
        last_sent_on=Subquery(sent.values("invoice").annotate(m=Max("on_date")).values("m")[:1]),
        last_paid_on=Subquery(
            Payment.objects.filter(invoice=OuterRef("pk"))
            .values("invoice")
            .annotate(m=Max("received_on"))
            .values("m")[:1]
        ),
    ).annotate(next_stage=Case(*nexts, default=Value(""), output_field=CharField()))


def work_queue(
    *,
    practice,
    today: dt.date | None = None,
    stage: str = "",
    assigned: str = "",
    overdue_only: bool = False,
    page: int = 1,
) -> QueuePage:
    """Every open patient debt with its next action and when it is due, oldest first; filtered
    by next stage, by who works it (a user id, or "none") and to the overdue. Two queries."""
    today = today or timezone.localdate()
    stages = chase_schedule(practice=practice)
    debts = _annotated_debts(practice, stages)
    if stage:
        debts = debts.filter(Q(next_stage=stage))
    if assigned == "none":
        debts = debts.filter(Q(debt__isnull=True) | Q(debt__assigned_to__isnull=True))
    elif assigned.isdigit():
        debts = debts.filter(debt__assigned_to_id=int(assigned))
    if overdue_only:
        debts = debts.filter(Q(due_on__lt=today))
    count = debts.count()
    pages = max(1, -(-count // QUEUE_PER_PAGE))
    number = min(max(page, 1), pages)
    start = (number - 1) * QUEUE_PER_PAGE
    rows = debts.order_by("due_on", "id").values(*QUEUE_FIELDS)[start : start + QUEUE_PER_PAGE]
    by_position = {s.position: s for s in stages}
    return QueuePage(
        rows=[_queue_row(r, stages, by_position, today) for r in rows], number=number, pages=pages, count=count
    )


def _queue_row(r: dict, stages: list[Stage], by_position: dict[int, Stage], today: dt.date) -> QueueRow:
    following = next((s for s in stages if s.key == r["next_stage"]), None)
    action_on = None
    if following is not None:
        action_on = r["due_on"] + dt.timedelta(days=following.days_overdue)
        if r["last_sent_on"] is not None and r["last_position"] in by_position:
            gap = rules.gap_days(stages, r["last_position"], following)
            action_on = max(action_on, r["last_sent_on"] + dt.timedelta(days=gap))
    promised = r["debt__promised_until"]
    hold = (
        "Disputed"
        if r["debt__disputed"]
        else f"Promised to pay by {promised:%-d %B %Y}"
        if promised and promised >= today
        else "Partly written off"
        if r["written_off_total"]
        else ""
    )
    return QueueRow(
        invoice_id=r["id"],
        number=r["number"],
        patient_id=r["patient_id"],
        patient_name=f"{r['patient__first_name']} {r['patient__last_name']}",
        balance=_pounds(r["open_balance"]),
        due_on=r["due_on"],
        days_overdue=max((today - r["due_on"]).days, 0),
        next_stage=r["next_stage"] or None,
        action_on=action_on,
        hold=hold,
        assigned_to=r["debt__assigned_to__full_name"] or "",
        limitation_on=limitation_date(due_on=r["due_on"], last_paid_on=r["last_paid_on"]),
    )


LIMITATION_YEARS = 6


def limitation_date(*, due_on: dt.date, last_paid_on: dt.date | None = None) -> dt.date:
    """The day a debt becomes statute-barred (Limitation Act 1980: six years from when payment
    was due, s.5; a part payment starts the six years again, s.29(5)). Shown so a biller acts in
    time; an acknowledgment in writing also restarts it, which the app does not know of."""
    start = max(due_on, last_paid_on) if last_paid_on else due_on
    try:
        return start.replace(year=start.year + LIMITATION_YEARS)
    except ValueError:  # 29 February into a year without one
        return start.replace(year=start.year + LIMITATION_YEARS, day=28)


@dataclasses.dataclass(frozen=True)
class DebtView:
    invoice: Invoice
    kind: str
    debt: Debt | None
    row: QueueRow | None  # None once nothing is owed
    sent: list[AccountActivity]

    @property
    def kind_label(self) -> str:
        return ItemKind.LABELS[self.kind]


def patient_invoice(*, practice, invoice_id) -> Invoice:
    """An issued patient invoice of the practice (another practice's, or an insurer's, is a 404)."""
    found = Invoice.objects.filter(bill_to=BillTo.PATIENT, record_status=RecordStatus.ISSUED).select_related("patient")
    return get_for_practice_or_404(found, practice, pk=invoice_id)


def debt_view(*, practice, invoice: Invoice, today: dt.date | None = None) -> DebtView:
    today = today or timezone.localdate()
    stages = chase_schedule(practice=practice)
    found = _annotated_debts(practice, stages).filter(pk=invoice.pk).values(*QUEUE_FIELDS).first()
    kinds: Any = Invoice.objects.filter(pk=invoice.pk)
    kind = kinds.annotate(**item_fields()).values_list("item_kind", flat=True).first() or ItemKind.SELF_PAY
    return DebtView(
        invoice=invoice,
        kind=kind,
        debt=Debt.objects.filter(invoice=invoice).select_related("assigned_to").first(),
        row=_queue_row(found, stages, {s.position: s for s in stages}, today) if found else None,
        sent=list(activity_of(practice=practice, invoice_id=invoice.pk).filter(kind=ActivityKind.CHASE_SENT)),
    )


def write_offs_of(*, practice, invoice_id: int) -> tuple[list[WriteOff], list[WriteOffEntry]]:
    """A debt's write-off requests (newest first) and its ledger rows, each with whether it was reversed."""
    asked = list(WriteOff.objects.for_practice(practice).filter(invoice_id=invoice_id).select_related("requested_by"))
    entries = list(
        WriteOffEntry.objects.for_practice(practice)
        .filter(invoice_id=invoice_id)
        .annotate(was_reversed=Exists(WriteOffEntry.objects.filter(reverses=OuterRef("pk"))))
        .select_related("created_by")
    )
    return asked, entries
