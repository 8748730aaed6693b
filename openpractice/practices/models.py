"""The tenant (Practice), its places (Location), who works there (Membership) and who has been
invited (Invitation). A practice's Healthcode credentials live in healthcode.models."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from simple_history.models import HistoricalRecords

from openpractice.practices.roles import Role, role_can
from openpractice.practices.tenancy import PracticeScopedQuerySet
from openpractice.practices.validators import validate_account_number, validate_sort_code


class Practice(models.Model):
    name = models.CharField(max_length=200)
    address_line1 = models.CharField("address line 1", max_length=200, blank=True)
    address_line2 = models.CharField("address line 2", max_length=200, blank=True)
    city = models.CharField("town or city", max_length=100, blank=True)
    postcode = models.CharField(max_length=10, blank=True)
    phone = models.CharField(max_length=30, blank=True)
    email = models.EmailField(blank=True)
    website = models.URLField(blank=True)
    # Where patients pay by bank transfer: printed on statements beside the online payment link.
    bank_account_name = models.CharField("bank account name", max_length=100, blank=True)
    bank_sort_code = models.CharField(
        "sort code",
        max_length=8,
        blank=True,
        validators=[validate_sort_code],
        help_text="Six digits, such as 20-00-00.",
    )
    bank_account_number = models.CharField(
        "account number", max_length=8, blank=True, validators=[validate_account_number], help_text="Eight digits."
    )
    require_two_factor = models.BooleanField(
        "require two-factor sign-in for everyone",
        default=False,
        help_text="Everyone in the practice, you included, must set up an authenticator app before they can "
        "use OpenPractice. People without one are taken to set it up when they next open a page.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def address_lines(self) -> list[str]:
        return [v for v in (self.address_line1, self.address_line2, self.city, self.postcode) if v]


class Location(models.Model):
    """A place the practice works from: consulting rooms, a hospital it bills as facility."""

    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="locations")
    name = models.CharField(max_length=200)
    address_line1 = models.CharField("address line 1", max_length=200, blank=True)
    address_line2 = models.CharField("address line 2", max_length=200, blank=True)
    city = models.CharField("town or city", max_length=100, blank=True)
    postcode = models.CharField(max_length=10, blank=True)
    phone = models.CharField(max_length=30, blank=True)
    is_active = models.BooleanField("active", default=True)
    # Healthcode's number for a facility that bills as provider or payee: "600" then 6 digits
    # (9 digits in all, such as 600123456); see practices/validators.py.
    healthcode_600_number = models.CharField("Healthcode “600” number", max_length=9, blank=True)
    is_provider = models.BooleanField("bills as provider", default=False)
    is_payee = models.BooleanField("receives payment as payee", default=False)

    objects = PracticeScopedQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["practice", "name"], name="location_name_unique_in_practice"),
            models.UniqueConstraint(
                fields=["practice", "healthcode_600_number"],
                condition=~models.Q(healthcode_600_number=""),
                name="location_600_unique_in_practice",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def address_lines(self) -> list[str]:
        return [v for v in (self.address_line1, self.address_line2, self.city, self.postcode) if v]


class Membership(models.Model):
    """A user's place in a practice: one role per practice; a user may belong to several."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices)
    is_active = models.BooleanField("active", default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = PracticeScopedQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["user__full_name"]
        constraints = [models.UniqueConstraint(fields=["user", "practice"], name="membership_unique_user_practice")]

    def __str__(self) -> str:
        return f"{self.user} — {self.get_role_display()} at {self.practice}"

    def can(self, capability: str) -> bool:
        return self.is_active and role_can(self.role, capability)


class InvitationStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    EXPIRED = "expired", "Expired"
    ACCEPTED = "accepted", "Accepted"
    REVOKED = "revoked", "Revoked"


class Invitation(models.Model):
    """An invitation to join a practice by email. The person is not a member until they accept.

    Only a SHA-256 hash of the token is stored: the link in the email is the one copy, and a
    resend issues a new token. At most one open (neither accepted nor revoked) invitation per
    email in a practice; inviting the same email again refreshes it.
    """

    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField("email address")
    # What the inviter calls them: the email's greeting and the name offered when they set a password.
    full_name = models.CharField(max_length=150, blank=True)
    role = models.CharField(max_length=20, choices=Role.choices)
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    objects = PracticeScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-sent_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["practice", "email"],
                condition=models.Q(accepted_at__isnull=True, revoked_at__isnull=True),
                name="invitation_one_open_per_email",
            ),
        ]

    def __str__(self) -> str:
        return f"Invitation for {self.email} to {self.practice}"

    def status_at(self, now) -> str:
        if self.accepted_at:
            return InvitationStatus.ACCEPTED
        if self.revoked_at:
            return InvitationStatus.REVOKED
        if self.expires_at <= now:
            return InvitationStatus.EXPIRED
        return InvitationStatus.PENDING

    @property
    def status(self) -> str:
        return self.status_at(timezone.now())

    def get_status_display(self) -> str:
        return InvitationStatus(self.status).label
