"""Reads for invoices: the list with its filters, a patient's invoices, one invoice with its rows."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db.models import Count, F, Prefetch, Q, QuerySet, Sum
from django.utils import timezone

from openpractice.billing.models import (
    BillTo,
    HealthcodeStatus,
    Invoice,
    InvoiceLine,
    NumberSequence,
    RecordStatus,
    SequenceKind,
)
from openpractice.billing.services import DEFAULT_PREFIXES, format_number
from openpractice.practices.tenancy import get_for_practice_or_404

# Age of an invoice since its date, for the list filter: label -> (min days, max days)
AGE_BUCKETS = {
    "0-30": (0, 30),
    "31-60": (31, 60),
    "61-90": (61, 90),
    "90+": (91, None),
}


def invoices(*, practice) -> QuerySet[Invoice]:
    return Invoice.objects.for_practice(practice).select_related(
        "patient", "insurer_contact__insurer", "practitioner__user", "insurance"
    )


def search_invoices(
    *,
    practice,
    healthcode_status: str = "",
    insurer_id: int | None = None,
    practitioner_id: int | None = None,
    age: str = "",
    record_status: str = "",
    bill_to: str = "",
    owing: bool = False,
    query: str = "",
    today: dt.date | None = None,
) -> QuerySet[Invoice]:
    qs = invoices(practice=practice)
    if owing:  # issued and not settled: the rows of the aged-debt report
        qs = qs.filter(record_status=RecordStatus.ISSUED).filter(
            ~Q(total=F("paid_total") + F("credited_total") + F("written_off_total"))
        )
    if bill_to in BillTo.values:
        qs = qs.filter(bill_to=bill_to)
    if healthcode_status in HealthcodeStatus.values:
        qs = qs.filter(healthcode_status=healthcode_status)
    if record_status in RecordStatus.values:
        qs = qs.filter(record_status=record_status)
    if insurer_id:
        qs = qs.filter(insurer_contact_id=insurer_id)
    if practitioner_id:
        qs = qs.filter(practitioner_id=practitioner_id)
    if age in AGE_BUCKETS:
        today = today or timezone.localdate()
        low, high = AGE_BUCKETS[age]
        if low:  # the youngest band has no upper edge: an invoice dated ahead counts in it, as in aged debt
            qs = qs.filter(invoice_date__lte=today - dt.timedelta(days=low))
        if high is not None:
            qs = qs.filter(invoice_date__gte=today - dt.timedelta(days=high))
    text = (query or "").strip()
    if text:
        qs = qs.filter(number__istartswith=text) | qs.filter(patient__last_name__istartswith=text)
    return qs.order_by("-invoice_date", "-id")


def submittable_candidates(*, practice) -> QuerySet[Invoice]:
    """Insurer invoices that could go to Healthcode now: not void, not sent (or failed)."""
    return (
        invoices(practice=practice)
        .filter(bill_to=BillTo.INSURER)
        .exclude(record_status=RecordStatus.VOID)
        .filter(healthcode_status__in=[HealthcodeStatus.NOT_SUBMITTED, HealthcodeStatus.FAILED])
    )


def submittable_matching(*, practice, **filters) -> QuerySet[Invoice]:
    """The list's filter narrowed to invoices that could go to Healthcode now: what "Select all
    matching this filter" submits (resolved on the server, in this practice)."""
    return (
        search_invoices(practice=practice, **filters)
        .filter(bill_to=BillTo.INSURER)
        .exclude(record_status=RecordStatus.VOID)
        .filter(healthcode_status__in=[HealthcodeStatus.NOT_SUBMITTED, HealthcodeStatus.FAILED])
        .order_by("pk")
    )


def totals_by_insurer(invoices: QuerySet[Invoice]) -> dict:
    """How many bills and how much, per insurer and in all, for a set of invoices: what a bulk
    submission's confirmation shows before anything is sent. Summed in the database."""
    rows = list(
        invoices.order_by()
        .values("insurer_contact__name")
        .annotate(count=Count("pk"), amount=Sum("total"))
        .order_by("insurer_contact__name")
    )
    return {
        "rows": [
            {"insurer": row["insurer_contact__name"] or "—", "count": row["count"], "amount": row["amount"]}
            for row in rows
        ],
        "count": sum(row["count"] for row in rows),
        "amount": sum((row["amount"] for row in rows), Decimal("0.00")),
    }


def invoices_of_patient(*, patient) -> QuerySet[Invoice]:
    return invoices(practice=patient.practice).filter(patient=patient).order_by("-invoice_date", "-id")


def invoice_with_rows(*, practice, invoice_id) -> Invoice:
    qs = (
        invoices(practice=practice)
        .select_related(
            "location",
            "provider_location",
            "payee_location",
            "facility",
            "controlling_specialist__user",
            "practitioner__practitioner_profile",
            "insurer_contact",
            "practice",
        )
        .prefetch_related(
            Prefetch("lines", queryset=InvoiceLine.objects.select_related("product")), "payments", "credit_notes"
        )
    )
    return get_for_practice_or_404(qs, practice, pk=invoice_id)


def number_sequences(*, practice) -> list[dict]:
    """Each numbering kind with its prefix and the number the next issue will take (a preview;
    take_number hands it out under a row lock)."""

    found = {s.kind: s for s in NumberSequence.objects.for_practice(practice)}
    rows = []
    for kind in SequenceKind:
        sequence = found.get(kind)
        prefix = sequence.prefix if sequence else DEFAULT_PREFIXES[kind]
        next_value = sequence.next_value if sequence else 1
        rows.append(
            {
                "kind": kind.value,
                "label": kind.label,
                "prefix": prefix,
                "issued": next_value - 1,
                "next_number": format_number(prefix, next_value),
            }
        )
    return rows
