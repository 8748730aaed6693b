"""/api/v1/contacts: the same rules and permissions as the pages."""

from __future__ import annotations

from ninja import Router, Schema, Status
from pydantic import Field

from openpractice.coding.selectors import find_insurer, get_insurer
from openpractice.contacts import selectors, services
from openpractice.contacts.errors import ContactError
from openpractice.contacts.models import Contact, ContactType
from openpractice.pagination import limit_param, offset_param, page_of
from openpractice.practices.api_auth import auth_for
from openpractice.practices.roles import Capability
from openpractice.practices.tenancy import get_for_practice_or_404

router = Router(tags=["contacts"])


class ContactOut(Schema):
    id: int
    contact_type: ContactType
    name: str
    insurer_id: int | None = None
    healthcode_identifier: str = Field("", description="Healthcode identifier (Insurance) of an insurer contact")
    insurer_name: str = ""
    email: str
    phone: str
    address_line1: str
    address_line2: str
    city: str
    postcode: str
    notes: str
    usual_days_to_pay: int = Field(30, description="An insurer's: bills unpaid longer show on the insurer debt list")
    is_archived: bool


class ContactIn(Schema):
    contact_type: ContactType
    name: str = Field(..., min_length=1, max_length=200)
    insurer_id: int | None = Field(None, description="An entry of the insurer directory (see /coding/insurers)")
    healthcode_identifier: str | None = Field(None, description="Or the insurer's Healthcode identifier, such as bup")
    email: str = Field("", max_length=254)
    phone: str = Field("", max_length=30)
    address_line1: str = Field("", max_length=200)
    address_line2: str = Field("", max_length=200)
    city: str = Field("", max_length=100)
    postcode: str = Field("", max_length=10)
    notes: str = ""
    usual_days_to_pay: int = Field(30, ge=0, le=365, description="An insurer's usual days to pay (AXA: 30)")


class ArchiveIn(Schema):
    archived: bool = True


def _out(c: Contact) -> dict:
    return {
        "id": c.id,
        "contact_type": c.contact_type,
        "name": c.name,
        "insurer_id": c.insurer_id,
        "healthcode_identifier": c.insurer.healthcode_identifier if c.insurer_id else "",
        "insurer_name": c.insurer.name if c.insurer_id else "",
        "email": c.email,
        "phone": c.phone,
        "address_line1": c.address_line1,
        "address_line2": c.address_line2,
        "city": c.city,
        "postcode": c.postcode,
        "notes": c.notes,
        "usual_days_to_pay": c.usual_days_to_pay,
        "is_archived": c.is_archived,
    }


def _data(request, payload: ContactIn) -> dict:
    data = payload.dict(exclude={"insurer_id", "healthcode_identifier"})
    insurer = None
    if payload.insurer_id is not None:
        insurer = get_insurer(practice=request.practice, insurer_id=payload.insurer_id)
        if insurer is None:
            raise ContactError("No insurer with that id in this practice's directory.", field="insurer_id")
    elif payload.healthcode_identifier:
        insurer = find_insurer(practice=request.practice, healthcode_identifier=payload.healthcode_identifier)
        if insurer is None:
            raise ContactError(
                f"No insurer in the directory has Healthcode identifier “{payload.healthcode_identifier}”.",
                field="healthcode_identifier",
            )
    data["insurer"] = insurer
    return data


@router.get("/contacts", response=list[ContactOut], auth=auth_for(Capability.VIEW_RECORDS))
def list_contacts(
    request,
    q: str = "",
    contact_type: str = "",
    include_archived: bool = False,
    limit: int = limit_param(50, 200),
    offset: int = offset_param(),
):
    qs = selectors.search_contacts(
        practice=request.practice,
        query=q[:100],
        contact_type=contact_type if contact_type in ContactType.values else "",
        include_archived=include_archived,
    )
    return [_out(c) for c in page_of(qs, limit=limit, offset=offset, maximum=200)]


@router.get("/contacts/{contact_id}", response=ContactOut, auth=auth_for(Capability.VIEW_RECORDS))
def get_contact(request, contact_id: int):
    return _out(get_for_practice_or_404(Contact.objects.select_related("insurer"), request.practice, pk=contact_id))


@router.post("/contacts", response={201: ContactOut}, auth=auth_for(Capability.EDIT_RECORDS))
def create_contact(request, payload: ContactIn):
    return Status(201, _out(services.create_contact(practice=request.practice, data=_data(request, payload))))


@router.put("/contacts/{contact_id}", response=ContactOut, auth=auth_for(Capability.EDIT_RECORDS))
def update_contact(request, contact_id: int, payload: ContactIn):
    contact = get_for_practice_or_404(Contact, request.practice, pk=contact_id)
    return _out(services.update_contact(contact=contact, data=_data(request, payload)))


@router.post("/contacts/{contact_id}/archive", response=ContactOut, auth=auth_for(Capability.EDIT_RECORDS))
def archive_contact(request, contact_id: int, payload: ArchiveIn):
    contact = get_for_practice_or_404(Contact, request.practice, pk=contact_id)
    return _out(services.set_archived(contact=contact, archived=payload.archived))
