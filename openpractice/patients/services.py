"""Everything that writes patients and their relationships. Keyword arguments, one transaction,
PatientError naming the field and what would be valid."""

from __future__ import annotations

import functools
from datetime import date

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, connection, transaction
from django.db.models import ProtectedError
from django.utils import timezone

from openpractice.coding import insurer_formats as formats
from openpractice.contacts.models import ContactType
from openpractice.db import bulk
from openpractice.patients import keys
from openpractice.patients.errors import PatientError
from openpractice.patients.models import Patient, PatientRelationship, RelationshipType, Sex
from openpractice.patients.validators import normalise_nhs_number, validate_nhs_number
from openpractice.practices.validators import normalise_postcode, validate_uk_postcode

PATIENT_FIELDS = (
    "title",
    "first_name",
    "last_name",
    "date_of_birth",
    "sex",
    "email",
    "phone",
    "address_line1",
    "address_line2",
    "city",
    "postcode",
    "nhs_number",
)


def _clean_patient(practice, data: dict, *, instance: Patient | None = None) -> dict:
    out = {}
    for field in PATIENT_FIELDS:
        value = data.get(field, getattr(instance, field) if instance else None)
        out[field] = value.strip() if isinstance(value, str) else value
    for field, label in (("first_name", "first name"), ("last_name", "last name")):
        if not out[field]:
            raise PatientError(f"Enter the patient's {label}.", field=field, code="required")
    dob = out["date_of_birth"]
    if not isinstance(dob, date):
        raise PatientError("Enter the date of birth, such as 12/04/1980.", field="date_of_birth", code="required")
    if dob > timezone.localdate() or dob.year < 1880:
        raise PatientError(
            "The date of birth must be a real date in the past, such as 12/04/1980.", field="date_of_birth"
        )
    out["sex"] = out["sex"] or Sex.UNKNOWN
    if out["sex"] not in Sex.values:
        raise PatientError(f"Choose the sex: {', '.join(Sex.labels)}.", field="sex")
    out["email"] = (out["email"] or "").lower()
    if out["email"]:
        try:
            validate_email(out["email"])
        except ValidationError:
            raise PatientError("Enter a valid email address, such as name@example.com.", field="email") from None
    out["postcode"] = out["postcode"] or ""
    if out["postcode"]:
        try:
            validate_uk_postcode(out["postcode"])
        except ValidationError as exc:
            raise PatientError(exc.messages[0], field="postcode") from None
        out["postcode"] = normalise_postcode(out["postcode"])
    out["nhs_number"] = normalise_nhs_number(out["nhs_number"])
    try:
        validate_nhs_number(out["nhs_number"])
    except ValidationError as exc:
        raise PatientError(exc.messages[0], field="nhs_number") from None
    if out["nhs_number"]:
        clash = Patient.objects.for_practice(practice).filter(nhs_number=out["nhs_number"])
        if instance is not None:
            clash = clash.exclude(pk=instance.pk)
        if clash.exists():
            raise PatientError(
                f"Another patient already has NHS number {out['nhs_number']}.", field="nhs_number", code="duplicate"
            )
    for field in ("title", "phone", "address_line1", "address_line2", "city"):
        out[field] = out[field] or ""
    return out


def _set_keys(patient: Patient) -> None:
    patient.last_name_key = keys.name_key(patient.last_name)
    patient.first_name_key = keys.name_key(patient.first_name)
    patient.phone_key = keys.phone_key(patient.phone)
    patient.email_key = keys.email_key(patient.email)


@transaction.atomic
def create_patient(*, practice, data: dict) -> Patient:
    patient = Patient(practice=practice, **_clean_patient(practice, data))
    _set_keys(patient)
    patient.save()
    return patient


@transaction.atomic
def update_patient(*, patient: Patient, data: dict) -> Patient:
    patient = Patient.objects.select_for_update().get(pk=patient.pk)
    for field, value in _clean_patient(patient.practice, data, instance=patient).items():
        setattr(patient, field, value)
    _set_keys(patient)
    patient.save()
    return patient


@transaction.atomic
def update_patient_and_add_relationship(
    *, patient: Patient, data: dict, relationship: dict | None
) -> tuple[Patient, PatientRelationship | None]:
    """The patient's edit page in one go: the details, and the new relationship when one was
    filled in. Both are saved or neither (a refused membership number leaves the details as they
    were), so "Save patient" never drops a relationship typed beside it."""
    patient = update_patient(patient=patient, data=data)
    added = add_relationship(patient=patient, data=relationship) if relationship is not None else None
    return patient, added


@transaction.atomic
def set_archived(*, patient: Patient, archived: bool) -> Patient:
    patient = Patient.objects.select_for_update().get(pk=patient.pk)
    patient.is_archived = archived
    patient._change_reason = "Archived" if archived else "Restored"
    patient.save(update_fields=["is_archived", "updated_at"])
    return patient


# -- relationships ---------------------------------------------------------------------------
RELATIONSHIP_FIELDS = (
    "relationship_type",
    "related_patient",
    "related_contact",
    "registration_number",
    "authorisation_code",
    "authorised_sessions",
    "authorisation_expires",
    "notes",
)


def _clean_relationship(patient: Patient, data: dict) -> dict:
    practice_id = patient.practice_id
    kind = data.get("relationship_type") or ""
    if kind not in RelationshipType.values:
        raise PatientError(
            f"Choose the relationship type: {', '.join(RelationshipType.labels)}.",
            field="relationship_type",
            code="required",
        )
    contact, other = data.get("related_contact"), data.get("related_patient")
    if (contact is None) == (other is None):
        raise PatientError("Choose one patient or contact by name.", field="related", code="required")
    if (
        contact is not None
        and contact.practice_id != practice_id
        or other is not None
        and other.practice_id != practice_id
    ):
        raise PatientError("Choose a patient or contact of this practice.", field="related")
    if other is not None and other.pk == patient.pk:
        raise PatientError("A patient cannot be their own relationship; choose someone else.", field="related")
    out = {
        "relationship_type": kind,
        "related_contact": contact,
        "related_patient": other,
        "notes": (data.get("notes") or "").strip(),
        "registration_number": "",
        "authorisation_code": "",
        "authorised_sessions": None,
        "authorisation_expires": None,
    }
    if kind != RelationshipType.INSURANCE:
        return out
    if contact is None or contact.contact_type != ContactType.INSURER or contact.insurer_id is None:
        raise PatientError(
            "An insurance provider must be an insurer contact with its Healthcode identifier (Insurance) set.",
            field="related",
        )
    insurer = contact.insurer
    registration = formats.check_registration_number(
        data.get("registration_number"), identifier=insurer.healthcode_identifier, name=insurer.name
    )
    if not registration.ok:
        raise PatientError(registration.message, field="registration_number")
    authorisation = formats.check_authorisation_code(
        data.get("authorisation_code"),
        identifier=insurer.healthcode_identifier,
        name=insurer.name,
        registration_number=registration.value,  # an Aetna Americas member's code is Aetna's
    )
    if not authorisation.ok:
        raise PatientError(authorisation.message, field="authorisation_code")
    sessions = data.get("authorised_sessions")
    if sessions is not None and not (isinstance(sessions, int) and 1 <= sessions <= 999):
        raise PatientError("Authorised sessions must be a whole number from 1 to 999.", field="authorised_sessions")
    expires = data.get("authorisation_expires")
    if expires is not None and not isinstance(expires, date):
        raise PatientError(
            "Enter the authorisation expiry as a date, such as 31/12/2026.", field="authorisation_expires"
        )
    if (sessions or expires) and not authorisation.value:
        raise PatientError(
            "Enter the authorisation code the sessions and expiry belong to.",
            field="authorisation_code",
            code="required",
        )
    out.update(
        registration_number=registration.value,
        authorisation_code=authorisation.value,
        authorised_sessions=sessions,
        authorisation_expires=expires,
    )
    return out


def _save_relationship(relationship: PatientRelationship, values: dict) -> PatientRelationship:
    for field, value in values.items():
        setattr(relationship, field, value)
    relationship.registration_key = keys.registration_key(relationship.registration_number)
    try:
        with transaction.atomic():
            relationship.save()
    except IntegrityError:
        raise PatientError(
            "That relationship is not complete: choose who it is with, and for an insurance "
            "provider enter the registration number.",
            field="related",
        ) from None
    return relationship


@transaction.atomic
def add_relationship(*, patient: Patient, data: dict) -> PatientRelationship:
    values = _clean_relationship(patient, data)
    return _save_relationship(PatientRelationship(practice_id=patient.practice_id, patient=patient), values)


@transaction.atomic
def update_relationship(*, relationship: PatientRelationship, data: dict) -> PatientRelationship:
    relationship = PatientRelationship.objects.select_for_update().select_related("patient").get(pk=relationship.pk)
    merged = {f: getattr(relationship, f) for f in RELATIONSHIP_FIELDS}
    merged.update(data)
    return _save_relationship(relationship, _clean_relationship(relationship.patient, merged))


@transaction.atomic
def remove_relationship(*, relationship: PatientRelationship) -> None:
    """Refused for a membership an invoice was billed with: the invoice keeps pointing at it."""
    try:
        with transaction.atomic():
            relationship.delete()
    except ProtectedError:
        raise PatientError(
            f"{relationship.name} is on an invoice, so it stays on the record. If the patient's "
            "insurance has changed, add the new membership as another relationship.",
            code="in_use",
        ) from None


# -- bulk import -----------------------------------------------------------------------------
IMPORT_COLUMNS = (
    "id",
    "practice_id",
    *PATIENT_FIELDS,
    "is_archived",
    "created_at",
    "updated_at",
    "last_name_key",
    "first_name_key",
    "phone_key",
    "email_key",
)
_RELATIONSHIP_COLUMNS = (
    "practice_id",
    "patient_id",
    "relationship_type",
    "related_contact_id",
    "registration_number",
    "registration_key",
    "authorisation_code",
    "notes",
    "created_at",
)


def _new_ids(model, count: int) -> list[int]:
    """Ids for rows written in bulk: from the PostgreSQL sequence, or on SQLite after the largest
    id (the caller's transaction holds SQLite's one write lock from its first write on)."""
    ids = bulk.reserve_ids(model, count)
    if ids is not None:
        return ids
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {connection.ops.quote_name(model._meta.db_table)}")
        start = cursor.fetchone()[0] + 1
    return list(range(start, start + count))


def import_patients(*, practice, patients: list[dict], insurance: list[tuple[int, int, str]]) -> list[int]:
    """Write many patients already checked by the caller (the data import checks each row with the
    same validators as `_clean_patient`: NHS number, dates, postcode, email; and each membership
    number with insurer_formats), with COPY on PostgreSQL. `insurance`: (index into `patients`,
    insurer contact id, registration number). Returns the new ids in order. Must run inside the
    caller's transaction (all or nothing). Plain rows: no history rows (the import run records
    where each came from)."""
    if not connection.in_atomic_block:
        raise RuntimeError("import_patients must run inside a transaction")
    if not patients:
        return []
    ids = _new_ids(Patient, len(patients))
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    # As text where COPY reads text anyway (no conversion per value), typed for SQLite.
    text = connection.vendor == "postgresql"
    now, practice_id, no = (str(now), str(practice.pk), "f") if text else (now, practice.pk, False)
    name_key = functools.lru_cache(maxsize=65536)(keys.name_key)  # names repeat: Smith, Oliver …
    phone_key, email_key = keys.phone_key, keys.email_key
    rows = [
        (
            str(pk) if text else pk,
            practice_id,
            p.get("title", ""),
            p["first_name"],
            p["last_name"],
            p["date_of_birth"].isoformat(),  # text on both: COPY reads it, SQLite stores dates as text
            p.get("sex") or Sex.UNKNOWN,
            p.get("email", ""),
            p.get("phone", ""),
            p.get("address_line1", ""),
            p.get("address_line2", ""),
            p.get("city", ""),
            p.get("postcode", ""),
            p.get("nhs_number", ""),
            no,
            now,
            now,
            name_key(p["last_name"]),
            name_key(p["first_name"]),
            phone_key(p.get("phone")),
            email_key(p.get("email")),
        )
        for pk, p in zip(ids, patients, strict=True)
    ]
    bulk.copy_rows(Patient._meta.db_table, IMPORT_COLUMNS, rows)
    bulk.copy_rows(
        PatientRelationship._meta.db_table,
        _RELATIONSHIP_COLUMNS,
        [
            (
                practice.pk,
                ids[index],
                RelationshipType.INSURANCE,
                contact_id,
                number,
                keys.registration_key(number),
                "",
                "",
                now,
            )
            for index, contact_id, number in insurance
        ],
    )
    return ids
