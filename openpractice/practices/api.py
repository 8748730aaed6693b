"""/api/v1/ endpoints for the current practice, its locations and users."""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from ninja import Router, Schema, Status
from pydantic import Field, field_validator

from openpractice.practices import selectors, services
from openpractice.practices.api_auth import auth_for, require
from openpractice.practices.models import (
    Invitation,
    InvitationStatus,
    Location,
    Membership,
)
from openpractice.practices.roles import CAPABILITIES, Capability, Role
from openpractice.practices.tenancy import get_for_practice_or_404
from openpractice.practices.validators import normalise_postcode, validate_uk_postcode

router = Router(tags=["practice"])


class MeOut(Schema):
    email: str
    full_name: str
    practice_id: int
    practice_name: str
    role: str
    capabilities: list[str]


class PracticeOut(Schema):
    id: int
    name: str
    address_line1: str
    address_line2: str
    city: str
    postcode: str
    phone: str
    email: str
    website: str
    bank_account_name: str
    bank_sort_code: str
    bank_account_number: str


def _postcode(value: str | None) -> str | None:
    if value:
        try:
            validate_uk_postcode(value)
        except ValidationError as exc:
            raise ValueError(exc.messages[0]) from None
        return normalise_postcode(value)
    return value


class PracticeIn(Schema):
    name: str | None = Field(None, min_length=1, max_length=200)
    address_line1: str | None = Field(None, max_length=200)
    address_line2: str | None = Field(None, max_length=200)
    city: str | None = Field(None, max_length=100)
    postcode: str | None = Field(None, max_length=10)
    phone: str | None = Field(None, max_length=30)
    email: str | None = None
    website: str | None = Field(None, max_length=200)
    bank_account_name: str | None = Field(None, max_length=100)
    bank_sort_code: str | None = Field(None, max_length=20, description="Six digits, such as 20-00-00.")
    bank_account_number: str | None = Field(None, max_length=20, description="Eight digits.")

    _check_postcode = field_validator("postcode")(_postcode)
    _check_email = field_validator("email")(lambda v: _email(v) if v else v)


class LocationOut(Schema):
    id: int
    name: str
    address_line1: str
    address_line2: str
    city: str
    postcode: str
    phone: str
    is_active: bool
    healthcode_600_number: str = Field(description="600 followed by 6 digits, for a provider or payee location")
    is_provider: bool
    is_payee: bool


class LocationIn(Schema):
    name: str = Field(..., min_length=1, max_length=200)
    address_line1: str = Field("", max_length=200)
    address_line2: str = Field("", max_length=200)
    city: str = Field("", max_length=100)
    postcode: str = Field("", max_length=10)
    phone: str = Field("", max_length=30)
    is_active: bool = True
    healthcode_600_number: str = Field("", max_length=12, description="600 followed by 6 digits, such as 600123456")
    is_provider: bool = False
    is_payee: bool = False

    _check_postcode = field_validator("postcode")(_postcode)


class LocationPatch(Schema):
    name: str | None = Field(None, min_length=1, max_length=200)
    address_line1: str | None = Field(None, max_length=200)
    address_line2: str | None = Field(None, max_length=200)
    city: str | None = Field(None, max_length=100)
    postcode: str | None = Field(None, max_length=10)
    phone: str | None = Field(None, max_length=30)
    is_active: bool | None = None
    healthcode_600_number: str | None = Field(None, max_length=12)
    is_provider: bool | None = None
    is_payee: bool | None = None

    _check_postcode = field_validator("postcode")(_postcode)


class MemberOut(Schema):
    id: int
    email: str
    full_name: str
    role: Role
    is_active: bool


def _email(value: str) -> str:
    try:
        validate_email(value)
    except ValidationError:
        raise ValueError("Enter a valid email address, such as name@practice.co.uk.") from None
    return value.strip().lower()


class InviteIn(Schema):
    email: str
    full_name: str = Field("", max_length=150, description="Used to greet them in the email.")
    role: Role

    _check_email = field_validator("email")(_email)


class InvitationSentOut(Schema):
    detail: str = Field(description="The same answer whether or not the email has an account anywhere.")
    email: str


class InvitationOut(Schema):
    id: int
    email: str
    role: Role
    status: InvitationStatus
    sent_at: datetime
    expires_at: datetime


class MemberPatch(Schema):
    role: Role | None = None
    is_active: bool | None = None


def _member_out(m: Membership) -> dict:
    return {"id": m.id, "email": m.user.email, "full_name": m.user.full_name, "role": m.role, "is_active": m.is_active}


@router.get("/me", response=MeOut, summary="Who am I, in which practice")
def me(request):
    membership = require(request)
    return {
        "email": request.user.email,
        "full_name": request.user.full_name,
        "practice_id": membership.practice_id,
        "practice_name": membership.practice.name,
        "role": membership.role,
        "capabilities": sorted(CAPABILITIES[membership.role]),
    }


@router.get("/practice", response=PracticeOut, auth=auth_for(Capability.VIEW_RECORDS))
def get_practice(request):
    return request.practice


@router.patch("/practice", response=PracticeOut, auth=auth_for(Capability.MANAGE_SETTINGS))
def patch_practice(request, payload: PracticeIn):
    return services.update_practice(practice=request.practice, data=payload.dict(exclude_none=True))


@router.get("/locations", response=list[LocationOut], auth=auth_for(Capability.VIEW_RECORDS))
def list_locations(request):
    return selectors.practice_locations(practice=request.practice)


@router.get("/locations/{location_id}", response=LocationOut, auth=auth_for(Capability.VIEW_RECORDS))
def get_location(request, location_id: int):
    return get_for_practice_or_404(Location, request.practice, pk=location_id)


@router.post("/locations", response={201: LocationOut}, auth=auth_for(Capability.MANAGE_SETTINGS))
def create_location(request, payload: LocationIn):
    return Status(201, services.create_location(practice=request.practice, data=payload.dict()))


@router.patch("/locations/{location_id}", response=LocationOut, auth=auth_for(Capability.MANAGE_SETTINGS))
def patch_location(request, location_id: int, payload: LocationPatch):
    location = get_for_practice_or_404(Location, request.practice, pk=location_id)
    return services.update_location(location=location, data=payload.dict(exclude_none=True))


@router.get("/users", response=list[MemberOut], auth=auth_for(Capability.MANAGE_USERS))
def list_users(request):
    return [_member_out(m) for m in selectors.practice_members(practice=request.practice)]


@router.post(
    "/users",
    response={202: InvitationSentOut},
    auth=auth_for(Capability.MANAGE_USERS),
    summary="Invite a user by email",
)
def add_user(request, payload: InviteIn):
    """Emails an invitation; the person becomes a member when they accept it. The answer says
    nothing about whether the email already has an account."""
    invitation = services.invite_member(
        practice=request.practice,
        email=payload.email,
        full_name=payload.full_name,
        role=payload.role,
        invited_by=request.user,
        base_url=request.build_absolute_uri("/"),
    )
    return Status(202, {"detail": f"Invitation sent to {invitation.email}.", "email": invitation.email})


def _invitation_out(i: Invitation) -> dict:
    return {
        "id": i.id,
        "email": i.email,
        "role": i.role,
        "status": i.status,
        "sent_at": i.sent_at,
        "expires_at": i.expires_at,
    }


@router.get(
    "/invitations",
    response=list[InvitationOut],
    auth=auth_for(Capability.MANAGE_USERS),
    summary="Invitations not yet accepted or revoked",
)
def list_invitations(request):
    return [_invitation_out(i) for i in selectors.open_invitations(practice=request.practice)]


@router.post(
    "/invitations/{invitation_id}/resend",
    response={202: InvitationSentOut},
    auth=auth_for(Capability.MANAGE_USERS),
    summary="Send an invitation again with a new link",
)
def resend_invitation(request, invitation_id: int):
    invitation = get_for_practice_or_404(Invitation, request.practice, pk=invitation_id)
    invitation = services.resend_invitation(
        invitation=invitation, sent_by=request.user, base_url=request.build_absolute_uri("/")
    )
    return Status(202, {"detail": f"Invitation sent again to {invitation.email}.", "email": invitation.email})


@router.delete(
    "/invitations/{invitation_id}",
    response=InvitationOut,
    auth=auth_for(Capability.MANAGE_USERS),
    summary="Revoke an invitation",
)
def revoke_invitation(request, invitation_id: int):
    invitation = get_for_practice_or_404(Invitation, request.practice, pk=invitation_id)
    return _invitation_out(services.revoke_invitation(invitation=invitation, revoked_by=request.user))


@router.patch("/users/{membership_id}", response=MemberOut, auth=auth_for(Capability.MANAGE_USERS))
def patch_user(request, membership_id: int, payload: MemberPatch):
    membership = get_for_practice_or_404(Membership.objects.select_related("user"), request.practice, pk=membership_id)
    membership = services.change_member(
        membership=membership,
        role=payload.role if payload.role is not None else membership.role,
        is_active=payload.is_active if payload.is_active is not None else membership.is_active,
        changed_by=request.user,
    )
    return _member_out(membership)
