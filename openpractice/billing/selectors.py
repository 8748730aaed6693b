"""Reads for invoices: the list with its filters, a patient's invoices, one invoice with its rows.

The list (`invoice_page`) is paged by keyset on (invoice date, id), newest first, and never
counts every row: page 1,000 costs what page 1 does, at any size of history. Each filter and
the search box read through an index of billing/0005 (or the patients' name index): the number
by prefix, the surname by prefix of its key, status, insurer and age as ranges under the
practice."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
from decimal import Decimal

from django.core import signing
from django.db import connections
from django.db.models import Count, Q, QuerySet, Sum
from django.http import Http404
from django.utils import timezone

from openpractice.accounts.models import PractitionerProfile, User
from openpractice.billing.models import (
    OWING,
    BillTo,
    CreditNote,
    HealthcodeStatus,
    Invoice,
    InvoiceLine,
    NumberSequence,
    Payment,
    RecordStatus,
    SequenceKind,
)
from openpractice.billing.services import DEFAULT_PREFIXES, format_number
from openpractice.coding.models import Insurer
from openpractice.contacts.models import Contact
from openpractice.db import rows
from openpractice.patients import keys
from openpractice.patients.models import Patient, PatientRelationship
from openpractice.practices.models import Location, Membership
from openpractice.products.models import Product

PAGE_SIZE = 50
# The list says how many invoices match only up to here ("more than 1,000"): a capped count reads
# at most this many index entries, however long the history.
COUNT_CAP = 1000

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


def _filtered(
    *,
    practice,
    healthcode_status: str = "",
    insurer_id: int | None = None,
    practitioner_id: int | None = None,
    age: str = "",
    record_status: str = "",
    bill_to: str = "",
    owing: bool = False,
    today: dt.date | None = None,
) -> QuerySet[Invoice]:
    qs = invoices(practice=practice)
    if owing:  # issued and not settled: the rows of the aged-debt report
        qs = qs.filter(record_status=RecordStatus.ISSUED).filter(OWING)
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
    return qs


def number_condition(text: str) -> Q | None:
    """Invoice numbers starting with `text` (INV0001, inv0001): a range on the (practice, number)
    index. None when the text cannot start a number (numbers are letters then digits)."""
    prefix = text.strip().upper()
    if not prefix or len(prefix) > 10 or not prefix.isalnum():
        return None
    return ~Q(number="") & Q(number__gte=prefix, number__lt=keys.next_prefix(prefix))


def surname_condition(*, practice, text: str) -> Q | None:
    """Invoices of patients whose surname starts with `text`: the patients by a range on their name
    index, the invoices by patient. None when the text cannot start a surname (it has digits)."""
    key = keys.name_key(text)
    if not key or any(ch.isdigit() for ch in text):
        return None
    patients = Patient.objects.for_practice(practice).filter(
        last_name_key__gte=key, last_name_key__lt=keys.next_prefix(key)
    )
    return Q(patient__in=patients.values("pk"))


def search_invoices(*, practice, query: str = "", **filters) -> QuerySet[Invoice]:
    """Every invoice matching the list's filters, newest first: what a bulk submission of a filter
    and the API read. The list's pages come from invoice_page."""
    qs = _filtered(practice=practice, **filters)
    text = (query or "").strip()
    if text:
        conditions = [c for c in (number_condition(text), surname_condition(practice=practice, text=text)) if c]
        if not conditions:
            return qs.none()
        qs = qs.filter(conditions[0] | conditions[1] if len(conditions) == 2 else conditions[0])
    return qs.order_by("-invoice_date", "-id")


# -- the list's pages: keyset on (invoice_date, id), newest first -----------------------------------
_CURSOR_SALT = "billing.invoice_page"


def _cursor(invoice) -> str:
    return signing.Signer(salt=_CURSOR_SALT).sign(f"{invoice.invoice_date.isoformat()}.{invoice.pk}")


def read_cursor(value: str | None) -> tuple[dt.date, int] | None:
    """The (invoice date, id) a cursor points at; None for a missing, tampered or malformed one
    (the list then shows its first page: an address is never a server error)."""
    if not value:
        return None
    try:
        day, pk = signing.Signer(salt=_CURSOR_SALT).unsign(value[:200]).split(".")
        return dt.date.fromisoformat(day), int(pk)
    except (signing.BadSignature, ValueError):
        return None


def _older_than(day: dt.date, pk: int) -> Q:
    # The leading <= gives the database a range start on the (practice, ..., invoice_date, id) index.
    return Q(invoice_date__lte=day) & (Q(invoice_date__lt=day) | Q(invoice_date=day, id__lt=pk))


def _newer_than(day: dt.date, pk: int) -> Q:
    return Q(invoice_date__gte=day) & (Q(invoice_date__gt=day) | Q(invoice_date=day, id__gt=pk))


# What a row of the list shows (billing/list.html), read alone: the full invoice with its patient,
# insurer, insurance and practitioner cost three times the Python time of the page's SQL for 50
# rows (issue 18). tests/billing/test_invoice_list_paging.py checks that a page renders with no
# query per row.
# The columns a row of the list shows (billing/list.html, invoice_badges.invoice_list_rows), read
# as values rather than as model instances: building five models a row (the invoice, its patient,
# insurer, practitioner and user) was most of the list's Python time (issue 18).
LIST_FIELDS = (
    "id",
    "practice_id",
    "number",
    "invoice_date",
    "bill_to",
    "record_status",
    "healthcode_status",
    "payment_outcome",
    "total",
    "paid_total",
    "credited_total",
    "written_off_total",
    "patient_id",
    "patient__first_name",
    "patient__last_name",
    "insurer_contact_id",
    "insurer_contact__name",
    "practitioner_id",
    "practitioner__user__full_name",
)


@dataclasses.dataclass(slots=True)
class ListPatient:
    id: int
    first_name: str
    last_name: str


@dataclasses.dataclass(slots=True)
class ListContact:
    id: int
    name: str


@dataclasses.dataclass(slots=True)
class ListUser:
    full_name: str


@dataclasses.dataclass(slots=True)
class ListPractitioner:
    id: int
    user: ListUser


@dataclasses.dataclass(slots=True)
class ListRow:
    """One invoice of the list: the columns it shows, named as on Invoice (`invoice.patient.
    last_name`, `invoice.practitioner.user.full_name`, `invoice.balance`)."""

    id: int
    practice_id: int
    number: str
    invoice_date: dt.date
    bill_to: str
    record_status: str
    healthcode_status: str
    payment_outcome: str
    total: Decimal
    paid_total: Decimal
    credited_total: Decimal
    written_off_total: Decimal
    patient_id: int
    patient: ListPatient
    insurer_contact_id: int | None
    insurer_contact: ListContact | None
    practitioner_id: int | None
    practitioner: ListPractitioner | None

    @property
    def pk(self) -> int:
        return self.id

    @property
    def balance(self) -> Decimal:
        return self.total - self.paid_total - self.credited_total - self.written_off_total

    @classmethod
    def of(cls, values: tuple) -> ListRow:
        (
            pk,
            practice_id,
            number,
            invoice_date,
            bill_to,
            record_status,
            healthcode_status,
            payment_outcome,
            total,
            paid,
            credited,
            written_off,
            patient_id,
            first_name,
            last_name,
            contact_id,
            contact_name,
            practitioner_id,
            practitioner_name,
        ) = values
        return cls(
            pk,
            practice_id,
            number,
            invoice_date,
            bill_to,
            record_status,
            healthcode_status,
            payment_outcome,
            total,
            paid,
            credited,
            written_off,
            patient_id,
            ListPatient(patient_id, first_name, last_name),
            contact_id,
            ListContact(contact_id, contact_name) if contact_id else None,
            practitioner_id,
            ListPractitioner(practitioner_id, ListUser(practitioner_name)) if practitioner_id else None,
        )


def _list_rows(qs: QuerySet[Invoice]) -> QuerySet:
    return qs.select_related(None).values_list(*LIST_FIELDS)


@dataclasses.dataclass
class InvoicePage:
    rows: list[ListRow]
    older: str | None  # cursor of the next page (older invoices), None on the last
    newer: str | None  # cursor of the previous page (newer invoices), None on the first
    count: int  # how many match, up to COUNT_CAP (a search: how many are on this page)
    count_capped: bool  # more than `count` match

    @property
    def more_than_shown(self) -> bool:
        return bool(self.older or self.newer)


def _take(querysets: list[QuerySet], *, newest_first: bool, limit: int) -> list[ListRow]:
    """The first `limit` invoices of the union of `querysets` in list order: each queryset read
    once (already ordered, cut at `limit`), merged here. A search by number and by surname are two
    index ranges; one query OR-ing them would walk the whole list instead."""
    found: dict[int, ListRow] = {}
    for qs in querysets:
        for values in qs[:limit]:
            row = ListRow.of(values)
            found[row.id] = row
    ordered = sorted(found.values(), key=lambda i: (i.invoice_date, i.id), reverse=newest_first)
    return ordered[:limit]


def invoice_page(
    *,
    practice,
    after: str | None = None,
    before: str | None = None,
    query: str = "",
    page_size: int = PAGE_SIZE,
    **filters,
) -> InvoicePage:
    """One page of the invoice list: `after` a cursor (older invoices) or `before` one (newer),
    else the newest. A fixed number of queries whatever the history: the page (one query, or one
    per search kind), and, unless searching, a count capped at COUNT_CAP."""
    base = _filtered(practice=practice, **filters)
    text = (query or "").strip()
    if text:
        conditions = [c for c in (number_condition(text), surname_condition(practice=practice, text=text)) if c]
        parts = [base.filter(c) for c in conditions]
    else:
        parts = [base]
    rows_of = [_list_rows(p) for p in parts]
    backwards = read_cursor(before)
    forwards = None if backwards else read_cursor(after)
    if backwards:
        ordered = [p.filter(_newer_than(*backwards)).order_by("invoice_date", "id") for p in rows_of]
        rows = _take(ordered, newest_first=False, limit=page_size + 1)
        more_newer = len(rows) > page_size
        rows = list(reversed(rows[:page_size]))
        older = _cursor(rows[-1]) if rows else None
        newer = _cursor(rows[0]) if rows and more_newer else None
    else:
        ordered = [
            (p.filter(_older_than(*forwards)) if forwards else p).order_by("-invoice_date", "-id") for p in rows_of
        ]
        rows = _take(ordered, newest_first=True, limit=page_size + 1)
        more_older = len(rows) > page_size
        rows = rows[:page_size]
        older = _cursor(rows[-1]) if more_older else None
        newer = _cursor(rows[0]) if forwards and rows else None
    if text:  # a search is not counted beyond its page: a common prefix would read thousands of rows
        count, capped = len(rows), bool(older or newer)
    else:  # counted (up to COUNT_CAP) on every page: the page's queries are the same on each
        count, capped = _capped_count(parts)
    return InvoicePage(rows=rows, older=older, newer=newer, count=count, count_capped=capped)


def count_up_to(queryset: QuerySet, cap: int = COUNT_CAP) -> int:
    """How many rows `queryset` has, but never more than cap + 1: reads at most that many."""
    return queryset.order_by().values("pk")[: cap + 1].count()


def _capped_count(parts: list[QuerySet[Invoice]]) -> tuple[int, bool]:
    """How many invoices match, reading at most COUNT_CAP + 1 ids of each part."""
    ids: set[int] = set()
    for part in parts:
        ids.update(part.order_by().values_list("pk", flat=True)[: COUNT_CAP + 1])
    return min(len(ids), COUNT_CAP), len(ids) > COUNT_CAP


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


# An invoice's places: links to locations, each empty or set.
PLACES = ("location", "provider_location", "payee_location", "facility")


def invoice_with_rows(*, practice, invoice_id) -> Invoice:
    """One invoice with everything its page shows. The places (four links to locations) and the
    controlling specialist are read by id after it, not joined: PostgreSQL took 3-18 ms to plan
    the thirteen-table join that it then ran in 0.3 ms (issue 18); the places set are read in one
    query, and a link that is empty costs nothing (as prefetches, the five empty links cost 1 ms
    of Python a page). The practice is the one asked for; another practice's invoice is a 404.

    Read by hand (openpractice.db.rows), as the ORM left it with select_related (patient,
    insurance, insurer contact and its directory entry, practitioner with user and profile) and
    prefetch_related (lines with products, payments, credit notes): every invoice page, poll and
    PDF reads it, and the ORM spent 3-4 ms of Python building four statements the database
    answers in well under that (issue 18)."""
    try:
        pk = int(invoice_id)
    except (TypeError, ValueError):
        raise Http404("No such record in this practice.") from None
    sql = _statements(connections["default"].vendor)
    found = rows.first(sql["invoice"], [pk, practice.pk], *_INVOICE_MODELS) if practice is not None else None
    if found is None:
        raise Http404("No such record in this practice.")
    invoice, patient, insurance, contact, insurer, practitioner, user, profile = found
    _PATIENT.set_cached_value(invoice, patient)
    _INSURANCE.set_cached_value(invoice, rows.joined(insurance))
    contact = rows.joined(contact)
    if contact is not None:
        _INSURER.set_cached_value(contact, rows.joined(insurer))
    _CONTACT.set_cached_value(invoice, contact)
    _USER.set_cached_value(practitioner, user)
    profile = rows.joined(profile)
    _PROFILE.remote_field.set_cached_value(practitioner, profile)
    if profile is not None:
        _PROFILE.set_cached_value(profile, practitioner)
    _PRACTITIONER.set_cached_value(invoice, practitioner)
    lines = []
    for line, product in rows.every(sql["lines"], [pk], InvoiceLine, Product):
        _PRODUCT.set_cached_value(line, product)
        lines.append(line)
    rows.prefetched(invoice, "lines", lines)
    rows.prefetched(invoice, "payments", [p for (p,) in rows.every(sql["payments"], [pk], Payment)])
    rows.prefetched(invoice, "credit_notes", [c for (c,) in rows.every(sql["credit_notes"], [pk], CreditNote)])
    place_ids = {getattr(invoice, f"{name}_id") for name in PLACES} - {None}
    if place_ids:
        places = {place.pk: place for place in Location.objects.filter(pk__in=place_ids)}
        for name in PLACES:
            place = places.get(getattr(invoice, f"{name}_id"))
            if place is not None:
                setattr(invoice, name, place)
    if invoice.controlling_specialist_id is not None:
        invoice.controlling_specialist = (
            Membership.objects.select_related("user").filter(pk=invoice.controlling_specialist_id).first()
        )
    invoice.practice = practice
    return invoice


# invoice_with_rows' statements: the invoice joined as select_related joined it, then its rows in
# each relation's order (Meta.ordering); built once per database vendor (the quoting differs).
_INVOICE_MODELS = (Invoice, Patient, PatientRelationship, Contact, Insurer, Membership, User, PractitionerProfile)
_PATIENT = Invoice._meta.get_field("patient")
_INSURANCE = Invoice._meta.get_field("insurance")
_CONTACT = Invoice._meta.get_field("insurer_contact")
_INSURER = Contact._meta.get_field("insurer")
_PRACTITIONER = Invoice._meta.get_field("practitioner")
_USER = Membership._meta.get_field("user")
_PROFILE = PractitionerProfile._meta.get_field("membership")
_PRODUCT = InvoiceLine._meta.get_field("product")


@functools.cache
def _statements(vendor: str) -> dict[str, str]:
    quote = connections["default"].ops.quote_name

    def t(model) -> str:
        return quote(model._meta.db_table)

    return {
        "invoice": (
            f"SELECT {rows.columns(Invoice, 'i')}, {rows.columns(Patient, 'pa')}, "
            f"{rows.columns(PatientRelationship, 'pr')}, {rows.columns(Contact, 'c')}, "
            f"{rows.columns(Insurer, 'ci')}, {rows.columns(Membership, 'm')}, {rows.columns(User, 'u')}, "
            f"{rows.columns(PractitionerProfile, 'pp')} "
            f"FROM {t(Invoice)} i "
            f"JOIN {t(Patient)} pa ON pa.id = i.patient_id "
            f"LEFT JOIN {t(PatientRelationship)} pr ON pr.id = i.insurance_id "
            f"LEFT JOIN {t(Contact)} c ON c.id = i.insurer_contact_id "
            f"LEFT JOIN {t(Insurer)} ci ON ci.id = c.insurer_id "
            f"JOIN {t(Membership)} m ON m.id = i.practitioner_id "
            f"JOIN {t(User)} u ON u.id = m.user_id "
            f"LEFT JOIN {t(PractitionerProfile)} pp ON pp.membership_id = m.id "
            "WHERE i.id = %s AND i.practice_id = %s"
        ),
        "lines": (
            f"SELECT {rows.columns(InvoiceLine, 'l')}, {rows.columns(Product, 'p')} "
            f"FROM {t(InvoiceLine)} l JOIN {t(Product)} p ON p.id = l.product_id "
            "WHERE l.invoice_id = %s ORDER BY l.sequence"
        ),
        "payments": (
            f"SELECT {rows.columns(Payment, 'p')} FROM {t(Payment)} p "
            "WHERE p.invoice_id = %s ORDER BY p.received_on, p.id"
        ),
        "credit_notes": (
            f"SELECT {rows.columns(CreditNote, 'c')} FROM {t(CreditNote)} c "
            "WHERE c.invoice_id = %s ORDER BY c.issued_on, c.id"
        ),
    }


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
