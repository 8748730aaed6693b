"""What the practice is owed and what it was paid: every figure is one aggregate query over the
rows that make it up, so a report always equals the sum of the ledger.

- Aged debt: the balance of each issued invoice (total less paid, credited and written off,
  where paid = billing's payments + the remittance ledger's allocations), bucketed by days since
  the invoice date; by insurer (insurer invoices) or by patient (patient invoices). A partial
  covering index (migration reports/0002) makes this an index-only scan of the invoices that
  still owe something, and statistics on the balance let PostgreSQL know how few they are.
- Bills by Healthcode status: counts, totals and balances of insurer invoices.
- Payments by period and insurer: the ledger's insurer payments and their reversals, plus
  billing's manual payments, by month or week of the date paid.
- Average days to payment per insurer: invoice date to the first insurer payment.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import defaultdict
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from django.db.models import Case, Count, DecimalField, Min, Q, Sum, Value, When
from django.db.models.functions import Coalesce, TruncMonth, TruncWeek
from django.utils import timezone

from openpractice.billing import models as billing_models
from openpractice.billing.models import BillTo, HealthcodeStatus, Invoice, Payment, RecordStatus
from openpractice.contacts.models import Contact
from openpractice.patients.models import Patient
from openpractice.remittances.models import Allocation, AllocationKind

ZERO = Decimal("0.00")
PENNY = Decimal("0.01")


def _pounds(value) -> Decimal:
    """SQLite hands sums back as Decimal('430') or even floats' text: always two places."""
    return Decimal(str(value if value is not None else 0)).quantize(PENNY)


BUCKETS = ("0-30", "31-60", "61-90", "90+")
MONEY: DecimalField = DecimalField(max_digits=14, decimal_places=2)
# The balance and "owes something" as the partial index (reports/0002) spells them (billing.models).
BALANCE = billing_models.BALANCE
OWING = billing_models.OWING


@dataclasses.dataclass
class DebtRow:
    key: int | None
    label: str
    buckets: list[Decimal]
    total: Decimal
    invoices: int

    @property
    def shares(self) -> list[float]:
        """Each bucket's share of the row total, for the stacked bar."""
        return [float(b / self.total * 100) if self.total else 0.0 for b in self.buckets]


# Aged debt shows this many insurers or patients a page, largest debt first.
DEBT_PAGE_SIZE = 50


@dataclasses.dataclass
class DebtReport:
    by: str
    today: dt.date
    rows: list[DebtRow]  # one page of them (all of them when the report was asked for unpaged)
    totals: list[Decimal]
    total: Decimal
    invoices: int
    payers: int = 0  # how many insurers or patients owe, on every page
    page: int = 1
    pages: int = 1

    @property
    def largest(self) -> Decimal:
        return max((r.total for r in self.rows), default=ZERO)


def outstanding_invoices(*, practice, practitioner_id: int | None = None):
    """Issued invoices that still owe something (or are overpaid); one practitioner's when given."""
    found = Invoice.objects.filter(practice=practice, record_status=RecordStatus.ISSUED).filter(OWING)
    return found.filter(practitioner_id=practitioner_id) if practitioner_id else found


def bucket_conditions(today: dt.date) -> list[Q]:
    """Each age band of BUCKETS as a condition on the invoice date (days since it, as of `today`):
    the invoice list's `age` filter (billing.selectors.AGE_BUCKETS) draws the same lines."""
    edges = [today - dt.timedelta(days=d) for d in (30, 60, 90)]
    return [
        Q(invoice_date__gte=edges[0]),
        Q(invoice_date__lt=edges[0], invoice_date__gte=edges[1]),
        Q(invoice_date__lt=edges[1], invoice_date__gte=edges[2]),
        Q(invoice_date__lt=edges[2]),
    ]


def _bucket_sums(today: dt.date) -> dict:
    return {
        f"b{i}": Coalesce(
            Sum(Case(When(case, then=BALANCE), default=Value(ZERO), output_field=MONEY)),
            Value(ZERO),
            output_field=MONEY,
        )
        for i, case in enumerate(bucket_conditions(today))
    }


def _debt_rows(*, practice, by: str, practitioner_id: int | None):
    """The invoices aged debt adds up, and what it groups them by."""
    payer = BillTo.PATIENT if by == "patient" else BillTo.INSURER
    group = "patient_id" if by == "patient" else "insurer_contact_id"
    return outstanding_invoices(practice=practice, practitioner_id=practitioner_id).filter(bill_to=payer), group


def aged_debt(
    *,
    practice,
    by: str = "insurer",
    today: dt.date | None = None,
    limit: int | None = None,
    practitioner_id: int | None = None,
    page: int | None = None,
    page_size: int | None = None,
) -> DebtReport:
    """Aged debt by insurer or by patient, largest first, summed in the database in a fixed number
    of queries whatever the number of payers. By patient (thousands of payers): the totals (one
    aggregate), the rows (one grouped query, cut to `page` when given: `page_size` rows from the
    largest) and their names (one). By insurer (a practice deals with a few dozen at most): every
    insurer's row in one grouped query, the totals added up from them, and their names.
    `page_size=0` reads the totals alone."""
    today = today or timezone.localdate()
    by = "patient" if by == "patient" else "insurer"
    page_size = DEBT_PAGE_SIZE if page_size is None else page_size
    qs, group = _debt_rows(practice=practice, by=by, practitioner_id=practitioner_id)
    sums = _bucket_sums(today)
    grouped = (
        qs.order_by()
        .values(group)
        .annotate(n=Count("id"), owed=Sum(BALANCE, output_field=MONEY), **sums)
        .order_by("-owed", group)
    )
    everyone = list(grouped) if by == "insurer" else []
    if by == "insurer":
        totals = [sum((_pounds(g[f"b{i}"]) for g in everyone), ZERO) for i in range(4)]
        invoices, payers = sum(g["n"] for g in everyone), len(everyone)
    else:
        overall = qs.order_by().aggregate(n=Count("id"), payers=Count(group, distinct=True), **sums)
        totals = [_pounds(overall[f"b{i}"]) for i in range(4)]
        invoices, payers = overall["n"] or 0, overall["payers"] or 0
    if page_size == 0:  # the totals alone
        return DebtReport(by, today, [], totals, sum(totals, ZERO), invoices, payers)
    pages = max(1, -(-payers // page_size))
    if page is not None:
        page = min(max(page, 1), pages)
        window = slice((page - 1) * page_size, page * page_size)
    else:
        window = slice(0, limit or None)
    found = everyone[window] if by == "insurer" else list(grouped[window])
    labels = _labels(by, [g[group] for g in found])
    rows = []
    for g in found:
        buckets = [_pounds(g[f"b{i}"]) for i in range(4)]
        rows.append(
            DebtRow(
                key=g[group],
                label=labels.get(g[group], "(unknown)"),
                buckets=buckets,
                total=sum(buckets, ZERO),
                invoices=g["n"],
            )
        )
    return DebtReport(
        by=by,
        today=today,
        rows=rows,
        totals=totals,
        total=sum(totals, ZERO),
        invoices=invoices,
        payers=payers,
        page=page or 1,
        pages=pages if page is not None else 1,
    )


def aged_debt_export(
    *, practice, by: str = "insurer", today: dt.date | None = None, practitioner_id: int | None = None
) -> Iterator[DebtRow]:
    """Every row of aged debt, largest first, named: read from one grouped query as the export
    streams it (a database cursor, never a list of every payer in memory)."""
    today = today or timezone.localdate()
    by = "patient" if by == "patient" else "insurer"
    qs, _ = _debt_rows(practice=practice, by=by, practitioner_id=practitioner_id)
    names = (
        ("patient_id", "patient__last_name", "patient__first_name")
        if by == "patient"
        else (
            "insurer_contact_id",
            "insurer_contact__name",
        )
    )
    grouped = (
        qs.order_by()
        .values(*names)
        .annotate(n=Count("id"), owed=Sum(BALANCE, output_field=MONEY), **_bucket_sums(today))
        .order_by("-owed", names[0])
    )
    for g in grouped.iterator(chunk_size=2000):
        label = f"{g[names[1]]}, {g[names[2]]}" if by == "patient" else g[names[1]] or "(unknown)"
        buckets = [_pounds(g[f"b{i}"]) for i in range(4)]
        yield DebtRow(key=g[names[0]], label=label, buckets=buckets, total=sum(buckets, ZERO), invoices=g["n"])


@dataclasses.dataclass
class Band:
    """One age band of what one kind of payer owes: the amount and how many invoices make it."""

    bucket: str
    amount: Decimal
    invoices: int


def owed_by_band(
    *, practice, practitioner_id: int | None = None, today: dt.date | None = None
) -> dict[str, list[Band]]:
    """What insurers and what patients owe, by age band (BUCKETS): for each of BillTo's values,
    one Band per bucket. The same rows as aged_debt's totals (owed_summary's)."""
    return owed_summary(practice=practice, practitioner_id=practitioner_id, today=today).bands


@dataclasses.dataclass
class InsurerDebt:
    insurer_id: int
    insurer: str
    amount: Decimal
    invoices: int


def old_insurer_debt(
    *, practice, practitioner_id: int | None = None, today: dt.date | None = None
) -> list[InsurerDebt]:
    """Insurer debt in the oldest band (over 90 days) by insurer, largest first (owed_summary's)."""
    return owed_summary(practice=practice, practitioner_id=practitioner_id, today=today).old_insurer_debt


@dataclasses.dataclass
class OwedSummary:
    bands: dict[str, list[Band]]  # BillTo value -> one Band per bucket, youngest first
    old_insurer_debt: list[InsurerDebt]  # the oldest band of insurer debt by insurer, largest first


def owed_summary(*, practice, practitioner_id: int | None = None, today: dt.date | None = None) -> OwedSummary:
    """What is owed by payer kind and age band, and the oldest insurer debt by insurer: one query
    grouped by payer kind and insurer (a row per insurer and one for patients), each band summed
    with a FILTER. It reads only columns of the partial covering index (reports/0002: counting
    practice_id, never id, which is not in it), so PostgreSQL answers from the index alone, once,
    where the dashboard's two queries read the table twice (issue 18)."""
    today = today or timezone.localdate()
    aggregates: dict[str, Any] = {}
    for i, case in enumerate(bucket_conditions(today)):
        aggregates[f"b{i}"] = Sum(BALANCE, filter=case, output_field=MONEY)
        aggregates[f"n{i}"] = Count("practice_id", filter=case)
    grouped = (
        outstanding_invoices(practice=practice, practitioner_id=practitioner_id)
        .values("bill_to", "insurer_contact_id", "insurer_contact__name")
        .annotate(**aggregates)
        .order_by()
    )
    amounts: dict[tuple[str, int], Decimal] = defaultdict(lambda: ZERO)
    counts: dict[tuple[str, int], int] = defaultdict(int)
    old: list[InsurerDebt] = []
    oldest = len(BUCKETS) - 1
    for row in grouped:
        for i in range(len(BUCKETS)):
            amounts[(row["bill_to"], i)] += _pounds(row[f"b{i}"])
            counts[(row["bill_to"], i)] += row[f"n{i}"]
        if row["bill_to"] == BillTo.INSURER and row[f"n{oldest}"]:
            old.append(
                InsurerDebt(
                    insurer_id=row["insurer_contact_id"],
                    insurer=row["insurer_contact__name"] or "(unknown)",
                    amount=_pounds(row[f"b{oldest}"]),
                    invoices=row[f"n{oldest}"],
                )
            )
    bands = {
        payer: [
            Band(bucket=name, amount=amounts[(payer, i)], invoices=counts[(payer, i)]) for i, name in enumerate(BUCKETS)
        ]
        for payer in BillTo.values
    }
    return OwedSummary(bands=bands, old_insurer_debt=sorted(old, key=lambda debt: (-debt.amount, debt.insurer)))


@dataclasses.dataclass
class PayerDebt:
    """What one kind of payer owes one practice, by age band: patients (insurer ""), or the bills
    to one insurer (its Healthcode identifier; "" when the contact has none)."""

    practice_id: int
    bill_to: str
    insurer: str
    bands: list[Decimal]  # one per BUCKETS band, youngest first
    invoices: int


def owed_by_practice(*, practice_ids: list[int], today: dt.date | None = None) -> list[PayerDebt]:
    """owed_summary over many practices at once (a bureau's): one query grouped by practice, payer
    kind and insurer identifier, each band summed with a FILTER from the partial covering index.
    It still reads every owing invoice of those practices (about 160 ms for 480,000 of them on
    PostgreSQL), so the bureau keeps its result (bureaus.debt_summaries) rather than run it per page."""
    today = today or timezone.localdate()
    if not practice_ids:
        return []
    aggregates: dict[str, Any] = {"n": Count("practice_id")}
    for i, case in enumerate(bucket_conditions(today)):
        aggregates[f"b{i}"] = Sum(BALANCE, filter=case, output_field=MONEY)
    grouped = (
        Invoice.objects.filter(practice_id__in=practice_ids, record_status=RecordStatus.ISSUED)
        .filter(OWING)
        .values("practice_id", "bill_to", "insurer_contact__insurer__healthcode_identifier")
        .annotate(**aggregates)
        .order_by()
    )
    found: dict[tuple[int, str, str], PayerDebt] = {}
    for row in grouped:
        insurer = (
            (row["insurer_contact__insurer__healthcode_identifier"] or "") if row["bill_to"] == BillTo.INSURER else ""
        )
        key = (row["practice_id"], row["bill_to"], insurer)
        debt = found.setdefault(key, PayerDebt(key[0], key[1], key[2], [ZERO] * len(BUCKETS), 0))
        debt.bands = [a + _pounds(row[f"b{i}"]) for i, a in enumerate(debt.bands)]
        debt.invoices += row["n"]
    return sorted(found.values(), key=lambda d: (d.practice_id, d.bill_to, d.insurer))


def _labels(by: str, keys: list) -> dict:
    """The names of the payers shown: one query for a page (a longer list in batches of 500)."""
    keys = [k for k in keys if k is not None]
    labels: dict = {}
    for start in range(0, len(keys), 500):
        batch = keys[start : start + 500]
        if by == "patient":
            for pk, first, last in Patient.objects.filter(pk__in=batch).values_list("pk", "first_name", "last_name"):
                labels[pk] = f"{last}, {first}"
        else:
            labels.update(Contact.objects.filter(pk__in=batch).values_list("pk", "name"))
    return labels


def bills_by_status(*, practice) -> list[dict]:
    counts = {
        row["healthcode_status"]: row
        for row in (
            Invoice.objects.filter(practice=practice, bill_to=BillTo.INSURER)
            .exclude(record_status=RecordStatus.VOID)
            .values("healthcode_status")
            .annotate(
                n=Count("id"),
                sum_total=Coalesce(Sum("total"), Value(ZERO)),
                sum_balance=Coalesce(Sum(BALANCE, output_field=MONEY), Value(ZERO)),
            )
            .order_by()
        )
    }
    return [
        {
            "status": value,
            "label": label,
            "count": counts.get(value, {}).get("n", 0),
            "total": _pounds(counts.get(value, {}).get("sum_total", ZERO)),
            "balance": _pounds(counts.get(value, {}).get("sum_balance", ZERO)),
        }
        for value, label in HealthcodeStatus.choices
    ]


def insurer_payment_rows(*, practice):
    """The ledger rows that are money from insurers: payments and the reversals of payments."""
    return Allocation.objects.filter(practice=practice).filter(
        Q(kind=AllocationKind.INSURER_PAYMENT)
        | Q(kind=AllocationKind.REVERSAL, reverses__kind=AllocationKind.INSURER_PAYMENT)
    )


def payments_by_period(
    *, practice, period: str = "month", start: dt.date | None = None, end: dt.date | None = None
) -> list[dict]:
    trunc = TruncWeek if period == "week" else TruncMonth
    ledger = insurer_payment_rows(practice=practice)
    manual = Payment.objects.filter(practice=practice)
    if start:
        ledger, manual = ledger.filter(posted_on__gte=start), manual.filter(received_on__gte=start)
    if end:
        ledger, manual = ledger.filter(posted_on__lte=end), manual.filter(received_on__lte=end)
    totals: dict[tuple, Decimal] = defaultdict(lambda: ZERO)
    for row in (
        ledger.annotate(period=trunc("posted_on"))
        .values("period", "insurer_contact__name")
        .annotate(s=Sum("amount"))
        .order_by()
    ):
        totals[(_day(row["period"]), row["insurer_contact__name"] or "(no insurer)", "Remittance")] += _pounds(row["s"])
    for row in (
        manual.annotate(period=trunc("received_on"))
        .values("period", "invoice__bill_to", "invoice__insurer_contact__name")
        .annotate(s=Sum("amount"))
        .order_by()
    ):
        payer = row["invoice__insurer_contact__name"] if row["invoice__bill_to"] == BillTo.INSURER else "Patients"
        totals[(_day(row["period"]), payer or "(no insurer)", "Recorded by hand")] += _pounds(row["s"])
    return [
        {"period": p, "payer": payer, "source": source, "amount": amount}
        for (p, payer, source), amount in sorted(totals.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2]))
    ]


def _day(value) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


def average_days_to_payment(*, practice) -> list[dict]:
    firsts = (
        Allocation.objects.filter(
            practice=practice, kind=AllocationKind.INSURER_PAYMENT, amount__gt=0, reversed_by__isnull=True
        )
        .values("insurer_contact_id", "insurer_contact__name", "invoice_id", "invoice__invoice_date")
        .annotate(first=Min("posted_on"))
        .order_by()
    )
    per: dict[tuple, list[int]] = defaultdict(list)
    for row in firsts:
        per[(row["insurer_contact_id"], row["insurer_contact__name"] or "(no insurer)")].append(
            (row["first"] - row["invoice__invoice_date"]).days
        )
    return sorted(
        (
            {
                "insurer_id": key[0],
                "insurer": key[1],
                "invoices": len(days),
                "average_days": round(sum(days) / len(days), 1),
                "fastest": min(days),
                "slowest": max(days),
            }
            for key, days in per.items()
        ),
        key=lambda r: r["insurer"],
    )
