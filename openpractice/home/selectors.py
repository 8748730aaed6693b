"""The dashboard's reads: the day's work of one member, each figure with the link to the list that
shows exactly its rows. Every figure comes from the owning app's selector (reports, healthcode,
remittances, billing), so the dashboard and the list it links to count the same rows; a constant
number of queries however many invoices there are."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal
from urllib.parse import urlencode

from django.db.models import Count, Sum
from django.urls import reverse
from django.utils import timezone

from openpractice.billing import selectors as billing_selectors
from openpractice.billing.models import BillTo, HealthcodeStatus, RecordStatus
from openpractice.healthcode import selectors as healthcode_selectors
from openpractice.healthcode import stored_checks
from openpractice.practices.roles import Capability
from openpractice.remittances import selectors as remittance_selectors
from openpractice.reports import selectors as report_selectors

ZERO = Decimal("0.00")


@dataclasses.dataclass(frozen=True)
class Scope:
    """Whose figures: the practice's (practitioner_id None) or one practitioner's own bills."""

    practitioner_id: int | None = None
    can_bill: bool = False

    @property
    def own(self) -> bool:
        return self.practitioner_id is not None

    def query(self, **params) -> str:
        """A list's query string with this scope's practitioner added."""
        if self.practitioner_id:
            params["practitioner"] = self.practitioner_id
        return urlencode({k: v for k, v in params.items() if v not in ("", None)})


def scope_for(membership) -> Scope:
    """A member who bills sees the practice's work; a practitioner who does not bill sees the bills
    where they are the practitioner; anyone else who may see invoices sees the practice's, to read.
    Decided by capability and by whether the member has a practitioner profile, never by role name."""
    can_bill = bool(membership and membership.can(Capability.BILLING))
    if membership is not None and not can_bill and hasattr(membership, "practitioner_profile"):
        return Scope(practitioner_id=membership.pk, can_bill=False)
    return Scope(can_bill=can_bill)


@dataclasses.dataclass
class Figure:
    label: str
    count: int
    url: str
    amount: Decimal | None = None


@dataclasses.dataclass
class OwedRow:
    payer: str  # BillTo value
    label: str
    bands: list[Figure]  # one per age band, youngest first

    @property
    def total(self) -> Decimal:
        return sum((band.amount or ZERO for band in self.bands), ZERO)


@dataclasses.dataclass
class DayOfWork:
    scope: Scope
    today: dt.date
    owed: list[OwedRow]  # insurers, then patients
    failed: Figure
    not_ready: Figure
    not_ready_reasons: list[tuple[str, str, int]]
    rechecking: int  # bills whose pre-submission check is being run again: not counted in not_ready yet
    review: Figure | None  # remittance lines nobody could match: the practice's, not a practitioner's
    shortfalls: Figure
    old_debt: list[Figure]  # insurer debt over 90 days, by insurer
    aged_debt_url: str
    invoices_url: str
    has_invoices: bool

    @property
    def owed_total(self) -> Decimal:
        return sum((row.total for row in self.owed), ZERO)

    @property
    def work_waiting(self) -> int:
        """Everything on the "waiting" row, added up."""
        return (
            self.failed.count + self.not_ready.count + (self.review.count if self.review else 0) + self.shortfalls.count
        )


def _url(name: str, query: str) -> str:
    return reverse(name) + (f"?{query}" if query else "")


def day_of_work(*, practice, scope: Scope, today: dt.date | None = None) -> DayOfWork:
    today = today or timezone.localdate()
    who = scope.practitioner_id

    # The bands and the old insurer debt below: one index-only read of what is owed (issue 18).
    owed_now = report_selectors.owed_summary(practice=practice, practitioner_id=who, today=today)
    bands = owed_now.bands
    owed = [
        OwedRow(
            payer=payer,
            label=label,
            bands=[
                Figure(
                    label=f"{band.bucket} days",
                    count=band.invoices,
                    amount=band.amount,
                    url=_url("billing:list", scope.query(owing=1, bill_to=payer, age=band.bucket)),
                )
                for band in bands[payer]
            ],
        )
        for payer, label in ((BillTo.INSURER, "Insurers"), (BillTo.PATIENT, "Patients"))
    ]

    invoices = billing_selectors.invoices(practice=practice)
    if who:
        invoices = invoices.filter(practitioner_id=who)
    # Whether there are any invoices (for the empty state) and the failed ones, each read from an
    # index: a count of every invoice grows with the history (issue 18).
    has_invoices = invoices.exists()
    failed = Figure(
        label="Failed at Healthcode",
        count=invoices.filter(healthcode_status=HealthcodeStatus.FAILED, record_status=RecordStatus.ISSUED).count(),
        url=_url("billing:list", scope.query(healthcode_status=HealthcodeStatus.FAILED, record_status="issued")),
    )

    # The stored checks first: a few due bills are checked now, more by the recheck task (counted).
    rechecking = stored_checks.refresh(practice=practice, practitioner_id=who)
    summary = healthcode_selectors.not_ready_summary(practice=practice, practitioner_id=who)
    not_ready = Figure(
        label="Not ready to submit", count=summary.count, url=_url("billing:list", scope.query(view="not_ready"))
    )

    review = None
    if not scope.own:
        review = Figure(
            label="Remittance lines to review",
            count=remittance_selectors.review_queue(practice=practice).count(),
            url=reverse("remittances:review"),
        )
    waiting = remittance_selectors.open_transfers(practice=practice, practitioner_id=who).aggregate(
        n=Count("id"), amount=Sum("shortfall")
    )
    shortfalls = Figure(
        label="Shortfalls to send to patients",
        count=waiting["n"],
        amount=Decimal(str(waiting["amount"] or 0)).quantize(Decimal("0.01")),
        url=_url("remittances:shortfalls", scope.query()),
    )

    old_debt = [
        Figure(
            label=debt.insurer,
            count=debt.invoices,
            amount=debt.amount,
            url=_url("billing:list", scope.query(owing=1, bill_to=BillTo.INSURER, insurer=debt.insurer_id, age="90+")),
        )
        for debt in owed_now.old_insurer_debt
    ]
    return DayOfWork(
        scope=scope,
        today=today,
        owed=owed,
        failed=failed,
        not_ready=not_ready,
        not_ready_reasons=summary.reasons,
        rechecking=rechecking,
        review=review,
        shortfalls=shortfalls,
        old_debt=old_debt,
        aged_debt_url=_url("reports:aged_debt", scope.query()),
        invoices_url=_url("billing:list", scope.query()),
        has_invoices=has_invoices,
    )
