"""The insurer debt list: issued insurer bills still owing beyond their insurer's usual days to
pay (`contacts.Contact.usual_days_to_pay`, default 30: AXA asks not to be chased before 30
days), oldest first, with the insurer's contact details and each bill's history (what the
insurer paid and when, its Healthcode status, a dispute).

Fixed queries whatever the history: the practice's insurers (their usual days, a handful of
rows), one page of bills (keyset paged on the (practice, invoice date, id) index: `?after=` the
last row's "YYYY-MM-DD.id"), and two reads for the page's history (its remittance payments,
its underpayments).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

from django.db.models import Q
from django.utils import timezone

from openpractice.billing.models import BALANCE, OWES, BillTo, Invoice, RecordStatus
from openpractice.contacts.models import Contact, ContactType
from openpractice.receivables.models import DisputeStatus
from openpractice.remittances.models import Allocation, AllocationKind, ShortfallVerdict
from openpractice.remittances.shortfall_kind import ShortfallKind

PAGE_SIZE = 50
# "Unpaid for at least": on top of the insurer's own days.
AGES = {"": "Beyond the usual days", "60": "60 days or more", "90": "90 days or more", "120": "120 days or more"}


@dataclasses.dataclass(frozen=True)
class InsurerRow:
    invoice: Invoice
    insurer: Contact
    days_unpaid: int
    balance: Decimal
    history: list[str]

    @property
    def days_beyond(self) -> int:
        return self.days_unpaid - self.insurer.usual_days_to_pay


@dataclasses.dataclass(frozen=True)
class InsurerDebtPage:
    rows: list[InsurerRow]
    next_after: str | None
    insurers: list[Contact]
    insurer_id: int | None
    age: str
    after: str | None


def read_after(value: str | None) -> tuple[dt.date, int] | None:
    """The (invoice date, id) of `?after=`; None for a missing or malformed one (the first page)."""
    if not value:
        return None
    try:
        day, pk = value[:40].split(".")
        return dt.date.fromisoformat(day), int(pk)
    except ValueError:
        return None


def insurers(*, practice) -> list[Contact]:
    return list(
        Contact.objects.for_practice(practice)
        .filter(contact_type=ContactType.INSURER)
        .only("id", "name", "email", "phone", "usual_days_to_pay", "address_line1", "address_line2", "city", "postcode")
        .order_by("name_key", "id")
    )


def overdue_condition(contacts: list[Contact], today: dt.date, min_days: int = 0) -> Q:
    """A bill to one of `contacts` dated before its insurer's usual days (and `min_days`) ago."""
    condition = Q(pk__in=[])
    for contact in contacts:
        days = max(contact.usual_days_to_pay, min_days)
        condition |= Q(insurer_contact_id=contact.pk, invoice_date__lt=today - dt.timedelta(days=days))
    return condition


def insurer_debt_page(
    *,
    practice,
    insurer_id: int | None = None,
    age: str = "",
    after: str | None = None,
    today: dt.date | None = None,
    size: int = PAGE_SIZE,
) -> InsurerDebtPage:
    today = today or timezone.localdate()
    everyone = insurers(practice=practice)
    chosen = [c for c in everyone if c.pk == insurer_id] if insurer_id else everyone
    min_days = int(age) if age in AGES and age else 0
    found = (
        Invoice.objects.filter(practice=practice, bill_to=BillTo.INSURER, record_status=RecordStatus.ISSUED)
        .filter(OWES)
        .filter(overdue_condition(chosen, today, min_days))
        .select_related("patient")
        .annotate(owed=BALANCE)
    )
    cursor = read_after(after)
    if cursor is not None:
        day, pk = cursor
        found = found.filter(Q(invoice_date__gte=day) & (Q(invoice_date__gt=day) | Q(invoice_date=day, id__gt=pk)))
    invoices = list(found.order_by("invoice_date", "id")[: size + 1]) if chosen else []
    more = len(invoices) > size
    invoices = invoices[:size]
    history = _history(practice, [i.pk for i in invoices])
    by_id = {c.pk: c for c in everyone}
    rows = [
        InsurerRow(
            invoice=invoice,
            insurer=by_id[invoice.insurer_contact_id],
            days_unpaid=(today - invoice.invoice_date).days,
            balance=invoice.owed,
            history=[
                f"Issued {invoice.invoice_date:%d/%m/%Y}",
                f"Healthcode: {invoice.get_healthcode_status_display()}",
            ]
            + history.get(invoice.pk, []),
        )
        for invoice in invoices
    ]
    last = invoices[-1] if more else None
    return InsurerDebtPage(
        rows=rows,
        next_after=f"{last.invoice_date.isoformat()}.{last.pk}" if last else None,
        insurers=everyone,
        insurer_id=insurer_id,
        age=age if age in AGES else "",
        after=after if cursor else None,
    )


def _history(practice, invoice_ids: list[int]) -> dict[int, list[str]]:
    """What the insurer paid on each bill and when (its remittances), and an underpayment's
    dispute: two queries for the page."""
    found: dict[int, list[str]] = {}
    if not invoice_ids:
        return found
    for invoice_id, kind, amount, posted_on, reason in (
        Allocation.objects.filter(practice=practice, invoice_id__in=invoice_ids)
        .order_by("posted_on", "id")
        .values_list("invoice_id", "kind", "amount", "posted_on", "reason")
    ):
        label = {
            AllocationKind.INSURER_PAYMENT: "Insurer paid",
            AllocationKind.SHORTFALL_TRANSFER: "Moved to the patient",
        }.get(kind, "Reversed")
        text = f"{label} £{amount:,.2f} on {posted_on:%d/%m/%Y}"
        found.setdefault(invoice_id, []).append(f"{text} ({reason})" if reason else text)
    for invoice_id, difference, status in (
        ShortfallVerdict.objects.filter(practice=practice, invoice_id__in=invoice_ids, kind=ShortfallKind.UNDERPAYMENT)
        .order_by("id")
        .values_list("invoice_id", "difference", "dispute__status")
    ):
        label = DisputeStatus(status or DisputeStatus.RAISED).label.lower()
        found.setdefault(invoice_id, []).append(f"Underpaid by £{difference:,.2f}: insurer dispute {label}")
    return found
