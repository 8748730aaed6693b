"""Reads for patients: search with keyset paging, relationships, the people type-ahead.

Search takes one box and reads it by its shape:
- a date (12/04/1980, 1980-04-12) -> date of birth;
- an email address (has @, or a dotted word such as "oliver.benn") -> email, by prefix;
- a valid NHS number (10 digits) -> NHS number, or a registration number that equals it;
- other digits (6 or more) -> phone number by prefix, or a registration number;
- letters and digits mixed (AXA-AB123456) -> registration number, by prefix;
- words -> surname by prefix ("benn"), "first surname" ("oliver benn") or "surname, first".
Each is an equality or a range on an indexed key (models.Patient); results are in name order and
paged by keyset on (last_name_key, first_name_key, id), so page 1,000 costs what page 1 does.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from datetime import date, datetime

import nhs_number
from django.db.models import Q, QuerySet

from openpractice.contacts.models import Contact
from openpractice.contacts.selectors import search_contacts
from openpractice.patients import keys
from openpractice.patients.models import Patient, PatientRelationship

PAGE_SIZE = 25
DATE_FORMATS = ("%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%Y-%m-%d", "%d/%m/%y")


@dataclass
class SearchPage:
    patients: list[Patient]
    mode: str
    next_cursor: str | None
    prev_cursor: str | None


def _range(field: str, prefix: str) -> Q:
    return Q(**{f"{field}__gte": prefix, f"{field}__lt": keys.next_prefix(prefix)})


def _parse_date(text: str) -> date | None:
    for fmt in DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def _registration_ids(practice, key: str, *, prefix: bool) -> QuerySet:
    rel = PatientRelationship.objects.filter(practice=practice)
    rel = rel.filter(_range("registration_key", key)) if prefix else rel.filter(registration_key=key)
    return rel.values_list("patient_id", flat=True)


def search_filter(practice, query: str) -> tuple[str, Q]:
    """(mode, filter) for what was typed; see the module docstring."""
    text = (query or "").strip()
    if not text:
        return "all", Q()
    day = _parse_date(text)
    if day:
        return "date_of_birth", Q(date_of_birth=day)
    if "@" in text or re.fullmatch(r"[^\s@,]+\.[^\s@,]*[a-z0-9][^\s@,]*", text, re.I) and "." in text[1:]:
        # name@…, or a dotted word such as "oliver.benn" (names with a full stop have a space)
        return "email", _range("email_key", keys.email_key(text))
    compact = re.sub(r"[\s\-()+]", "", text)
    if compact.isdigit():
        registered = list(_registration_ids(practice, compact, prefix=False)[:MAX_MATCHES])
        if len(compact) == 10 and nhs_number.is_valid(compact):
            return "nhs_number", Q(nhs_number=compact) | Q(pk__in=registered)
        return "phone_or_registration", _range("phone_key", keys.phone_key(text)) | Q(pk__in=registered)
    if re.search(r"\d", text):
        ids = list(_registration_ids(practice, keys.registration_key(text), prefix=True)[:MAX_MATCHES])
        return "registration_number", Q(pk__in=ids)
    if "," in text:
        last, _, first = text.partition(",")
    else:
        words = text.split()
        first, last = (" ".join(words[:-1]), words[-1]) if len(words) > 1 else ("", words[0])
    condition = _range("last_name_key", keys.name_key(last)) if keys.name_key(last) else Q()
    if keys.name_key(first):
        condition &= _range("first_name_key", keys.name_key(first))
    return "name", condition


def _encode(patient: Patient) -> str:
    raw = f"{patient.last_name_key}\x1f{patient.first_name_key}\x1f{patient.id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode(cursor: str) -> tuple[str, str, int] | None:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        last, first, pk = raw.split("\x1f")
        return last, first, int(pk)
    except (ValueError, UnicodeDecodeError):
        return None


def _after(last: str, first: str, pk: int) -> Q:
    # The leading >= gives both databases a range start on the (practice, last, first, id) index.
    return Q(last_name_key__gte=last) & (
        Q(last_name_key__gt=last)
        | Q(last_name_key=last, first_name_key__gt=first)
        | Q(last_name_key=last, first_name_key=first, id__gt=pk)
    )


def _before(last: str, first: str, pk: int) -> Q:
    return Q(last_name_key__lte=last) & (
        Q(last_name_key__lt=last)
        | Q(last_name_key=last, first_name_key__lt=first)
        | Q(last_name_key=last, first_name_key=first, id__lt=pk)
    )


ORDER = ("last_name_key", "first_name_key", "id")
LIST_COLUMNS = (
    "id",
    "title",
    "first_name",
    "last_name",
    "date_of_birth",
    "phone",
    "email",
    "nhs_number",
    "postcode",
    "is_archived",
    "last_name_key",
    "first_name_key",
)


# Searches other than by name find at most this many patients (a phone prefix as short as "07"
# would match everyone: the page asks for more digits).
MAX_MATCHES = 500


def search_patients(
    *,
    practice,
    query: str = "",
    after: str | None = None,
    before: str | None = None,
    limit: int = PAGE_SIZE,
    include_archived: bool = False,
) -> SearchPage:
    mode, condition = search_filter(practice, query)
    base = Patient.objects.for_practice(practice)
    if not include_archived:
        base = base.filter(is_archived=False)
    if mode in ("all", "name"):
        base = base.filter(condition)
    else:
        # Selective searches first collect the matching ids through their own index, unordered;
        # ordering them by name here would tempt PostgreSQL to walk the name index and filter
        # (fast when matches are many, a full scan when they are few).
        ids = list(base.filter(condition).values_list("id", flat=True)[:MAX_MATCHES])
        base = Patient.objects.filter(pk__in=ids)
    base = base.only(*LIST_COLUMNS)
    limit = max(1, min(limit, 100))
    position = _decode(before) if before else _decode(after) if after else None
    if before and position:
        rows = list(base.filter(_before(*position)).order_by(*(f"-{f}" for f in ORDER))[: limit + 1])
        has_more_before = len(rows) > limit
        rows = list(reversed(rows[:limit]))
        return SearchPage(
            rows, mode, _encode(rows[-1]) if rows else None, _encode(rows[0]) if rows and has_more_before else None
        )
    if position:
        base = base.filter(_after(*position))
    rows = list(base.order_by(*ORDER)[: limit + 1])
    has_next = len(rows) > limit
    rows = rows[:limit]
    return SearchPage(
        rows, mode, _encode(rows[-1]) if has_next else None, _encode(rows[0]) if position and rows else None
    )


def relationships_of(*, patient: Patient) -> QuerySet[PatientRelationship]:
    return PatientRelationship.objects.filter(practice_id=patient.practice_id, patient=patient).select_related(
        "related_contact__insurer", "related_patient"
    )


def insurance_of(*, patient: Patient) -> list[PatientRelationship]:
    return [r for r in relationships_of(patient=patient) if r.is_insurance]


def people_options(*, practice, query: str, limit: int = 10) -> list[tuple[str, str, str]]:
    """For the "Patient or contact name" type-ahead: (value, name, what) for contacts and patients
    whose name starts with what was typed. Values are "contact:<id>" or "patient:<id>"."""

    text = (query or "").strip()
    if not text:
        return []
    found = [
        (f"contact:{c.id}", c.name, c.get_contact_type_display() + (f" · {c.insurer}" if c.insurer_id else ""))
        for c in search_contacts(practice=practice, query=text)[:limit]
    ]
    _, condition = search_filter(practice, text) if not re.search(r"\d", text) else ("", Q(pk__in=[]))
    patients = Patient.objects.for_practice(practice).filter(condition, is_archived=False).order_by(*ORDER)[:limit]
    found += [
        (f"patient:{p.id}", f"{p.first_name} {p.last_name}", f"Patient · born {p.date_of_birth:%d/%m/%Y}")
        for p in patients
    ]
    return found[: limit * 2]


def resolve_person(*, practice, value):
    """A type-ahead value ("contact:12", "patient:34") or a typed name matching exactly one, or None."""

    text = (value or "").strip()
    kind, _, pk = text.partition(":")
    if kind in ("contact", "patient") and pk.isdigit():
        model = Contact if kind == "contact" else Patient
        return model.objects.for_practice(practice).filter(pk=int(pk)).first()
    if not text:
        return None
    exact = [Contact.objects.for_practice(practice).filter(name__iexact=text, is_archived=False).first()]
    exact = [c for c in exact if c]
    if len(exact) == 1:
        return exact[0]
    return None
