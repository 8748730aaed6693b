"""Contacts: insurers, GPs, solicitors, employers and others the practice deals with.

An insurer contact names its entry in the Healthcode insurer directory (coding.Insurer): the
"Healthcode identifier (Insurance)" that bills and membership checks use.
"""

from __future__ import annotations

from django.core.validators import MaxValueValidator
from django.db import models
from simple_history.models import HistoricalRecords

from openpractice.practices.tenancy import PracticeScopedQuerySet


class ContactType(models.TextChoices):
    INSURER = "insurer", "Insurer"
    GP = "gp", "GP"
    SOLICITOR = "solicitor", "Solicitor"
    EMPLOYER = "employer", "Employer"
    OTHER = "other", "Other"


class Contact(models.Model):
    practice = models.ForeignKey("practices.Practice", on_delete=models.CASCADE, related_name="+")
    contact_type = models.CharField("type", max_length=12, choices=ContactType.choices)
    name = models.CharField(max_length=200)
    name_key = models.CharField(max_length=200, editable=False)  # lower case letters and digits, for search
    insurer = models.ForeignKey(
        "coding.Insurer",
        verbose_name="Healthcode identifier (Insurance)",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=30, blank=True)
    address_line1 = models.CharField("address line 1", max_length=200, blank=True)
    address_line2 = models.CharField("address line 2", max_length=200, blank=True)
    city = models.CharField("town or city", max_length=100, blank=True)
    postcode = models.CharField(max_length=10, blank=True)
    notes = models.TextField(blank=True)
    # An insurer's: how long it usually takes to pay, and asks not to be chased before (AXA: 30).
    usual_days_to_pay = models.PositiveSmallIntegerField(
        "usual days to pay",
        default=30,
        validators=[MaxValueValidator(365)],
        help_text="Bills unpaid for longer show on the insurer debt list. Most insurers ask not to be chased before 30 days.",
    )
    is_archived = models.BooleanField("archived", default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = PracticeScopedQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["name_key", "id"]
        indexes = [
            models.Index(fields=["practice", "name_key", "id"], name="contact_practice_name"),
            models.Index(fields=["practice", "contact_type", "name_key"], name="contact_practice_type"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def address_lines(self) -> list[str]:
        return [v for v in (self.address_line1, self.address_line2, self.city, self.postcode) if v]

    @property
    def is_insurer(self) -> bool:
        return self.contact_type == ContactType.INSURER
