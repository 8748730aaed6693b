"""Patients and their relationships (insurance provider with registration number, emergency
contacts, next of kin, GP, employer).

Search keys (`*_key`) are normalised copies kept by the services: lower-case letters and digits
for names, digits for phones, lower case for email, upper-case letters and digits for
registration numbers. Every search is an equality or a prefix range on one of them, through the
indexes below (see selectors.search_patients and bench/patients.py).
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from openpractice.practices.tenancy import PracticeScopedQuerySet


class Sex(models.TextChoices):
    FEMALE = "female", "Female"
    MALE = "male", "Male"
    OTHER = "other", "Other"
    UNKNOWN = "unknown", "Not known"


class Patient(models.Model):
    practice = models.ForeignKey("practices.Practice", on_delete=models.CASCADE, related_name="+")
    title = models.CharField(max_length=20, blank=True)
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    date_of_birth = models.DateField()
    sex = models.CharField(max_length=10, choices=Sex.choices, default=Sex.UNKNOWN)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=30, blank=True)
    address_line1 = models.CharField("address line 1", max_length=200, blank=True)
    address_line2 = models.CharField("address line 2", max_length=200, blank=True)
    city = models.CharField("town or city", max_length=100, blank=True)
    postcode = models.CharField(max_length=10, blank=True)
    nhs_number = models.CharField("NHS number", max_length=10, blank=True)
    is_archived = models.BooleanField("archived", default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    last_name_key = models.CharField(max_length=100, editable=False)
    first_name_key = models.CharField(max_length=100, editable=False)
    phone_key = models.CharField(max_length=30, editable=False, blank=True)
    email_key = models.CharField(max_length=254, editable=False, blank=True)

    objects = PracticeScopedQuerySet.as_manager()
    history = HistoricalRecords(excluded_fields=["last_name_key", "first_name_key", "phone_key", "email_key"])

    class Meta:
        ordering = ["last_name_key", "first_name_key", "id"]
        indexes = [
            # list order, surname prefix and keyset paging
            models.Index(fields=["practice", "last_name_key", "first_name_key", "id"], name="patient_name"),
            models.Index(fields=["practice", "date_of_birth"], name="patient_dob"),
            models.Index(fields=["practice", "phone_key"], name="patient_phone"),
            models.Index(fields=["practice", "email_key"], name="patient_email"),
            models.Index(fields=["practice", "nhs_number"], name="patient_nhs"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["practice", "nhs_number"],
                condition=~Q(nhs_number=""),
                name="patient_nhs_number_unique_in_practice",
            ),
        ]

    def __str__(self) -> str:
        return self.full_name

    @property
    def full_name(self) -> str:
        return " ".join(p for p in (self.title, self.first_name, self.last_name) if p)

    @property
    def address_lines(self) -> list[str]:
        return [v for v in (self.address_line1, self.address_line2, self.city, self.postcode) if v]

    @property
    def nhs_number_display(self) -> str:
        n = self.nhs_number
        return f"{n[:3]} {n[3:6]} {n[6:]}" if len(n) == 10 else n


class RelationshipType(models.TextChoices):
    INSURANCE = "insurance", "Insurance provider"
    EMERGENCY = "emergency", "Emergency contact"
    NEXT_OF_KIN = "next_of_kin", "Next of kin"
    GP = "gp", "GP"
    EMPLOYER = "employer", "Employer"
    OTHER = "other", "Other"


class PatientRelationship(models.Model):
    """A patient's link to a contact (an insurer, a GP …) or to another patient (next of kin …).

    For an insurance provider: the registration (membership / policy) number, and optionally the
    pre-authorisation code, the sessions authorised and when the authorisation expires."""

    practice = models.ForeignKey("practices.Practice", on_delete=models.CASCADE, related_name="+")
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="relationships")
    relationship_type = models.CharField("Relationship type", max_length=12, choices=RelationshipType.choices)
    related_patient = models.ForeignKey(Patient, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    related_contact = models.ForeignKey(
        "contacts.Contact", null=True, blank=True, on_delete=models.PROTECT, related_name="patient_relationships"
    )
    registration_number = models.CharField("Registration number", max_length=30, blank=True)
    registration_key = models.CharField(max_length=30, blank=True, editable=False)
    authorisation_code = models.CharField("Authorisation code", max_length=30, blank=True)
    authorised_sessions = models.PositiveSmallIntegerField("Authorised sessions", null=True, blank=True)
    authorisation_expires = models.DateField("Authorisation expires", null=True, blank=True)
    notes = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = PracticeScopedQuerySet.as_manager()
    history = HistoricalRecords(excluded_fields=["registration_key"])

    class Meta:
        ordering = ["relationship_type", "id"]
        indexes = [models.Index(fields=["practice", "registration_key"], name="relationship_registration")]
        constraints = [
            models.CheckConstraint(
                condition=Q(related_patient__isnull=True, related_contact__isnull=False)
                | Q(related_patient__isnull=False, related_contact__isnull=True),
                name="relationship_one_counterpart",
            ),
            models.CheckConstraint(
                condition=~Q(relationship_type="insurance")
                | (Q(related_contact__isnull=False) & ~Q(registration_number="")),
                name="relationship_insurance_has_contact_and_number",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_relationship_type_display()}: {self.counterpart}"

    @property
    def counterpart(self):
        return self.related_contact or self.related_patient

    @property
    def is_insurance(self) -> bool:
        return self.relationship_type == RelationshipType.INSURANCE

    @property
    def name(self) -> str:
        """What the relationship is, in the words a Remove button and its confirmation use:
        "Bupa membership 12345678", "Emergency contact Jane Bennett"."""
        if self.is_insurance:
            return f"{self.counterpart} membership {self.registration_number}"
        return f"{self.get_relationship_type_display()} {self.counterpart}"
