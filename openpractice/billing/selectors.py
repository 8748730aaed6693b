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
from openpractice.db import rows as db_rows
from openpractice.db import sql
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


def _filter_terms(
    *,
    healthcode_status: str = "",
    insurer_id: int | None = None,
    practitioner_id: int | None = None,
    age: str = "",
    record_status: str = "",
    bill_to: str = "",
    owing: bool = False,
    today: dt.date | None = None,
) -> list[tuple[str, str, object]]:
    """The list's filters as (column, comparison, value) on billing_invoice: what `_filtered` asks
    of the ORM and `_filtered_sql` writes by hand (one reading of the filters for both). The
    comparison "owing" (no column, no value) is OWING: issued and not settled."""
    terms: list[tuple[str, str, object]] = []
    if owing:  # issued and not settled: the rows of the aged-debt report
        terms += [("record_status", "=", RecordStatus.ISSUED.value), ("", "owing", None)]
    if bill_to in BillTo.values:
        terms.append(("bill_to", "=", bill_to))
    if healthcode_status in HealthcodeStatus.values:
        terms.append(("healthcode_status", "=", healthcode_status))
    if record_status in RecordStatus.values:
        terms.append(("record_status", "=", record_status))
    if insurer_id:
        terms.append(_id_term("insurer_contact_id", insurer_id))
    if practitioner_id:
        terms.append(_id_term("practitioner_id", practitioner_id))
    if age in AGE_BUCKETS:
        today = today or timezone.localdate()
        low, high = AGE_BUCKETS[age]
        if low:  # the youngest band has no upper edge: an invoice dated ahead counts in it, as in aged debt
            terms.append(("invoice_date", "<=", today - dt.timedelta(days=low)))
        if high is not None:
            terms.append(("invoice_date", ">=", today - dt.timedelta(days=high)))
    return terms


_LOOKUPS = {"=": "exact", "<=": "lte", ">=": "gte"}
_MAX_ID = 2**63 - 1


def _id_term(column: str, value: int) -> tuple[str, str, object]:
    """`column` = value; for a value no id can have (an address's "?insurer=99999999999999999999"),
    a term no invoice matches (id = 0) that the primary key answers: PostgreSQL compares a bigint
    column with a larger number as numeric and reads every row (1-3 s at 1,000,000 invoices)."""
    return (column, "=", value) if -_MAX_ID <= value <= _MAX_ID else ("id", "=", 0)


def _filtered(*, practice, **filters) -> QuerySet[Invoice]:
    qs = invoices(practice=practice)
    for column, comparison, value in _filter_terms(**filters):
        qs = qs.filter(OWING if comparison == "owing" else Q(**{f"{column}__{_LOOKUPS[comparison]}": value}))
    return qs


def _number_range(text: str) -> tuple[str, str] | None:
    prefix = text.strip().upper()
    if not prefix or len(prefix) > 10 or not prefix.isalnum():
        return None
    return prefix, keys.next_prefix(prefix)


def _surname_range(text: str) -> tuple[str, str] | None:
    key = keys.name_key(text)
    if not key or any(ch.isdigit() for ch in text):
        return None
    return key, keys.next_prefix(key)


def number_condition(text: str) -> Q | None:
    """Invoice numbers starting with `text` (INV0001, inv0001): a range on the (practice, number)
    index. None when the text cannot start a number (numbers are letters then digits)."""
    found = _number_range(text)
    if found is None:
        return None
    return ~Q(number="") & Q(number__gte=found[0], number__lt=found[1])


def surname_condition(*, practice, text: str) -> Q | None:
    """Invoices of patients whose surname starts with `text`: the patients by a range on their name
    index, the invoices by patient. None when the text cannot start a surname (it has digits)."""
    found = _surname_range(text)
    if found is None:
        return None
    patients = Patient.objects.for_practice(practice).filter(last_name_key__gte=found[0], last_name_key__lt=found[1])
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


# What a row of the list shows (billing/list.html, invoice_badges.invoice_list_rows), read alone
# and as values rather than as model instances: the full invoice with its patient, insurer,
# insurance and practitioner cost three times the Python time of the page's SQL for 50 rows, and
# building five models a row was most of what remained (issue 18). tests/billing/
# test_invoice_list_paging.py checks that a page renders with no query per row.
# The list's statements are written by hand (`_list_sql`, `_filtered_sql`): the ORM took 1-2 ms
# to build a page's two or three that PostgreSQL answers in as long, on a page opened all day
# (issue 18). The paging tests hold every filter and search to the ORM's `search_invoices`.
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


def _list_columns() -> str:
    return ", ".join(f"{_LIST_ALIASES.get(name, 'i.' + name)}" for name in LIST_FIELDS)


# The LIST_FIELDS that are not the invoice's own columns, by table alias (`_LIST_FROM`).
_LIST_ALIASES = {
    "patient__first_name": "p.first_name",
    "patient__last_name": "p.last_name",
    "insurer_contact__name": "c.name",
    "practitioner__user__full_name": "u.full_name",
}
_INVOICE = Invoice._meta.db_table
_LIST_FROM = (
    f"FROM {_INVOICE} i "
    f"JOIN {Patient._meta.db_table} p ON p.id = i.patient_id "
    f"LEFT JOIN {Contact._meta.db_table} c ON c.id = i.insurer_contact_id "
    f"JOIN {Membership._meta.db_table} m ON m.id = i.practitioner_id "
    f"JOIN {User._meta.db_table} u ON u.id = m.user_id"
)
_LIST_SELECT = f"SELECT {_list_columns()} {_LIST_FROM}"
# Every comparison of _filter_terms, and OWING (models.BALANCE, written as the ORM writes it: the
# planner knows the expression's statistics).
_OWING_SQL = "NOT ((((i.total - i.paid_total) - i.credited_total) - i.written_off_total) = 0)"


def _filtered_sql(*, practice, **filters) -> tuple[list[str], list]:
    """`_filtered` as hand-written conditions on `i` (billing_invoice) and their parameters."""
    where, params = ["i.practice_id = %s"], [practice.pk]
    for column, comparison, value in _filter_terms(**filters):
        if comparison == "owing":
            where.append(_OWING_SQL)
            continue
        where.append(f"i.{column} {comparison} %s")
        params.append(sql.date_value(value) if isinstance(value, dt.date) else value)
    return where, params


def _number_sql(text: str) -> tuple[str, list] | None:
    found = _number_range(text)
    if found is None:
        return None
    return "NOT (i.number = %s) AND i.number >= %s AND i.number < %s", ["", *found]


def _surname_sql(*, practice, text: str) -> tuple[str, list] | None:
    found = _surname_range(text)
    if found is None:
        return None
    return (
        f"i.patient_id IN (SELECT s.id FROM {Patient._meta.db_table} s "
        "WHERE s.practice_id = %s AND s.last_name_key >= %s AND s.last_name_key < %s)",
        [practice.pk, *found],
    )


# The field each LIST_FIELDS column is read as (its values converted as the ORM converts them:
# SQLite's dates and decimals); the names of joined tables' columns need no converting.
_INVOICE_FIELDS = {field.attname: field for field in Invoice._meta.concrete_fields}
_LIST_VALUE_FIELDS = tuple(_INVOICE_FIELDS.get(name) for name in LIST_FIELDS)


def _list_sql(where: list[str], params: list, *, newest_first: bool, limit: int) -> list[ListRow]:
    """The first `limit` rows of the list under `where`, in list order (or its reverse)."""
    order = "DESC" if newest_first else "ASC"
    found = db_rows.values(
        f"{_LIST_SELECT} WHERE {' AND '.join(where)} ORDER BY i.invoice_date {order}, i.id {order} LIMIT {int(limit)}",
        params,
        *_LIST_VALUE_FIELDS,
    )
    return [ListRow.of(values) for values in found]


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


def _take(parts: list[tuple[list[str], list]], *, newest_first: bool, limit: int) -> list[ListRow]:
    """The first `limit` invoices of the union of `parts` (each conditions and their parameters)
    in list order: each part read once (ordered, cut at `limit`), merged here. A search by number
    and by surname are two index ranges; one query OR-ing them would walk the whole list instead."""
    found: dict[int, ListRow] = {}
    for where, params in parts:
        for row in _list_sql(where, params, newest_first=newest_first, limit=limit):
            found[row.id] = row
    ordered = sorted(found.values(), key=lambda i: (i.invoice_date, i.id), reverse=newest_first)
    return ordered[:limit]


def _beyond_sql(day: dt.date, pk: int, *, older: bool) -> tuple[str, list]:
    """Invoices after the cursor (day, pk) in list order: older ones, or newer ones. The leading
    <= (>=) gives the database a range start on the (practice, ..., invoice_date, id) index."""
    edge, strict = ("<=", "<") if older else (">=", ">")
    day_value = sql.date_value(day)
    return (
        f"i.invoice_date {edge} %s AND (i.invoice_date {strict} %s OR (i.invoice_date = %s AND i.id {strict} %s))",
        [day_value, day_value, day_value, pk],
    )


def _and(part: tuple[list[str], list], condition: tuple[str, list] | None) -> tuple[list[str], list]:
    if condition is None:
        return part
    return [*part[0], condition[0]], [*part[1], *condition[1]]


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
    per search kind), and, unless searching, a count capped at COUNT_CAP. The practice's invoices
    only (none without a practice)."""
    if practice is None:
        return InvoicePage(rows=[], older=None, newer=None, count=0, count_capped=False)
    base = _filtered_sql(practice=practice, **filters)
    text = (query or "").strip()
    if text:
        conditions = [c for c in (_number_sql(text), _surname_sql(practice=practice, text=text)) if c]
        parts = [_and(base, c) for c in conditions]
    else:
        parts = [base]
    backwards = read_cursor(before)
    forwards = None if backwards else read_cursor(after)
    if backwards:
        rows = _take(
            [_and(p, _beyond_sql(*backwards, older=False)) for p in parts], newest_first=False, limit=page_size + 1
        )
        more_newer = len(rows) > page_size
        rows = list(reversed(rows[:page_size]))
        older = _cursor(rows[-1]) if rows else None
        newer = _cursor(rows[0]) if rows and more_newer else None
    else:
        ordered = [_and(p, _beyond_sql(*forwards, older=True)) for p in parts] if forwards else parts
        rows = _take(ordered, newest_first=True, limit=page_size + 1)
        more_older = len(rows) > page_size
        rows = rows[:page_size]
        older = _cursor(rows[-1]) if more_older else None
        newer = _cursor(rows[0]) if forwards and rows else None
    if text:  # a search is not counted beyond its page: a common prefix would read thousands of rows
        count, capped = len(rows), bool(older or newer)
    else:  # counted (up to COUNT_CAP) on every page: the page's queries are the same on each
        found = _count_sql(*base)
        count, capped = min(found, COUNT_CAP), found > COUNT_CAP
    return InvoicePage(rows=rows, older=older, newer=newer, count=count, count_capped=capped)


def _count_sql(where: list[str], params: list) -> int:
    """How many invoices match `where`, but never more than COUNT_CAP + 1: reads at most that many."""
    found = sql.fetch_one(
        f"SELECT COUNT(*) FROM (SELECT 1 FROM {_INVOICE} i WHERE {' AND '.join(where)} LIMIT {int(COUNT_CAP) + 1}) t",
        params,
    )
    return found[0] if found else 0


def count_submittable(*, practice, query: str = "", **filters) -> int:
    """How many invoices `submittable_matching` holds, never more than COUNT_CAP + 1: the list's
    "Select all N matching" on every page without a search, by hand as the list's own statements
    (tests hold it to the ORM's count). A search is counted through the ORM."""
    if practice is None:
        return 0
    if (query or "").strip():
        return count_up_to(submittable_matching(practice=practice, query=query, **filters))
    where, params = _filtered_sql(practice=practice, **filters)
    where = [*where, "i.bill_to = %s", "NOT (i.record_status = %s)", "i.healthcode_status IN (%s, %s)"]
    params = [
        *params,
        BillTo.INSURER.value,
        RecordStatus.VOID.value,
        HealthcodeStatus.NOT_SUBMITTED.value,
        HealthcodeStatus.FAILED.value,
    ]
    return _count_sql(where, params)


def count_up_to(queryset: QuerySet, cap: int = COUNT_CAP) -> int:
    """How many rows `queryset` has, but never more than cap + 1: reads at most that many."""
    return queryset.order_by().values("pk")[: cap + 1].count()


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
    found = db_rows.first(sql["invoice"], [pk, practice.pk], *_INVOICE_MODELS) if practice is not None else None
    if found is None:
        raise Http404("No such record in this practice.")
    invoice, patient, insurance, contact, insurer, practitioner, user, profile = found
    _PATIENT.set_cached_value(invoice, patient)
    _INSURANCE.set_cached_value(invoice, db_rows.joined(insurance))
    contact = db_rows.joined(contact)
    if contact is not None:
        _INSURER.set_cached_value(contact, db_rows.joined(insurer))
    _CONTACT.set_cached_value(invoice, contact)
    _USER.set_cached_value(practitioner, user)
    profile = db_rows.joined(profile)
    _PROFILE.remote_field.set_cached_value(practitioner, profile)
    if profile is not None:
        _PROFILE.set_cached_value(profile, practitioner)
    _PRACTITIONER.set_cached_value(invoice, practitioner)
    lines = []
    for line, product in db_rows.every(sql["lines"], [pk], InvoiceLine, Product):
        _PRODUCT.set_cached_value(line, product)
        lines.append(line)
    db_rows.prefetched(invoice, "lines", lines)
    db_rows.prefetched(invoice, "payments", [p for (p,) in db_rows.every(sql["payments"], [pk], Payment)])
    db_rows.prefetched(invoice, "credit_notes", [c for (c,) in db_rows.every(sql["credit_notes"], [pk], CreditNote)])
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
    """invoice_with_rows' statements, built once per database vendor (the quoting differs)."""
    return {
        "invoice": (
            f"SELECT {db_rows.columns(Invoice, 'i')}, {db_rows.columns(Patient, 'pa')}, "
            f"{db_rows.columns(PatientRelationship, 'pr')}, {db_rows.columns(Contact, 'c')}, "
            f"{db_rows.columns(Insurer, 'ci')}, {db_rows.columns(Membership, 'm')}, {db_rows.columns(User, 'u')}, "
            f"{db_rows.columns(PractitionerProfile, 'pp')} "
            f"FROM {db_rows.table(Invoice)} i "
            f"JOIN {db_rows.table(Patient)} pa ON pa.id = i.patient_id "
            f"LEFT JOIN {db_rows.table(PatientRelationship)} pr ON pr.id = i.insurance_id "
            f"LEFT JOIN {db_rows.table(Contact)} c ON c.id = i.insurer_contact_id "
            f"LEFT JOIN {db_rows.table(Insurer)} ci ON ci.id = c.insurer_id "
            f"JOIN {db_rows.table(Membership)} m ON m.id = i.practitioner_id "
            f"JOIN {db_rows.table(User)} u ON u.id = m.user_id "
            f"LEFT JOIN {db_rows.table(PractitionerProfile)} pp ON pp.membership_id = m.id "
            "WHERE i.id = %s AND i.practice_id = %s"
        ),
        "lines": (
            f"SELECT {db_rows.columns(InvoiceLine, 'l')}, {db_rows.columns(Product, 'p')} "
            f"FROM {db_rows.table(InvoiceLine)} l JOIN {db_rows.table(Product)} p ON p.id = l.product_id "
            "WHERE l.invoice_id = %s ORDER BY l.sequence"
        ),
        "payments": (
            f"SELECT {db_rows.columns(Payment, 'p')} FROM {db_rows.table(Payment)} p "
            "WHERE p.invoice_id = %s ORDER BY p.received_on, p.id"
        ),
        "credit_notes": (
            f"SELECT {db_rows.columns(CreditNote, 'c')} FROM {db_rows.table(CreditNote)} c "
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
