"""Writes for accounts: API tokens and practitioner profiles."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from django.core.exceptions import ValidationError

from openpractice.accounts.errors import AccountError
from openpractice.accounts.models import ApiToken, PractitionerProfile, hash_token
from openpractice.accounts.validators import (
    healthcode_identifier_warning,
    normalise_digits,
    validate_gmc_number,
    validate_healthcode_identifier,
)


@transaction.atomic
def create_api_token(*, user, practice, name: str) -> tuple[ApiToken, str]:
    """Make a token for this user in this practice. The raw value is returned once, never stored."""
    raw = ApiToken.generate_raw()
    token = ApiToken.objects.create(
        user=user, practice=practice, name=name.strip() or "API token",
        token_hash=hash_token(raw), prefix=raw[:10],
    )
    return token, raw


@transaction.atomic
def revoke_api_token(*, token: ApiToken) -> ApiToken:
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    return token


@transaction.atomic
def save_practitioner_profile(
    *, membership, healthcode_identifier: str = "", gmc_number: str = "", specialty: str = "",
    professional_title: str = "",
) -> tuple[PractitionerProfile, list[str]]:
    """Set a member's practitioner details; returns the profile and any warnings to show.

    The Healthcode identifier is digits only and unique within the practice; a 6-digit one is
    saved with a warning (it is probably a GMC number without its leading zero)."""
    identifier = normalise_digits(healthcode_identifier)
    gmc = normalise_digits(gmc_number)
    for value, check, field in ((identifier, validate_healthcode_identifier, "healthcode_identifier"),
                                (gmc, validate_gmc_number, "gmc_number")):
        try:
            check(value)
        except ValidationError as exc:
            raise AccountError(exc.messages[0], field=field, code=exc.code or "invalid") from None
    if identifier and (
        PractitionerProfile.objects.filter(practice_id=membership.practice_id, healthcode_identifier=identifier)
        .exclude(membership=membership).exists()
    ):
        raise AccountError(f"Healthcode identifier {identifier} already belongs to another practitioner in this "
                           "practice.", field="healthcode_identifier", code="duplicate")
    profile = (PractitionerProfile.objects.select_for_update().filter(membership=membership).first()
               or PractitionerProfile(membership=membership, practice_id=membership.practice_id))
    profile.healthcode_identifier = identifier
    profile.gmc_number = gmc
    profile.specialty = specialty.strip()
    profile.professional_title = professional_title.strip()
    profile.save()
    warning = healthcode_identifier_warning(identifier)
    return profile, [warning] if warning else []
