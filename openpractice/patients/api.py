"""/api/v1/patients and their relationships: the same rules and permissions as the pages."""

from __future__ import annotations

from datetime import date

from ninja import Router, Schema, Status
from pydantic import Field

from openpractice.contacts.models import Contact
from openpractice.patients import selectors, services
from openpractice.patients.errors import PatientError
from openpractice.patients.models import Patient, PatientRelationship, RelationshipType, Sex
from openpractice.practices.api_auth import auth_for
from openpractice.practices.roles import Capability
from openpractice.practices.tenancy import get_for_practice_or_404

router = Router(tags=["patients"])


class RelationshipOut(Schema):
    id: int
    relationship_type: RelationshipType
    related_contact_id: int | None
    related_patient_id: int | None
    name: str
    healthcode_identifier: str = Field("", description="Healthcode identifier (Insurance) of an insurance provider")
    registration_number: str
    authorisation_code: str
    authorised_sessions: int | None
    authorisation_expires: date | None
    notes: str


class PatientOut(Schema):
    id: int
    title: str
    first_name: str
    last_name: str
    date_of_birth: date
    sex: Sex
    nhs_number: str
    phone: str
    email: str
    address_line1: str
    address_line2: str
    city: str
    postcode: str
    is_archived: bool
    relationships: list[RelationshipOut] = []


class PatientPage(Schema):
    results: list[PatientOut]
    next_cursor: str | None = Field(description="Pass as `after` for the next page")
    prev_cursor: str | None = Field(description="Pass as `before` for the previous page")
    search_mode: str


class PatientIn(Schema):
    title: str = Field("", max_length=20)
    first_name: str = Field(..., min_length=1, max_length=100)
    last_name: str = Field(..., min_length=1, max_length=100)
    date_of_birth: date
    sex: Sex = Sex.UNKNOWN
    nhs_number: str = Field("", max_length=14, description="10 digits with a valid check digit")
    phone: str = Field("", max_length=30)
    email: str = Field("", max_length=254)
    address_line1: str = Field("", max_length=200)
    address_line2: str = Field("", max_length=200)
    city: str = Field("", max_length=100)
    postcode: str = Field("", max_length=10)


class RelationshipIn(Schema):
    relationship_type: RelationshipType
    related_contact_id: int | None = None
    related_patient_id: int | None = None
    registration_number: str = Field("", max_length=40)
    authorisation_code: str = Field("", max_length=40)
    authorised_sessions: int | None = None
    authorisation_expires: date | None = None
    notes: str = Field("", max_length=200)


class ArchiveIn(Schema):
    archived: bool = True


def _rel_out(r: PatientRelationship) -> dict:
    other = r.counterpart
    return {
        "id": r.id,
        "relationship_type": r.relationship_type,
        "related_contact_id": r.related_contact_id,
        "related_patient_id": r.related_patient_id,
        "name": other.name if isinstance(other, Contact) else f"{other.first_name} {other.last_name}",
        "healthcode_identifier": r.related_contact.insurer.healthcode_identifier
        if r.related_contact_id and r.related_contact.insurer_id
        else "",
        "registration_number": r.registration_number,
        "authorisation_code": r.authorisation_code,
        "authorised_sessions": r.authorised_sessions,
        "authorisation_expires": r.authorisation_expires,
        "notes": r.notes,
    }


def _out(p: Patient, *, full: bool = True) -> dict:
    out = {
        f: getattr(p, f)
        for f in (
            "id",
            "title",
            "first_name",
            "last_name",
            "date_of_birth",
            "sex",
            "nhs_number",
            "phone",
            "email",
            "address_line1",
            "address_line2",
            "city",
            "postcode",
            "is_archived",
        )
    }
    out["relationships"] = [_rel_out(r) for r in selectors.relationships_of(patient=p)] if full else []
    return out


@router.get("/patients", response=PatientPage, auth=auth_for(Capability.VIEW_RECORDS))
def search_patients(
    request,
    q: str = "",
    after: str | None = None,
    before: str | None = None,
    limit: int = 25,
    include_archived: bool = False,
):
    """Search by name, date of birth, phone, email, NHS number or registration number; keyset paged."""
    page = selectors.search_patients(
        practice=request.practice,
        query=q[:100],
        after=after,
        before=before,
        limit=limit,
        include_archived=include_archived,
    )
    return {
        "results": [_out(p, full=False) for p in page.patients],
        "next_cursor": page.next_cursor,
        "prev_cursor": page.prev_cursor,
        "search_mode": page.mode,
    }


@router.get("/patients/{patient_id}", response=PatientOut, auth=auth_for(Capability.VIEW_RECORDS))
def get_patient(request, patient_id: int):
    return _out(get_for_practice_or_404(Patient, request.practice, pk=patient_id))


@router.post("/patients", response={201: PatientOut}, auth=auth_for(Capability.EDIT_RECORDS))
def create_patient(request, payload: PatientIn):
    return Status(201, _out(services.create_patient(practice=request.practice, data=payload.dict())))


@router.put("/patients/{patient_id}", response=PatientOut, auth=auth_for(Capability.EDIT_RECORDS))
def update_patient(request, patient_id: int, payload: PatientIn):
    patient = get_for_practice_or_404(Patient, request.practice, pk=patient_id)
    return _out(services.update_patient(patient=patient, data=payload.dict()))


@router.post("/patients/{patient_id}/archive", response=PatientOut, auth=auth_for(Capability.EDIT_RECORDS))
def archive_patient(request, patient_id: int, payload: ArchiveIn):
    patient = get_for_practice_or_404(Patient, request.practice, pk=patient_id)
    return _out(services.set_archived(patient=patient, archived=payload.archived))


@router.post(
    "/patients/{patient_id}/relationships", response={201: RelationshipOut}, auth=auth_for(Capability.EDIT_RECORDS)
)
def add_relationship(request, patient_id: int, payload: RelationshipIn):
    patient = get_for_practice_or_404(Patient, request.practice, pk=patient_id)
    data = payload.dict(exclude={"related_contact_id", "related_patient_id"})
    data["related_contact"] = data["related_patient"] = None
    if payload.related_contact_id is not None:
        data["related_contact"] = (
            Contact.objects.for_practice(request.practice).filter(pk=payload.related_contact_id).first()
        )
        if data["related_contact"] is None:
            raise PatientError("No contact with that id in this practice.", field="related_contact_id")
    if payload.related_patient_id is not None:
        data["related_patient"] = (
            Patient.objects.for_practice(request.practice).filter(pk=payload.related_patient_id).first()
        )
        if data["related_patient"] is None:
            raise PatientError("No patient with that id in this practice.", field="related_patient_id")
    try:
        relationship = services.add_relationship(patient=patient, data=data)
    except PatientError as exc:
        if exc.field == "related":
            exc.field = "related_contact_id"
        raise
    return Status(201, _rel_out(relationship))


@router.delete(
    "/patients/{patient_id}/relationships/{relationship_id}",
    response={204: None},
    auth=auth_for(Capability.EDIT_RECORDS),
)
def remove_relationship(request, patient_id: int, relationship_id: int):
    patient = get_for_practice_or_404(Patient, request.practice, pk=patient_id)
    services.remove_relationship(
        relationship=get_for_practice_or_404(
            PatientRelationship.objects.filter(patient=patient), request.practice, pk=relationship_id
        )
    )
    return Status(204, None)
