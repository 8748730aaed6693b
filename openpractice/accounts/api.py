"""/api/v1/ endpoints for practitioner profiles (Settings > Users > a user's practitioner details)."""

from __future__ import annotations

from ninja import Router, Schema
from pydantic import Field

from openpractice.accounts import services
from openpractice.accounts.models import PractitionerProfile
from openpractice.practices.api_auth import auth_for
from openpractice.practices.models import Membership
from openpractice.practices.roles import Capability
from openpractice.practices.tenancy import get_for_practice_or_404

router = Router(tags=["users"])


class PractitionerOut(Schema):
    membership_id: int
    full_name: str
    healthcode_identifier: str
    gmc_number: str
    specialty: str
    professional_title: str
    warnings: list[str] = Field(
        default_factory=list, description="Such as a 6-digit identifier missing its leading zero"
    )


class PractitionerIn(Schema):
    healthcode_identifier: str = Field("", max_length=12, description="Digits only, such as 0651978")
    gmc_number: str = Field("", max_length=9, description="7 digits")
    specialty: str = Field("", max_length=120)
    professional_title: str = Field("", max_length=120)


def _out(membership: Membership, profile: PractitionerProfile | None, warnings: list[str] | None = None) -> dict:
    return {
        "membership_id": membership.id,
        "full_name": membership.user.full_name,
        "healthcode_identifier": profile.healthcode_identifier if profile else "",
        "gmc_number": profile.gmc_number if profile else "",
        "specialty": profile.specialty if profile else "",
        "professional_title": profile.professional_title if profile else "",
        "warnings": warnings
        if warnings is not None
        else ([profile.identifier_warning] if profile and profile.identifier_warning else []),
    }


@router.get("/users/{membership_id}/practitioner", response=PractitionerOut, auth=auth_for(Capability.VIEW_RECORDS))
def get_practitioner(request, membership_id: int):
    membership = get_for_practice_or_404(Membership.objects.select_related("user"), request.practice, pk=membership_id)
    return _out(membership, PractitionerProfile.objects.filter(membership=membership).first())


@router.put("/users/{membership_id}/practitioner", response=PractitionerOut, auth=auth_for(Capability.MANAGE_USERS))
def put_practitioner(request, membership_id: int, payload: PractitionerIn):
    membership = get_for_practice_or_404(Membership.objects.select_related("user"), request.practice, pk=membership_id)
    profile, warnings = services.save_practitioner_profile(membership=membership, **payload.dict())
    return _out(membership, profile, warnings)


@router.get("/practitioners", response=list[PractitionerOut], auth=auth_for(Capability.VIEW_RECORDS))
def list_practitioners(request):
    """Members with a Healthcode identifier in this practice."""
    profiles = (
        PractitionerProfile.objects.filter(practice=request.practice)
        .exclude(healthcode_identifier="")
        .select_related("membership__user")
        .order_by("membership__user__full_name")
    )
    return [_out(p.membership, p) for p in profiles]
