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
from django.db.models import QuerySet

from openpractice.contacts.models import Contact
from openpractice.contacts.selectors import search_contacts
from openpractice.db import rows, sql
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


# A search condition: SQL over the patients table as `p`, with its parameters ("" is no condition).
Condition = tuple[str, list]
NO_CONDITION: Condition = ("", [])
NOTHING: Condition = ("1 = 0", [])

PATIENTS = Patient._meta.db_table
RELATIONSHIPS = PatientRelationship._meta.db_table


def _range(column: str, prefix: str) -> Condition:
    return f"p.{column} >= %s AND p.{column} < %s", [prefix, keys.next_prefix(prefix)]


def _both(first: Condition, second: Condition) -> Condition:
    if not second[0]:
        return first
    if not first[0]:
        return second
    return f"{first[0]} AND {second[0]}", first[1] + second[1]


def _either(first: Condition, ids: list[int]) -> Condition:
    """`first`, or the patient is one of `ids`."""
    if not ids:
        return first
    return f"({first[0]} OR p.id IN ({', '.join(['%s'] * len(ids))}))", first[1] + ids


def _ids_in(ids: list[int]) -> Condition:
    return (f"p.id IN ({', '.join(['%s'] * len(ids))})", list(ids)) if ids else NOTHING


_DATE_SHAPE = re.compile(r"\d{1,4}[/.\-]\d{1,2}[/.\-]\d{1,4}")


def _parse_date(text: str) -> date | None:
    if not _DATE_SHAPE.fullmatch(text):  # every DATE_FORMATS shape; a name is not tried five times
        return None
    for fmt in DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def _registration_ids(practice, key: str, *, prefix: bool) -> list[int]:
    """Patients whose insurance registration key is `key` (or starts with it), MAX_MATCHES at most."""
    if prefix:
        where, params = "registration_key >= %s AND registration_key < %s", [key, keys.next_prefix(key)]
    else:
        where, params = "registration_key = %s", [key]
    found = sql.fetch_all(
        f"SELECT patient_id FROM {RELATIONSHIPS} WHERE practice_id = %s AND {where} LIMIT {MAX_MATCHES}",
        [practice.pk, *params],
    )
    return [patient_id for (patient_id,) in found if patient_id is not None]


def search_filter(practice, query: str) -> tuple[str, Condition]:
    """(mode, condition) for what was typed; see the module docstring."""
    text = (query or "").strip()
    if not text:
        return "all", NO_CONDITION
    day = _parse_date(text)
    if day:
        return "date_of_birth", ("p.date_of_birth = %s", [sql.date_value(day)])
    if "@" in text or re.fullmatch(r"[^\s@,]+\.[^\s@,]*[a-z0-9][^\s@,]*", text, re.I) and "." in text[1:]:
        # name@…, or a dotted word such as "oliver.benn" (names with a full stop have a space)
        return "email", _range("email_key", keys.email_key(text))
    compact = re.sub(r"[\s\-()+]", "", text)
    if compact.isdigit():
        registered = _registration_ids(practice, compact, prefix=False)
        if len(compact) == 10 and nhs_number.is_valid(compact):
            return "nhs_number", _either(("p.nhs_number = %s", [compact]), registered)
        return "phone_or_registration", _either(_range("phone_key", keys.phone_key(text)), registered)
    if re.search(r"\d", text):
        return "registration_number", _ids_in(_registration_ids(practice, keys.registration_key(text), prefix=True))
    if "," in text:
        last, _, first = text.partition(",")
    else:
        words = text.split()
        first, last = (" ".join(words[:-1]), words[-1]) if len(words) > 1 else ("", words[0])
    condition = _range("last_name_key", keys.name_key(last)) if keys.name_key(last) else NO_CONDITION
    if keys.name_key(first):
        condition = _both(condition, _range("first_name_key", keys.name_key(first)))
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


def _after(last: str, first: str, pk: int) -> Condition:
    # The leading >= gives both databases a range start on the (practice, last, first, id) index.
    return (
        "p.last_name_key >= %s AND (p.last_name_key > %s OR (p.last_name_key = %s AND p.first_name_key > %s)"
        " OR (p.last_name_key = %s AND p.first_name_key = %s AND p.id > %s))",
        [last, last, last, first, last, first, pk],
    )


def _before(last: str, first: str, pk: int) -> Condition:
    return (
        "p.last_name_key <= %s AND (p.last_name_key < %s OR (p.last_name_key = %s AND p.first_name_key < %s)"
        " OR (p.last_name_key = %s AND p.first_name_key = %s AND p.id < %s))",
        [last, last, last, first, last, first, pk],
    )


ORDER_SQL = "p.last_name_key, p.first_name_key, p.id"
ORDER_SQL_BACKWARDS = "p.last_name_key DESC, p.first_name_key DESC, p.id DESC"
# A list's patients (the search page, the API's results, the people type-ahead) are read without
# their two timestamps, which nothing listing them shows: Django's PostgreSQL driver parses each
# timestamp in Python, a third of the cost of turning 26 rows into patients. Touching one reads it.
LIST_COLUMNS = tuple(f.attname for f in Patient._meta.concrete_fields if f.attname not in ("created_at", "updated_at"))

# Searches other than by name find at most this many patients (a phone prefix as short as "07"
# would match everyone: the page asks for more digits).
MAX_MATCHES = 500


def _patients(where: Condition, *, order: str, limit: int) -> list[Patient]:
    """Patients matching `where`, in `order`, `limit` at most. Hand-written (openpractice.db.rows):
    the search runs on every keystroke of the list's box, and the ORM took longer to build the
    statement than the database took to answer it (issue 18)."""
    listed = rows.Only(Patient, LIST_COLUMNS)
    found = rows.every(
        f"SELECT {rows.columns(listed, 'p')} FROM {PATIENTS} p WHERE {where[0]} ORDER BY {order} LIMIT %s",
        [*where[1], limit],
        listed,
    )
    return [patient for (patient,) in found]


def search_patients(
    *,
    practice,
    query: str = "",
    after: str | None = None,
    before: str | None = None,
    limit: int = PAGE_SIZE,
    include_archived: bool = False,
) -> SearchPage:
    if practice is None:
        return SearchPage([], "all", None, None)
    mode, condition = search_filter(practice, query)
    base: Condition = ("p.practice_id = %s", [practice.pk])
    if not include_archived:
        base = _both(base, ("NOT p.is_archived", []))
    if mode in ("all", "name"):
        base = _both(base, condition)
    else:
        # Selective searches first collect the matching ids through their own index, unordered;
        # ordering them by name here would tempt PostgreSQL to walk the name index and filter
        # (fast when matches are many, a full scan when they are few).
        where, params = _both(base, condition)
        ids = sql.fetch_all(f"SELECT p.id FROM {PATIENTS} p WHERE {where} LIMIT {MAX_MATCHES}", params)
        base = _ids_in([pk for (pk,) in ids])
    limit = max(1, min(limit, 100))
    position = _decode(before) if before else _decode(after) if after else None
    if before and position:
        found = _patients(_both(base, _before(*position)), order=ORDER_SQL_BACKWARDS, limit=limit + 1)
        has_more_before = len(found) > limit
        found = list(reversed(found[:limit]))
        return SearchPage(
            found,
            mode,
            _encode(found[-1]) if found else None,
            _encode(found[0]) if found and has_more_before else None,
        )
    if position:
        base = _both(base, _after(*position))
    found = _patients(base, order=ORDER_SQL, limit=limit + 1)
    has_next = len(found) > limit
    found = found[:limit]
    return SearchPage(
        found, mode, _encode(found[-1]) if has_next else None, _encode(found[0]) if position and found else None
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
    _, condition = search_filter(practice, text) if not re.search(r"\d", text) else ("", NOTHING)
    where = _both(_both(("p.practice_id = %s", [practice.pk]), ("NOT p.is_archived", [])), condition)
    patients = _patients(where, order=ORDER_SQL, limit=limit)
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
