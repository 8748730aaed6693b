"""Everything that writes practices, locations, memberships and Healthcode credentials."""

from __future__ import annotations

from django.contrib.auth.tokens import default_token_generator
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from openpractice.accounts.models import User
from openpractice.practices import crypto
from openpractice.practices.errors import PracticeError
from openpractice.practices.models import (
    HealthcodeIntegration,
    Location,
    Membership,
    Practice,
)
from openpractice.practices.roles import Role
from openpractice.practices.validators import normalise_name

PRACTICE_FIELDS = ("name", "address_line1", "address_line2", "city", "postcode", "phone", "email", "website",
                   "require_two_factor")
LOCATION_FIELDS = ("name", "address_line1", "address_line2", "city", "postcode", "phone", "is_active",
                   "healthcode_600_number", "is_provider", "is_payee")


def _check_600(practice: Practice, location: Location) -> None:
    """The 600 number's format, that provider/payee locations have one, and that it is unique."""
    from django.core.exceptions import ValidationError

    from openpractice.practices.validators import normalise_600, validate_600_number

    location.healthcode_600_number = normalise_600(location.healthcode_600_number)
    try:
        validate_600_number(location.healthcode_600_number)
    except ValidationError as exc:
        raise PracticeError(exc.messages[0], field="healthcode_600_number") from None
    if (location.is_provider or location.is_payee) and not location.healthcode_600_number:
        raise PracticeError("A location that bills as provider or payee needs its Healthcode “600” number "
                            "(600 followed by 6 digits).", field="healthcode_600_number", code="required")
    if location.healthcode_600_number and (
        Location.objects.for_practice(practice).filter(healthcode_600_number=location.healthcode_600_number)
        .exclude(pk=location.pk).exists()
    ):
        raise PracticeError(f"Another location already has 600 number {location.healthcode_600_number}.",
                            field="healthcode_600_number", code="duplicate")


def _apply(instance, data: dict, allowed: tuple[str, ...]) -> list[str]:
    changed = []
    for field in allowed:
        if field in data and getattr(instance, field) != data[field]:
            setattr(instance, field, data[field])
            changed.append(field)
    return changed


@transaction.atomic
def create_practice(*, name: str, owner: User, **details) -> Practice:
    practice = Practice.objects.create(name=name, **{k: v for k, v in details.items() if k in PRACTICE_FIELDS})
    Membership.objects.create(user=owner, practice=practice, role=Role.OWNER)
    return practice


@transaction.atomic
def update_practice(*, practice: Practice, data: dict) -> Practice:
    practice = Practice.objects.select_for_update().get(pk=practice.pk)
    if _apply(practice, data, PRACTICE_FIELDS):
        practice._change_reason = "Practice details edited"
        practice.save()
    return practice


@transaction.atomic
def create_location(*, practice: Practice, data: dict) -> Location:
    name = _location_name(data.get("name", ""))
    data = {**data, "name": name}
    if Location.objects.for_practice(practice).filter(name__iexact=name).exists():
        raise PracticeError(f"A location called “{name}” already exists.", field="name", code="duplicate")
    location = Location(practice=practice)
    _apply(location, data, LOCATION_FIELDS)
    _check_600(practice, location)
    location.save()
    return location


def _location_name(value: str) -> str:
    name = normalise_name(value)
    if not name:
        raise PracticeError("Enter a name for the location, such as “Harley Street rooms”.", field="name",
                            code="required")
    return name


@transaction.atomic
def update_location(*, location: Location, data: dict) -> Location:
    name = _location_name(data.get("name", location.name))
    data = {**data, "name": name}
    if (
        Location.objects.for_practice(location.practice)
        .filter(name__iexact=name)
        .exclude(pk=location.pk)
        .exists()
    ):
        raise PracticeError(f"A location called “{name}” already exists.", field="name", code="duplicate")
    # Work on the stored row, not the caller's instance (a bound ModelForm has already changed it).
    location = Location.objects.select_for_update().get(pk=location.pk)
    if _apply(location, data, LOCATION_FIELDS):
        _check_600(location.practice, location)
        location.save()
    return location


def _active_owner_count(practice: Practice) -> int:
    return Membership.objects.filter(
        practice=practice, role=Role.OWNER, is_active=True, user__is_active=True
    ).count()


def _send_invitation(*, user: User, practice: Practice, invited_by: User, base_url: str) -> None:
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    link = base_url.rstrip("/") + reverse("accounts:password_reset_confirm", args=[uid, token])
    body = render_to_string(
        "accounts/email/invitation.txt",
        {"user": user, "practice": practice, "invited_by": invited_by, "link": link},
    )
    send_mail(f"You have been invited to {practice.name} on OpenPractice", body, None, [user.email])


@transaction.atomic
def add_member(
    *,
    practice: Practice,
    email: str,
    full_name: str,
    role: str,
    added_by: User,
    password: str | None = None,
    base_url: str = "http://127.0.0.1:8000",
) -> Membership:
    """Invite a person (an email with a link to set a password) or create them with a password.

    An existing user (another practice's member) is added to this practice as they are.
    """
    if role not in Role.values:
        raise PracticeError(f"Choose a role: {', '.join(Role.labels)}.", field="role")
    email = email.strip().lower()
    user = User.objects.filter(email__iexact=email).first()
    if user and Membership.objects.filter(user=user, practice=practice).exists():
        raise PracticeError(f"{email} is already a member of this practice.", field="email", code="duplicate")
    created = user is None
    if created:
        user = User.objects.create_user(email=email, password=password, full_name=full_name.strip())
    membership = Membership.objects.create(user=user, practice=practice, role=role)
    if created and not password:
        transaction.on_commit(
            lambda: _send_invitation(user=user, practice=practice, invited_by=added_by, base_url=base_url)
        )
    return membership


@transaction.atomic
def change_member(*, membership: Membership, role: str, is_active: bool, changed_by: User) -> Membership:
    """Set a member's role and whether they are active. A practice always keeps an active owner."""
    membership = Membership.objects.select_for_update().get(pk=membership.pk)
    if role not in Role.values:
        raise PracticeError(f"Choose a role: {', '.join(Role.labels)}.", field="role")
    losing_owner = membership.role == Role.OWNER and membership.is_active and (
        role != Role.OWNER or not is_active
    )
    if losing_owner and _active_owner_count(membership.practice) <= 1:
        raise PracticeError(
            "This is the practice's only active owner. Make someone else an owner first.",
            field="role",
            code="last_owner",
        )
    if membership.user_id == changed_by.pk and not is_active:
        raise PracticeError("You cannot deactivate yourself.", field="is_active", code="self")
    membership.role = role
    membership.is_active = is_active
    membership._change_reason = f"Changed by {changed_by.email}"
    membership.save()
    return membership


@transaction.atomic
def save_healthcode_credentials(
    *,
    practice: Practice,
    environment: str,
    discovery_url: str,
    site_id: str,
    api_key_id: str,
    api_key: str | None,
) -> HealthcodeIntegration:
    """Store the practice's Healthcode credentials. A blank discovery_url takes the environment's
    documented address; the address must be one the clearing-house client may call. A blank
    api_key keeps the one already set, unless the environment, discovery URL or API key id
    changed: the stored key is only ever sent where, and with the key id, it was entered for."""
    from openpractice.healthcode import outbound

    discovery_url = (discovery_url or "").strip() or outbound.default_discovery_url(environment)
    try:
        outbound.rule_for_url(discovery_url)
    except outbound.OutboundRefused as exc:
        raise PracticeError(exc.message, field="discovery_url", code="host_not_allowed") from None
    integration = HealthcodeIntegration.objects.select_for_update().filter(practice=practice).first()
    if integration is None:
        integration = HealthcodeIntegration(practice=practice)
    changed = [label for label, old, new in (
        ("environment", integration.environment, environment),
        ("discovery document URL", integration.discovery_url, discovery_url),
        ("API key id", integration.api_key_id, api_key_id.strip()),
    ) if integration.pk and old != new]
    if not api_key and integration.api_key_encrypted and changed:
        raise PracticeError(
            f"Enter the API key again: the {' and '.join(changed)} changed, and the stored key is only sent to "
            "the clearing house and key id it was entered for.", field="api_key", code="key_required")
    integration.environment = environment
    integration.discovery_url = discovery_url
    integration.site_id = site_id.strip().upper()
    integration.api_key_id = api_key_id.strip()
    if api_key:
        integration.api_key_encrypted = crypto.encrypt(api_key)
        integration.api_key_set_at = timezone.now()
    elif not integration.api_key_encrypted:
        raise PracticeError("Enter the API key Healthcode issued for this system.", field="api_key")
    # New credentials make the last connection test meaningless: untested until tested again.
    integration.last_tested_at = None
    integration.last_test_ok = None
    integration.last_test_message = ""
    integration.tested_fingerprint = ""
    integration.save()
    return integration


def healthcode_api_key(*, integration: HealthcodeIntegration) -> str:
    """The decrypted key, for the Healthcode client only. Never render or log it."""
    return crypto.decrypt(integration.api_key_encrypted)
