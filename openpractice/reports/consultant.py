"""The monthly consultant report: what a bureau tells each consultant it bills for, a month at a time.

- Billed: the issued invoices dated in the month, insurer bills and self-pay (patient) bills.
- Collected: money received in the month, by insurer (the remittance ledger's insurer payments and
  their reversals, and payments recorded by hand on insurer bills) and self-pay (payments on patient
  bills). A shortfall moved to the patient is not money received, so it is not here.
- Outstanding at the month's end, by age band (reports.selectors.BUCKETS, days from the invoice date
  to the month's last day): each issued invoice dated by then, less what was paid, allocated,
  credited and written off by then; for insurers and for patients.
- Write-offs posted in the month (receivables' WriteOffEntry ledger: a reversal counts negative).
- The bureau's fee (FeeAgreement in force for the month: a percentage of the month's collected, half
  up to the penny with billing.money.round_money, or a fixed monthly fee) and the net due to the
  consultant: collected less the fee.

Every figure is an aggregate in SQL: a report reads a fixed number of queries (ten) whatever the size
of the practice. `Figures.to_snapshot` / `from_snapshot` is what a saved report keeps.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

from django.db.models import Case, Count, F, Q, Sum, Value, When
from django.db.models.functions import Coalesce

from openpractice.billing.models import BillTo, CreditNote, Invoice, Payment, RecordStatus
from openpractice.billing.money import format_gbp, round_money
from openpractice.receivables.models import WriteOffEntry
from openpractice.remittances.models import Allocation
from openpractice.reports.consultant_models import ConsultantReport, FeeAgreement, FeeKind
from openpractice.reports.selectors import BUCKETS, MONEY, ZERO, _pounds, insurer_payment_rows

SELF_PAY = "Self-pay (patients)"
PAYERS = (("insurer", "Insurers"), ("patient", "Patients"))


def month_start(value: dt.date) -> dt.date:
    return value.replace(day=1)


def month_end(month: dt.date) -> dt.date:
    following = (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return following - dt.timedelta(days=1)


def previous_month(today: dt.date) -> dt.date:
    return month_start(month_start(today) - dt.timedelta(days=1))


def parse_month(text: str | None) -> dt.date | None:
    """'2026-11' (or a full date) as the month's first day; None when it is not a month."""
    try:
        return month_start(dt.date.fromisoformat(f"{text}-01" if text and len(text) == 7 else str(text)))
    except ValueError:
        return None


@dataclasses.dataclass
class Line:
    label: str
    amount: Decimal
    count: int | None = None


@dataclasses.dataclass
class Fee:
    kind: str  # FeeKind, or "" when no agreement is in force
    rate: Decimal  # the percentage (percentage fees)
    fixed: Decimal  # the monthly fee (fixed fees)
    amount: Decimal

    @property
    def description(self) -> str:
        if self.kind == FeeKind.PERCENTAGE:
            return f"{self.rate.normalize():f}% of collected"
        if self.kind == FeeKind.FIXED:
            return "Fixed monthly fee"
        return "No fee agreement for this month"


def fee_and_net(*, collected: Decimal, kind: str, percentage: Decimal, monthly_fee: Decimal) -> tuple[Decimal, Decimal]:
    """The bureau's fee and the consultant's net for a month: the net is always collected less the
    fee, so the two add up to collected to the penny (the fee alone is rounded)."""
    if kind == FeeKind.PERCENTAGE:
        fee = round_money(collected * percentage / Decimal(100))
    elif kind == FeeKind.FIXED:
        fee = round_money(monthly_fee)
    else:
        fee = ZERO
    return fee, round_money(collected) - fee


@dataclasses.dataclass
class Figures:
    practice: str
    month: dt.date
    billed: list[Line]
    collected: list[Line]
    outstanding: dict[str, list[Decimal]]  # "insurer" / "patient": one amount per BUCKETS band
    write_offs: list[Line]
    fee: Fee

    @property
    def month_end(self) -> dt.date:
        return month_end(self.month)

    @property
    def billed_total(self) -> Decimal:
        return sum((line.amount for line in self.billed), ZERO)

    @property
    def billed_count(self) -> int:
        return sum(line.count or 0 for line in self.billed)

    @property
    def collected_total(self) -> Decimal:
        return sum((line.amount for line in self.collected), ZERO)

    @property
    def collected_from_insurers(self) -> Decimal:
        return sum((line.amount for line in self.collected if line.label != SELF_PAY), ZERO)

    @property
    def collected_self_pay(self) -> Decimal:
        return sum((line.amount for line in self.collected if line.label == SELF_PAY), ZERO)

    @property
    def outstanding_bands(self) -> list[Decimal]:
        return [sum((self.outstanding[p][i] for p, _ in PAYERS), ZERO) for i in range(len(BUCKETS))]

    @property
    def outstanding_total(self) -> Decimal:
        return sum(self.outstanding_bands, ZERO)

    @property
    def outstanding_rows(self) -> list[tuple[str, list[Decimal], Decimal]]:
        return [(label, self.outstanding[p], sum(self.outstanding[p], ZERO)) for p, label in PAYERS]

    @property
    def write_off_total(self) -> Decimal:
        return sum((line.amount for line in self.write_offs), ZERO)

    @property
    def net(self) -> Decimal:
        return self.collected_total - self.fee.amount

    # -- what a saved report keeps, and the CSV -------------------------------------------------
    def to_snapshot(self) -> dict:
        def lines(found: list[Line]) -> list[dict]:
            return [{"label": x.label, "amount": str(x.amount), "count": x.count} for x in found]

        return {
            "practice": self.practice,
            "month": self.month.isoformat(),
            "billed": lines(self.billed),
            "collected": lines(self.collected),
            "outstanding": {p: [str(a) for a in bands] for p, bands in self.outstanding.items()},
            "write_offs": lines(self.write_offs),
            "fee": {
                "kind": self.fee.kind,
                "rate": str(self.fee.rate),
                "fixed": str(self.fee.fixed),
                "amount": str(self.fee.amount),
            },
        }

    @classmethod
    def from_snapshot(cls, data: dict) -> Figures:
        def lines(found: list[dict]) -> list[Line]:
            return [Line(x["label"], Decimal(x["amount"]), x.get("count")) for x in found]

        fee = data["fee"]
        return cls(
            practice=data["practice"],
            month=dt.date.fromisoformat(data["month"]),
            billed=lines(data["billed"]),
            collected=lines(data["collected"]),
            outstanding={p: [Decimal(a) for a in bands] for p, bands in data["outstanding"].items()},
            write_offs=lines(data["write_offs"]),
            fee=Fee(fee["kind"], Decimal(fee["rate"]), Decimal(fee["fixed"]), Decimal(fee["amount"])),
        )

    def rows(self) -> list[tuple[str, str, int | None, Decimal]]:
        """(section, item, invoices, amount): the CSV, and what a regenerated report is compared by."""
        end = f"Outstanding at {self.month_end:%d %b %Y}"
        out: list[tuple[str, str, int | None, Decimal]] = []
        out += [("Billed", x.label, x.count, x.amount) for x in self.billed]
        out.append(("Billed", "Total billed", self.billed_count, self.billed_total))
        out += [("Collected", x.label, None, x.amount) for x in self.collected]
        out.append(("Collected", "Total collected", None, self.collected_total))
        for label, bands, total in self.outstanding_rows:
            out += [(end, f"{label} {band} days", None, amount) for band, amount in zip(BUCKETS, bands)]
            out.append((end, f"{label} total", None, total))
        out.append((end, "Total outstanding", None, self.outstanding_total))
        out += [("Write-offs", x.label, x.count, x.amount) for x in self.write_offs]
        out.append(("Write-offs", "Total written off", None, self.write_off_total))
        out.append(("Bureau fee", self.fee.description, None, self.fee.amount))
        out.append(("Net due to consultant", "Collected less the bureau fee", None, self.net))
        return out


@dataclasses.dataclass
class Difference:
    section: str
    item: str
    sent: Decimal | None
    now: Decimal | None

    @property
    def sent_text(self) -> str:
        return "—" if self.sent is None else format_gbp(self.sent)

    @property
    def now_text(self) -> str:
        return "—" if self.now is None else format_gbp(self.now)


def differences(*, saved: Figures, live: Figures) -> list[Difference]:
    """Every figure of a saved report that reads differently from today's data, in report order."""
    before = {(s, i): a for s, i, _, a in saved.rows()}
    after = {(s, i): a for s, i, _, a in live.rows()}
    keys = list(dict.fromkeys([*before, *after]))
    return [
        Difference(s, i, before.get((s, i)), after.get((s, i)))
        for s, i in keys
        if before.get((s, i)) != after.get((s, i))
    ]


# -- the figures, from the rows ----------------------------------------------------------------------
def _bands(field: str, end: dt.date) -> list[Q]:
    """The age bands at the month's end on `field` (an invoice date): as selectors.bucket_conditions."""
    edges = [end - dt.timedelta(days=d) for d in (30, 60, 90)]
    return [
        Q(**{f"{field}__gte": edges[0]}),
        Q(**{f"{field}__lt": edges[0], f"{field}__gte": edges[1]}),
        Q(**{f"{field}__lt": edges[1], f"{field}__gte": edges[2]}),
        Q(**{f"{field}__lt": edges[2]}),
    ]


def _banded(queryset, *, invoice: str, amount: str, end: dt.date) -> dict[str, list[Decimal]]:
    """One grouped query: `amount` summed per payer kind and age band of the invoice at `end`."""
    sums = {
        f"b{i}": Coalesce(Sum(Case(When(case, then=F(amount)), default=Value(ZERO), output_field=MONEY)), Value(ZERO))
        for i, case in enumerate(_bands(f"{invoice}invoice_date", end))
    }
    found: dict[str, list[Decimal]] = {p: [ZERO] * len(BUCKETS) for p, _ in PAYERS}
    for row in queryset.values(payer=F(f"{invoice}bill_to")).annotate(**sums).order_by():
        found[row["payer"]] = [_pounds(row[f"b{i}"]) for i in range(len(BUCKETS))]
    return found


def _outstanding(*, practice, end: dt.date) -> dict[str, list[Decimal]]:
    """What was owed at `end`: invoices dated by then less every settlement dated by then (five
    grouped queries, each over one practice's rows up to the date)."""
    invoice_rows = {
        "practice": practice,
        "invoice__record_status": RecordStatus.ISSUED,
        "invoice__invoice_date__lte": end,
    }
    owed = _banded(
        Invoice.objects.filter(practice=practice, record_status=RecordStatus.ISSUED, invoice_date__lte=end),
        invoice="",
        amount="total",
        end=end,
    )
    settled = [
        _banded(
            Payment.objects.filter(received_on__lte=end, **invoice_rows), invoice="invoice__", amount="amount", end=end
        ),
        _banded(
            Allocation.objects.filter(posted_on__lte=end, **invoice_rows), invoice="invoice__", amount="amount", end=end
        ),
        _banded(
            CreditNote.objects.filter(issued_on__lte=end, **invoice_rows), invoice="invoice__", amount="amount", end=end
        ),
        _banded(
            WriteOffEntry.objects.filter(posted_on__lte=end, **invoice_rows),
            invoice="invoice__",
            amount="amount",
            end=end,
        ),
    ]
    return {
        payer: [owed[payer][i] - sum((s[payer][i] for s in settled), ZERO) for i in range(len(BUCKETS))]
        for payer, _ in PAYERS
    }


def agreement_for(*, practice, month: dt.date) -> FeeAgreement | None:
    return (
        FeeAgreement.objects.for_practice(practice)
        .filter(effective_from__lte=month)
        .order_by("-effective_from")
        .first()
    )


def figures(*, practice, month: dt.date) -> Figures:
    """The month's figures from today's rows (ten queries)."""
    month = month_start(month)
    end = month_end(month)
    billed = {
        row["bill_to"]: row
        for row in Invoice.objects.filter(
            practice=practice, record_status=RecordStatus.ISSUED, invoice_date__gte=month, invoice_date__lte=end
        )
        .values("bill_to")
        .annotate(n=Count("id"), s=Sum("total"))
        .order_by()
    }
    billed_lines = [
        Line(
            "Insurer bills",
            _pounds(billed.get(BillTo.INSURER, {}).get("s")),
            billed.get(BillTo.INSURER, {}).get("n", 0),
        ),
        Line(
            "Self-pay bills",
            _pounds(billed.get(BillTo.PATIENT, {}).get("s")),
            billed.get(BillTo.PATIENT, {}).get("n", 0),
        ),
    ]
    by_insurer: dict[str, Decimal] = {}
    self_pay = ZERO
    for row in (
        insurer_payment_rows(practice=practice)
        .filter(posted_on__gte=month, posted_on__lte=end)
        .values("insurer_contact__name")
        .annotate(s=Sum("amount"))
        .order_by()
    ):
        name = row["insurer_contact__name"] or "(no insurer)"
        by_insurer[name] = by_insurer.get(name, ZERO) + _pounds(row["s"])
    for row in (
        Payment.objects.filter(practice=practice, received_on__gte=month, received_on__lte=end)
        .values("invoice__bill_to", "invoice__insurer_contact__name")
        .annotate(s=Sum("amount"))
        .order_by()
    ):
        if row["invoice__bill_to"] == BillTo.PATIENT:
            self_pay += _pounds(row["s"])
        else:
            name = row["invoice__insurer_contact__name"] or "(no insurer)"
            by_insurer[name] = by_insurer.get(name, ZERO) + _pounds(row["s"])
    collected = [Line(name, amount) for name, amount in sorted(by_insurer.items(), key=lambda kv: (-kv[1], kv[0]))]
    collected.append(Line(SELF_PAY, self_pay))
    written = {
        row["invoice__bill_to"]: row
        for row in WriteOffEntry.objects.filter(practice=practice, posted_on__gte=month, posted_on__lte=end)
        .values("invoice__bill_to")
        .annotate(n=Count("id", filter=Q(reverses__isnull=True)), s=Sum("amount"))
        .order_by()
    }
    write_offs = [
        Line(f"{label} debts", _pounds(written.get(payer, {}).get("s")), written.get(payer, {}).get("n", 0))
        for payer, label in (("insurer", "Insurer"), ("patient", "Patient"))
    ]
    agreement = agreement_for(practice=practice, month=month)
    kind = agreement.kind if agreement else ""
    rate = agreement.percentage if agreement else ZERO
    fixed = agreement.monthly_fee if agreement else ZERO
    total = sum((line.amount for line in collected), ZERO)
    fee_amount, _ = fee_and_net(collected=total, kind=kind, percentage=rate, monthly_fee=fixed)
    return Figures(
        practice=practice.name,
        month=month,
        billed=billed_lines,
        collected=collected,
        outstanding=_outstanding(practice=practice, end=end),
        write_offs=write_offs,
        fee=Fee(kind, rate, fixed, fee_amount),
    )


def saved_report(*, practice, month: dt.date) -> ConsultantReport | None:
    return ConsultantReport.objects.for_practice(practice).filter(month=month_start(month)).first()


def saved_reports(*, practice, limit: int = 24) -> list[ConsultantReport]:
    return list(ConsultantReport.objects.for_practice(practice).defer("figures").order_by("-month")[:limit])
