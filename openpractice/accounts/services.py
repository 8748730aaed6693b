"""Writes for accounts: API tokens, practitioner profiles and two-factor sign-in."""

from __future__ import annotations

import hashlib
import re

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from openpractice.accounts import selectors
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
        user=user,
        practice=practice,
        name=name.strip() or "API token",
        token_hash=hash_token(raw),
        prefix=raw[:10],
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
    *,
    membership,
    healthcode_identifier: str = "",
    gmc_number: str = "",
    specialty: str = "",
    professional_title: str = "",
) -> tuple[PractitionerProfile, list[str]]:
    """Set a member's practitioner details; returns the profile and any warnings to show.

    The Healthcode identifier is digits only and unique within the practice; a 6-digit one is
    saved with a warning (it is probably a GMC number without its leading zero)."""
    identifier = normalise_digits(healthcode_identifier)
    gmc = normalise_digits(gmc_number)
    for value, check, field in (
        (identifier, validate_healthcode_identifier, "healthcode_identifier"),
        (gmc, validate_gmc_number, "gmc_number"),
    ):
        try:
            check(value)
        except ValidationError as exc:
            raise AccountError(exc.messages[0], field=field, code=exc.code or "invalid") from None
    if identifier and (
        PractitionerProfile.objects.filter(practice_id=membership.practice_id, healthcode_identifier=identifier)
        .exclude(membership=membership)
        .exists()
    ):
        raise AccountError(
            f"Healthcode identifier {identifier} already belongs to another practitioner in this practice.",
            field="healthcode_identifier",
            code="duplicate",
        )
    profile = PractitionerProfile.objects.select_for_update().filter(
        membership=membership
    ).first() or PractitionerProfile(membership=membership, practice_id=membership.practice_id)
    profile.healthcode_identifier = identifier
    profile.gmc_number = gmc
    profile.specialty = specialty.strip()
    profile.professional_title = professional_title.strip()
    profile.save()
    warning = healthcode_identifier_warning(identifier)
    return profile, [warning] if warning else []


# Two-factor sign-in. The devices are django-otp's: a TOTPDevice ("Authenticator app") and a
# StaticDevice holding the recovery codes. A TOTP device counts only once confirmed, i.e. after a
# correct code from the app; recovery codes are stored as SHA-256 fingerprints (like API tokens)
# and shown to the person once.

RECOVERY_CODE_COUNT = 10
AUTHENTICATOR_NAME = "Authenticator app"
RECOVERY_NAME = "Recovery codes"


def normalise_code(raw: str | None) -> str:
    """What a person types: spaces and hyphens dropped, letters lower case."""
    return re.sub(r"[\s-]+", "", raw or "").lower()


def recovery_fingerprint(code: str) -> str:
    # 16 hex characters fit django-otp's StaticToken.token column (max 16).
    return hashlib.sha256(normalise_code(code).encode()).hexdigest()[:16]


def _wrong_code(*, recovery_allowed: bool) -> AccountError:
    if recovery_allowed:
        return AccountError(
            "That code is not right. Enter the 6-digit code your authenticator app shows now, or one "
            "of your unused recovery codes.",
            field="code",
            code="wrong_code",
        )
    return AccountError(
        "That code is not right. Enter the 6-digit code your authenticator app shows now (codes "
        "change every 30 seconds; a code already used cannot be used again).",
        field="code",
        code="wrong_code",
    )


def _device_throttled() -> AccountError:
    return AccountError(
        "Too many wrong codes in a row. Wait a minute, then enter a new code.", field="code", code="throttled"
    )


def _check(device, token: str) -> bool | None:
    """True/False for right/wrong, None while django-otp's own per-device backoff refuses to check.

    Runs in its own transaction (the device row locked, so a code cannot be used twice at once)
    and commits even for a wrong code: the failure count must survive the error raised after it."""
    with transaction.atomic():
        device = type(device).objects.select_for_update().get(pk=device.pk)
        allowed, _ = device.verify_is_allowed()
        if not allowed:
            return None
        return device.verify_token(token)


def _new_recovery_codes(*, user) -> list[str]:
    from django_otp.plugins.otp_static.models import StaticDevice, StaticToken

    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name=RECOVERY_NAME, confirmed=True)
    codes = []
    while len(codes) < RECOVERY_CODE_COUNT:
        raw = StaticToken.random_token()  # 8 base32 characters, 40 random bits
        code = f"{raw[:4]}-{raw[4:]}"
        if code not in codes:
            codes.append(code)
    StaticToken.objects.bulk_create(StaticToken(device=device, token=recovery_fingerprint(c)) for c in codes)
    return codes


@transaction.atomic
def start_two_factor(*, user):
    """The authenticator app waiting to be confirmed: the same one (same key) until it is, so
    reloading the set-up page does not invalidate a key already scanned."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    if selectors.two_factor_device(user=user) is not None:
        raise AccountError("Two-factor sign-in is already on for your account.", code="already_on")
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    return device or TOTPDevice.objects.create(user=user, name=AUTHENTICATOR_NAME, confirmed=False)


def confirm_two_factor(*, user, code: str) -> tuple[object, list[str]]:
    """Turn two-factor on with a correct code from the app; returns the device and the recovery
    codes, to show once."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    if device is None:
        raise AccountError(
            "Start the set-up again: there is no authenticator app waiting to be confirmed.",
            field="code",
            code="no_setup",
        )
    token = normalise_code(code)
    if not re.fullmatch(r"\d{6}", token):
        raise AccountError(
            "Enter the 6-digit code your authenticator app shows, such as 123456.", field="code", code="format"
        )
    outcome = _check(device, token)
    if outcome is None:
        raise _device_throttled()
    if not outcome:
        raise _wrong_code(recovery_allowed=False)
    return _finish_confirm(user=user, device=device)


@transaction.atomic
def _finish_confirm(*, user, device) -> tuple[object, list[str]]:
    from django_otp.plugins.otp_totp.models import TOTPDevice

    # One authenticator app per person: any other (unconfirmed) leftovers go.
    TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
    TOTPDevice.objects.filter(pk=device.pk).update(confirmed=True)
    device.confirmed = True
    return device, _new_recovery_codes(user=user)


def verify_second_factor(*, user, code: str):
    """The device that accepts this code (the app's 6 digits, or a recovery code, which is then
    used up), or AccountError. Only for a user with two-factor on."""
    from django_otp.plugins.otp_static.models import StaticDevice

    token = normalise_code(code)
    if not token:
        raise AccountError(
            "Enter the code from your authenticator app, or a recovery code.", field="code", code="required"
        )
    if re.fullmatch(r"\d{6}", token):
        device, checked = selectors.two_factor_device(user=user), token
    else:
        device, checked = StaticDevice.objects.filter(user=user, confirmed=True).first(), recovery_fingerprint(token)
    if device is None:
        raise _wrong_code(recovery_allowed=True)
    outcome = _check(device, checked)
    if outcome is None:
        raise _device_throttled()
    if not outcome:
        raise _wrong_code(recovery_allowed=True)
    return device


def regenerate_recovery_codes(*, user, code: str) -> list[str]:
    """New recovery codes (the old ones stop working), after a current code."""

    if selectors.two_factor_device(user=user) is None:
        raise AccountError("Turn on two-factor sign-in first.", code="not_on")
    verify_second_factor(user=user, code=code)
    with transaction.atomic():
        return _new_recovery_codes(user=user)


def turn_off_two_factor(*, user, code: str = "", password: str = "") -> None:
    """Remove the authenticator app and recovery codes, after a current code or the password."""
    if code.strip():
        verify_second_factor(user=user, code=code)
    elif password:
        if not user.check_password(password):
            raise AccountError("That password is not right.", field="password", code="wrong_password")
    else:
        raise AccountError("Enter a code from your authenticator app, or your password.", field="code", code="required")
    reset_two_factor(user=user)


@transaction.atomic
def reset_two_factor(*, user) -> None:
    """Remove the authenticator app and recovery codes without asking: for turn_off_two_factor
    once it has checked, and the reset_two_factor command (lost phone and codes)."""
    from django_otp.plugins.otp_static.models import StaticDevice
    from django_otp.plugins.otp_totp.models import TOTPDevice

    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()
