"""People who log in, and the API tokens they hold."""

from __future__ import annotations

import hashlib
import secrets

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.utils import timezone
from simple_history.models import HistoricalRecords

from openpractice.accounts.validators import healthcode_identifier_warning


class UserManager(BaseUserManager):
    use_in_migrations = True

    def get_by_natural_key(self, email):
        return self.get(email__iexact=email)

    def create_user(self, email: str, password: str | None = None, **extra):
        if not email:
            raise ValueError("Users need an email address.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra):
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who logs in with an email address. Practice roles live on Membership."""

    email = models.EmailField("email address", unique=True)
    full_name = models.CharField(max_length=150)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False, help_text="Can open the Django admin.")
    date_joined = models.DateTimeField(default=timezone.now)

    history = HistoricalRecords(excluded_fields=["password", "last_login"])

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["full_name"]

    class Meta:
        ordering = ["full_name", "email"]

    def __str__(self) -> str:
        return self.full_name or self.email

    def get_full_name(self) -> str:
        return self.full_name

    def get_short_name(self) -> str:
        return self.full_name.split(" ")[0] if self.full_name else self.email


TOKEN_PREFIX = "op_"


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiToken(models.Model):
    """A per-user API token, scoped to one practice. Only its SHA-256 hash is stored."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    practice = models.ForeignKey("practices.Practice", on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    token_hash = models.CharField(max_length=64, unique=True)
    # The first characters, kept so a person can tell tokens apart in the list.
    prefix = models.CharField(max_length=12)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @staticmethod
    def generate_raw() -> str:
        return TOKEN_PREFIX + secrets.token_urlsafe(32)


class PractitionerProfile(models.Model):
    """What Healthcode needs about a practitioner in one practice.

    Per membership (a practitioner in two practices may be mapped differently in each); the
    Healthcode identifier is unique within the practice. Validation: accounts/validators.py.
    """

    membership = models.OneToOneField(
        "practices.Membership", on_delete=models.CASCADE, related_name="practitioner_profile"
    )
    practice = models.ForeignKey("practices.Practice", on_delete=models.CASCADE, related_name="+")
    healthcode_identifier = models.CharField("Healthcode identifier", max_length=10, blank=True)
    gmc_number = models.CharField("GMC number", max_length=7, blank=True)
    specialty = models.CharField(max_length=120, blank=True)
    professional_title = models.CharField(max_length=120, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["practice", "healthcode_identifier"],
                condition=~models.Q(healthcode_identifier=""),
                name="practitioner_identifier_unique_in_practice",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.membership.user} ({self.healthcode_identifier or 'no Healthcode identifier'})"

    @property
    def identifier_warning(self) -> str:
        return healthcode_identifier_warning(self.healthcode_identifier)
