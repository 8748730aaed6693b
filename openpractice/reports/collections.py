"""Collections reports: each figure one aggregate over the rows that make it up (a fixed number
of queries whatever the history).

- Collection rate: of what was billed in a period (issued invoices dated in it), how much has
  been collected, for patients and for insurers. An insurer's shortfall moved to the patient
  settles the insurer bill without money: it is counted as moved, not collected (the patient's
  invoice for it is counted with the patients').
- Debtor days: what is owed now over what was billed in the last N days, times N: how many days
  of billing are waiting to be paid.
- Patient debt by chase stage: open patient debts by the furthest chase stage sent to them.
- Write-offs by period: the write-off ledger by month (written off, reversed, net), and the
  ledger's rows for the accounts (CSV).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from decimal import Decimal

from django.db.models import Case, Count, IntegerField, Max, OuterRef, Q, Subquery, Sum, Value, When
from django.db.models.functions import Coalesce, TruncMonth
from django.utils import timezone

from openpractice.billing.models import BALANCE, OWES, BillTo, Invoice, RecordStatus
from openpractice.receivables.models import (
    STAGE_ORDER,
    AccountActivity,
    ActivityKind,
    StageKey,
    WriteOffEntry,
)
from openpractice.remittances.models import Allocation, AllocationKind

ZERO = Decimal("0.00")
PENNY = Decimal("0.01")
PAYERS = ((BillTo.PATIENT, "Patients"), (BillTo.INSURER, "Insurers"))


def _pounds(value) -> Decimal:
    """SQLite hands sums back as Decimal('430') or a float's text: always two places."""
    return Decimal(str(value if value is not None else 0)).quantize(PENNY)


def _rate(part: Decimal, whole: Decimal) -> Decimal | None:
    return (part / whole * 100).quantize(Decimal("0.1")) if whole else None


def default_period(today: dt.date | None = None) -> tuple[dt.date, dt.date]:
    """From the first of this month a year ago, up to today."""
    today = today or timezone.localdate()
    start = today.replace(day=1)
    return start.replace(year=start.year - 1), today


@dataclasses.dataclass(frozen=True)
class RateRow:
    payer: str
    label: str
    invoices: int
    billed: Decimal
    collected: Decimal
    moved: Decimal  # insurer bills: shortfalls moved to patients
    credited: Decimal
    written_off: Decimal
    owed: Decimal

    @property
    def rate(self) -> Decimal | None:
        return _rate(self.collected, self.billed)


def collection_rate(*, practice, start: dt.date, end: dt.date) -> list[RateRow]:
    """Two queries: the period's bills by payer, and the shortfalls moved off its insurer bills."""
    issued = Invoice.objects.filter(
        practice=practice, record_status=RecordStatus.ISSUED, invoice_date__gte=start, invoice_date__lte=end
    )
    sums = {
        row["bill_to"]: row
        for row in issued.values("bill_to")
        .annotate(
            n=Count("id"),
            billed=Sum("total"),
            paid=Sum("paid_total"),
            credited=Sum("credited_total"),
            written_off=Sum("written_off_total"),
            owed=Sum(BALANCE),
        )
        .order_by()
    }
    moved = _pounds(
        Allocation.objects.filter(
            practice=practice,
            invoice__record_status=RecordStatus.ISSUED,
            invoice__invoice_date__gte=start,
            invoice__invoice_date__lte=end,
        )
        .filter(
            Q(kind=AllocationKind.SHORTFALL_TRANSFER)
            | Q(kind=AllocationKind.REVERSAL, reverses__kind=AllocationKind.SHORTFALL_TRANSFER)
        )
        .aggregate(s=Sum("amount"))["s"]
    )
    rows = []
    for payer, label in PAYERS:
        found = sums.get(payer, {})
        taken = moved if payer == BillTo.INSURER else ZERO
        rows.append(
            RateRow(
                payer=payer,
                label=label,
                invoices=found.get("n", 0),
                billed=_pounds(found.get("billed")),
                collected=_pounds(found.get("paid")) - taken,
                moved=taken,
                credited=_pounds(found.get("credited")),
                written_off=_pounds(found.get("written_off")),
                owed=_pounds(found.get("owed")),
            )
        )
    return rows


@dataclasses.dataclass(frozen=True)
class DebtorDays:
    payer: str
    label: str
    owed: Decimal
    billed: Decimal
    days: int

    @property
    def debtor_days(self) -> Decimal | None:
        return (self.owed / self.billed * self.days).quantize(Decimal("0.1")) if self.billed else None


def debtor_days(*, practice, days: int = 90, today: dt.date | None = None) -> list[DebtorDays]:
    """One query: by payer, what is owed now (every issued bill) and what was billed in the last
    `days` days."""
    today = today or timezone.localdate()
    since = today - dt.timedelta(days=days)
    sums = {
        row["bill_to"]: row
        for row in Invoice.objects.filter(practice=practice, record_status=RecordStatus.ISSUED)
        .values("bill_to")
        .annotate(
            owed=Sum(BALANCE, filter=OWES),
            billed=Sum("total", filter=Q(invoice_date__gt=since, invoice_date__lte=today)),
        )
        .order_by()
    }
    return [
        DebtorDays(
            payer=payer,
            label=label,
            owed=_pounds(sums.get(payer, {}).get("owed")),
            billed=_pounds(sums.get(payer, {}).get("billed")),
            days=days,
        )
        for payer, label in PAYERS
    ]


@dataclasses.dataclass(frozen=True)
class StageRow:
    key: str
    label: str
    debts: int
    owed: Decimal
    on_hold: int  # disputed or promised to pay: not chased until then


NOT_CHASED = "not_chased"


def debt_by_stage(*, practice, today: dt.date | None = None) -> list[StageRow]:
    """One query: open patient debts grouped by the furthest stage sent (none: not chased yet)."""
    today = today or timezone.localdate()
    position = Case(
        *[When(stage=key, then=Value(order)) for key, order in STAGE_ORDER.items()], output_field=IntegerField()
    )
    sent = AccountActivity.objects.filter(invoice=OuterRef("pk"), kind=ActivityKind.CHASE_SENT)
    held = Q(debt__disputed=True) | Q(debt__promised_until__gte=today)
    found = {
        row["furthest"]: row
        for row in Invoice.objects.filter(practice=practice, bill_to=BillTo.PATIENT, record_status=RecordStatus.ISSUED)
        .filter(OWES)
        .annotate(furthest=Subquery(sent.values("invoice").annotate(m=Max(position)).values("m")[:1]))
        .values("furthest")
        .annotate(n=Count("id"), owed=Sum(BALANCE), held=Count("id", filter=held))
        .order_by()
    }
    keys = [(None, NOT_CHASED, "Not chased yet")] + [
        (STAGE_ORDER[key], key, StageKey(key).label + " sent") for key in StageKey.values
    ]
    return [
        StageRow(
            key=key,
            label=label,
            debts=found.get(position_value, {}).get("n", 0),
            owed=_pounds(found.get(position_value, {}).get("owed")),
            on_hold=found.get(position_value, {}).get("held", 0),
        )
        for position_value, key, label in keys
    ]


@dataclasses.dataclass(frozen=True)
class WriteOffPeriod:
    month: dt.date
    entries: int
    written_off: Decimal
    reversed: Decimal

    @property
    def net(self) -> Decimal:
        return self.written_off + self.reversed


def _entries(practice, start: dt.date | None, end: dt.date | None):
    found = WriteOffEntry.objects.filter(practice=practice)
    if start:
        found = found.filter(posted_on__gte=start)
    if end:
        found = found.filter(posted_on__lte=end)
    return found


def write_offs_by_month(*, practice, start: dt.date | None = None, end: dt.date | None = None) -> list[WriteOffPeriod]:
    """One query: the write-off ledger by month of posting (a reversal in the month it was posted)."""
    rows = (
        _entries(practice, start, end)
        .annotate(month=TruncMonth("posted_on"))
        .values("month")
        .annotate(
            n=Count("id"),
            off=Coalesce(Sum("amount", filter=Q(amount__gt=0)), Value(ZERO)),
            back=Coalesce(Sum("amount", filter=Q(amount__lt=0)), Value(ZERO)),
        )
        .order_by("month")
    )
    return [
        WriteOffPeriod(
            month=row["month"].date() if isinstance(row["month"], dt.datetime) else row["month"],
            entries=row["n"],
            written_off=_pounds(row["off"]),
            reversed=_pounds(row["back"]),
        )
        for row in rows
    ]


EXPORT_HEADER = [
    "Posted on",
    "Invoice",
    "Bill to",
    "Patient",
    "Insurer",
    "Amount",
    "Reversal of",
    "Reason",
    "Approved by",
]


def write_off_export(*, practice, start: dt.date | None = None, end: dt.date | None = None) -> Iterator[list]:
    """The write-off ledger's rows for the accounts, oldest first, read in chunks (one query each)."""
    rows = (
        _entries(practice, start, end)
        .order_by("posted_on", "id")
        .values_list(
            "posted_on",
            "invoice__number",
            "invoice__bill_to",
            "invoice__patient__first_name",
            "invoice__patient__last_name",
            "invoice__insurer_contact__name",
            "amount",
            "reverses_id",
            "reason",
            "write_off__decided_by__full_name",
        )
    )
    for posted_on, number, bill_to, first, last, insurer, amount, reverses, reason, approver in rows.iterator(
        chunk_size=2000
    ):
        yield [
            posted_on.isoformat(),
            number,
            "Insurer" if bill_to == BillTo.INSURER else "Patient",
            f"{first} {last}",
            insurer or "",
            _pounds(amount),
            reverses or "",
            reason,
            approver or "",
        ]
