"""Everything that writes practices, locations, memberships and invitations."""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from openpractice.accounts.models import PractitionerProfile, User, hash_token
from openpractice.accounts.services import save_practitioner_profile
from openpractice.practices.errors import Code, PracticeError
from openpractice.practices.models import (
    Invitation,
    InvitationStatus,
    Location,
    Membership,
    Practice,
)
from openpractice.practices.roles import Role
from openpractice.practices.validators import (
    normalise_600,
    normalise_account_number,
    normalise_name,
    normalise_sort_code,
    validate_600_number,
    validate_account_number,
    validate_sort_code,
)

PRACTICE_FIELDS = (
    "name",
    "address_line1",
    "address_line2",
    "city",
    "postcode",
    "phone",
    "email",
    "website",
    "bank_account_name",
    "bank_sort_code",
    "bank_account_number",
    "require_two_factor",
)
LOCATION_FIELDS = (
    "name",
    "address_line1",
    "address_line2",
    "city",
    "postcode",
    "phone",
    "is_active",
    "healthcode_600_number",
    "is_provider",
    "is_payee",
)


def _check_600(practice: Practice, location: Location) -> None:
    """The 600 number's format, that provider/payee locations have one, and that it is unique."""
    location.healthcode_600_number = normalise_600(location.healthcode_600_number)
    try:
        validate_600_number(location.healthcode_600_number)
    except ValidationError as exc:
        raise PracticeError(exc.messages[0], field="healthcode_600_number") from None
    if (location.is_provider or location.is_payee) and not location.healthcode_600_number:
        raise PracticeError(
            "A location that bills as provider or payee needs its Healthcode “600” number (600 followed by 6 digits).",
            field="healthcode_600_number",
            code="required",
        )
    if location.healthcode_600_number and (
        Location.objects.for_practice(practice)
        .filter(healthcode_600_number=location.healthcode_600_number)
        .exclude(pk=location.pk)
        .exists()
    ):
        raise PracticeError(
            f"Another location already has 600 number {location.healthcode_600_number}.",
            field="healthcode_600_number",
            code="duplicate",
        )


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
    data = _clean_bank_details(data, practice=practice)
    if _apply(practice, data, PRACTICE_FIELDS):
        practice._change_reason = "Practice details edited"
        practice.save()
    return practice


def _clean_bank_details(data: dict, *, practice: Practice) -> dict:
    """The bank account as stored (12-34-56, eight digits), each part checked, and both or neither:
    a statement prints the account only when it has both."""
    data = dict(data)
    for field, normalise, validate in (
        ("bank_sort_code", normalise_sort_code, validate_sort_code),
        ("bank_account_number", normalise_account_number, validate_account_number),
    ):
        if field in data:
            try:
                validate(data[field] or "")
            except ValidationError as exc:
                raise PracticeError(exc.messages[0], field=field, code=Code.INVALID) from exc
            data[field] = normalise(data[field])
    sort_code = data.get("bank_sort_code", practice.bank_sort_code)
    number = data.get("bank_account_number", practice.bank_account_number)
    if bool(sort_code) != bool(number):
        missing = "bank_account_number" if sort_code else "bank_sort_code"
        raise PracticeError(
            "Enter both the sort code and the account number, or neither: statements print the account only with both.",
            field=missing,
            code=Code.REQUIRED,
        )
    return data


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
        raise PracticeError(
            "Enter a name for the location, such as “Harley Street rooms”.", field="name", code="required"
        )
    return name


@transaction.atomic
def update_location(*, location: Location, data: dict) -> Location:
    name = _location_name(data.get("name", location.name))
    data = {**data, "name": name}
    if Location.objects.for_practice(location.practice).filter(name__iexact=name).exclude(pk=location.pk).exists():
        raise PracticeError(f"A location called “{name}” already exists.", field="name", code="duplicate")
    # Work on the stored row, not the caller's instance (a bound ModelForm has already changed it).
    location = Location.objects.select_for_update().get(pk=location.pk)
    if _apply(location, data, LOCATION_FIELDS):
        _check_600(location.practice, location)
        location.save()
    return location


def _active_owner_count(practice: Practice) -> int:
    return Membership.objects.filter(practice=practice, role=Role.OWNER, is_active=True, user__is_active=True).count()


INVITATION_VALID_FOR = timedelta(days=7)


def _send_invitation(*, invitation: Invitation, token: str, base_url: str) -> None:
    """The email with the invitation link. Worded for a person with or without an account
    (looked up here, after the answer to the inviter is fixed, so the inviter learns nothing)."""
    link = base_url.rstrip("/") + reverse("practices:invitation", args=[token])
    body = render_to_string(
        "accounts/email/invitation.txt",
        {
            "invitation": invitation,
            "practice": invitation.practice,
            "invited_by": invitation.invited_by,
            "link": link,
            "has_account": User.objects.filter(email__iexact=invitation.email).exists(),
            "valid_until": invitation.expires_at,
        },
    )
    send_mail(f"You have been invited to {invitation.practice.name} on OpenPractice", body, None, [invitation.email])


def _issue_token(invitation: Invitation, *, now) -> str:
    """A fresh token for the invitation (only its hash is kept) and a fresh expiry."""
    raw = secrets.token_urlsafe(32)
    invitation.token_hash = hash_token(raw)
    invitation.sent_at = now
    invitation.expires_at = now + INVITATION_VALID_FOR
    return raw


@transaction.atomic
def invite_member(
    *,
    practice: Practice,
    email: str,
    role: str,
    invited_by: User,
    full_name: str = "",
    base_url: str = "http://127.0.0.1:8000",
) -> Invitation:
    """Invite a person by email; they join when they accept the link.

    The outcome is the same whether or not an account with this email exists anywhere: nothing
    about accounts outside this practice is revealed, and nobody is added without saying yes.
    Inviting an email that already has an open invitation refreshes it (new link, new expiry).
    """
    if role not in Role.values:
        raise PracticeError(f"Choose a role: {', '.join(Role.labels)}.", field="role")
    email = email.strip().lower()
    if not email:
        raise PracticeError("Enter their email address, such as name@practice.co.uk.", field="email", code="required")
    # Members of this practice are already listed on its users page: saying so reveals nothing new.
    if Membership.objects.filter(practice=practice, user__email__iexact=email).exists():
        raise PracticeError(f"{email} is already a member of this practice.", field="email", code="duplicate")
    now = timezone.now()
    invitation = (
        Invitation.objects.select_for_update()
        .filter(practice=practice, email=email, accepted_at__isnull=True, revoked_at__isnull=True)
        .first()
    ) or Invitation(practice=practice, email=email)
    invitation.role = role
    invitation.full_name = full_name.strip()
    invitation.invited_by = invited_by
    token = _issue_token(invitation, now=now)
    try:
        with transaction.atomic():
            invitation.save()
    except IntegrityError:
        # Two people invited the same email at the same moment: the other one's invitation stands.
        raise PracticeError(f"An invitation to {email} has just been sent.", field="email", code="duplicate") from None
    transaction.on_commit(lambda: _send_invitation(invitation=invitation, token=token, base_url=base_url))
    return invitation


@transaction.atomic
def resend_invitation(*, invitation: Invitation, sent_by: User, base_url: str = "http://127.0.0.1:8000") -> Invitation:
    """Send an open invitation again with a new link (the old link stops working) and a new expiry."""
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.accepted_at or invitation.revoked_at:
        raise PracticeError(
            f"The invitation to {invitation.email} was {invitation.get_status_display().lower()}: "
            "invite them again instead.",
            field="email",
            code=invitation.status,
        )
    token = _issue_token(invitation, now=timezone.now())
    invitation.save(update_fields=["token_hash", "sent_at", "expires_at"])
    transaction.on_commit(lambda: _send_invitation(invitation=invitation, token=token, base_url=base_url))
    return invitation


@transaction.atomic
def revoke_invitation(*, invitation: Invitation, revoked_by: User) -> Invitation:
    """Withdraw an invitation: its link stops working at once."""
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.accepted_at:
        raise PracticeError(
            f"{invitation.email} has already accepted: deactivate them on their user page instead.",
            field="email",
            code="accepted",
        )
    if invitation.revoked_at is None:
        invitation.revoked_at = timezone.now()
        invitation.revoked_by = revoked_by
        invitation.save(update_fields=["revoked_at", "revoked_by"])
    return invitation


INVITATION_REFUSALS = {
    "unknown": "This invitation link is not recognised. Check that the whole link was copied, or ask the practice "
    "to send the invitation again.",
    InvitationStatus.EXPIRED: "This invitation has expired. Ask the practice to send it again.",
    InvitationStatus.REVOKED: "This invitation was withdrawn by the practice.",
    InvitationStatus.ACCEPTED: "This invitation has already been used. Sign in to reach the practice.",
}


def _open_invitation(token: str) -> Invitation:
    """The invitation this token opens, locked; refused (with the reason) unless it is pending."""
    invitation = (
        Invitation.objects.select_for_update()
        .select_related("practice")
        .filter(token_hash=hash_token(token or ""))
        .first()
    )
    if invitation is None:
        raise PracticeError(INVITATION_REFUSALS["unknown"], code="unknown")
    status = invitation.status
    if status != InvitationStatus.PENDING:
        raise PracticeError(INVITATION_REFUSALS[status], code=status)
    return invitation


def _join(invitation: Invitation, user: User) -> Membership:
    membership = Membership.objects.filter(user=user, practice=invitation.practice).first()
    if membership is None:
        membership = Membership.objects.create(user=user, practice=invitation.practice, role=invitation.role)
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    return membership


@transaction.atomic
def accept_invitation(*, token: str, user: User) -> Membership:
    """A signed-in person accepts: they become a member with the invited role. Only the account
    with the invited email may accept; the token works once."""
    invitation = _open_invitation(token)
    if user.email.lower() != invitation.email:
        raise PracticeError(
            f"This invitation is for {invitation.email}, and you are signed in as {user.email}. "
            f"Sign out, then sign in as {invitation.email} to accept it.",
            code="wrong_account",
        )
    return _join(invitation, user)


@transaction.atomic
def accept_invitation_with_new_account(*, token: str, full_name: str, password: str) -> Membership:
    """A person without an account accepts by choosing a password: their login is created and they
    join with the invited role. The token works once."""
    invitation = _open_invitation(token)
    full_name = full_name.strip()
    if not full_name:
        raise PracticeError("Enter your full name.", field="full_name", code="required")
    if User.objects.filter(email__iexact=invitation.email).exists():
        raise PracticeError(
            f"There is already a login for {invitation.email}: sign in to accept the invitation.", code="has_account"
        )
    user = User(email=invitation.email, full_name=full_name)
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise PracticeError(" ".join(exc.messages), field="new_password1", code="password") from None
    user = User.objects.create_user(email=invitation.email, password=password, full_name=full_name)
    return _join(invitation, user)


@transaction.atomic
def enrol_member(*, practice: Practice, user: User, role: str) -> Membership:
    """Make an existing user a member at once. For trusted set-up code only (management commands,
    demo data): people reached from a page or the API are invited and accept themselves."""
    if role not in Role.values:
        raise PracticeError(f"Choose a role: {', '.join(Role.labels)}.", field="role")
    if Membership.objects.filter(user=user, practice=practice).exists():
        raise PracticeError(f"{user.email} is already a member of this practice.", field="email", code="duplicate")
    return Membership.objects.create(user=user, practice=practice, role=role)


@transaction.atomic
def change_member(*, membership: Membership, role: str, is_active: bool, changed_by: User) -> Membership:
    """Set a member's role and whether they are active. A practice always keeps an active owner."""
    membership = Membership.objects.select_for_update().get(pk=membership.pk)
    if role not in Role.values:
        raise PracticeError(f"Choose a role: {', '.join(Role.labels)}.", field="role")
    losing_owner = membership.role == Role.OWNER and membership.is_active and (role != Role.OWNER or not is_active)
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


PRACTITIONER_FIELDS = ("healthcode_identifier", "gmc_number", "specialty", "professional_title")


@transaction.atomic
def save_member(
    *, membership: Membership, role: str, is_active: bool, practitioner: dict, changed_by: User
) -> tuple[Membership, list[str]]:
    """A user's page in one go: role, active, and practitioner details, all saved or none (a
    refused Healthcode identifier leaves the role as it was). Returns the membership and any
    warnings to show. Someone with no practitioner details and nothing typed gets no profile: a
    profile is what makes a member a practitioner on the invoice form."""
    membership = change_member(membership=membership, role=role, is_active=is_active, changed_by=changed_by)
    details = {field: practitioner.get(field) or "" for field in PRACTITIONER_FIELDS}
    has_profile = PractitionerProfile.objects.filter(membership=membership).exists()
    if not has_profile and not any(str(value).strip() for value in details.values()):
        return membership, []
    _, warnings = save_practitioner_profile(membership=membership, **details)
    return membership, warnings
