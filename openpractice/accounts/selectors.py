"""Reads for accounts. Two-factor state belongs to the person, not a practice: scoped by user."""

from __future__ import annotations


def two_factor_device(*, user):
    """The confirmed authenticator app (django-otp TOTPDevice), or None: two-factor is off."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    if not getattr(user, "pk", None):
        return None
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


def recovery_codes_left(*, user) -> int:
    from django_otp.plugins.otp_static.models import StaticToken

    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()
