"""Code sets: the insurer directory, codes (ISC, CCSD, ICD-10), and each insurer's accepted codes.

Tenancy (our choice, see docs/architecture.md "Coding"):
- Reference data that is public is global (practice is NULL): the WHO ICD-10, the insurer
  identifiers Healthcode publishes, and the public sample CCSD codes (marked as samples).
- Licensed data belongs to the practice that imported it: its CCSD schedule and ISC list (the
  licence is the practice's, so another practice never sees them), and every accepted-code list
  (the contract is between that practice and the insurer).
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from openpractice.coding.search_index import search_text
from openpractice.practices.tenancy import PracticeScopedQuerySet


class CodeSystem(models.TextChoices):
    ISC = "isc", "Industry standard code"
    CCSD = "ccsd", "Procedure code (CCSD)"
    ICD10 = "icd10", "Diagnosis (ICD-10)"


# Systems a practice may import from a file (ICD-10 comes from the WHO package).
IMPORTABLE_SYSTEMS = (CodeSystem.CCSD, CodeSystem.ISC)


class CodeSource(models.TextChoices):
    SAMPLE = "sample", "Sample (public examples, for demos)"
    IMPORT = "import", "Imported file"
    CLEARING_HOUSE = "clearing_house", "Clearing house code-set sync"
    WHO = "who", "WHO ICD-10"
    PUBLISHED = "published", "Published by Healthcode"
    MANUAL = "manual", "Entered by hand"


class Code(models.Model):
    """One code of one system. Global (practice NULL) or owned by the practice that imported it.

    `code_key` (upper case, letters and digits) is what uniqueness and code search use;
    `active_to` is the last day the code may be used (inclusive); NULL dates are open-ended.
    """

    # No database foreign key or index of its own (migration 0005): the per-row check cost ~0.9 s
    # of a 100,000-code import on PostgreSQL. Django deletes a practice's codes with it (CASCADE);
    # code_unique_in_practice serves lookups by practice.
    practice = models.ForeignKey(
        "practices.Practice",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    system = models.CharField(max_length=8, choices=CodeSystem.choices)
    code = models.CharField(max_length=16)
    code_key = models.CharField(max_length=16)
    description = models.CharField(max_length=500)
    active_from = models.DateField(null=True, blank=True)
    active_to = models.DateField(null=True, blank=True)
    source = models.CharField(max_length=16, choices=CodeSource.choices)
    note = models.CharField(max_length=200, blank=True)
    # The searchable words of the description (search_index.search_text), indexed by the database's
    # full-text machinery (FTS5 on SQLite, GIN on PostgreSQL: see search_index.py). Kept in step by
    # save(); bulk writers set it themselves.
    search_words = models.TextField(blank=True, default="", editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    objects = PracticeScopedQuerySet.as_manager()

    class Meta:
        ordering = ["system", "code_key"]
        constraints = [
            models.UniqueConstraint(
                fields=["system", "code_key"], condition=Q(practice__isnull=True), name="code_unique_global"
            ),
            models.UniqueConstraint(
                fields=["practice", "system", "code_key"],
                condition=Q(practice__isnull=False),
                name="code_unique_in_practice",
            ),
            models.CheckConstraint(
                condition=Q(active_from__isnull=True)
                | Q(active_to__isnull=True)
                | Q(active_to__gte=models.F("active_from")),
                name="code_active_dates_in_order",
            ),
        ]
        indexes = [
            # exact and prefix search: system = ? AND code_key range, in code order
            models.Index(fields=["system", "code_key"], name="code_system_key"),
        ]

    def __str__(self) -> str:
        return f"{self.code} — {self.description}"

    def save(self, *args, **kwargs):
        self.search_words = search_text(self.description)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "description" in update_fields:
            kwargs["update_fields"] = {*update_fields, "search_words"}
        super().save(*args, **kwargs)

    @property
    def is_sample(self) -> bool:
        return self.source == CodeSource.SAMPLE

    def is_active_on(self, day) -> bool:
        return (self.active_from is None or self.active_from <= day) and (
            self.active_to is None or day <= self.active_to
        )


class MemberCheck(models.TextChoices):
    DATABASE = "database", "Against the insurer's member database"
    FORMAT = "format", "By the number's format"


class FindMemberField(models.TextChoices):
    """Inputs of Healthcode's Find Member enquiry."""

    FIRST_NAME = "firstName", "First name"
    LAST_NAME = "lastName", "Last name"
    SEX = "sex", "Sex"
    DATE_OF_BIRTH = "dateOfBirth", "Date of birth"
    POSTCODE = "postCode", "Postcode"
    MEMBERSHIP_NUMBER = "membershipNumber", "Registration number"
    GROUP_ID = "groupId", "Group"
    POLICY_ACTIVE_ON = "policyActiveOn", "Policy active on"


# Our choice: a database check matches name, date of birth and postcode (HEALTHCODE.md); a format
# check needs only the number.
DEFAULT_FIND_MEMBER_FIELDS = {
    MemberCheck.DATABASE: ["firstName", "lastName", "dateOfBirth", "postCode", "membershipNumber"],
    MemberCheck.FORMAT: ["membershipNumber"],
}


class IdentifierSource(models.TextChoices):
    """Where an insurer's Healthcode identifier came from: a sync never overwrites one set by hand."""

    SHIPPED = "shipped", "Shipped with OpenPractice"
    CLEARING_HOUSE = "clearing_house", "From the clearing house"
    MANUAL = "manual", "Set by hand"


healthcode_identifier_validator = RegexValidator(
    r"^[a-z0-9]{2,10}$",
    "Enter the Healthcode identifier in lower case, 2 to 10 letters or digits (e.g. bup for Bupa).",
)


class Insurer(models.Model):
    """An entry of the Healthcode insurer directory.

    Published entries are global (practice NULL). A practice's administrator may add insurers,
    or edit a published one: the edit is saved as the practice's own entry (`based_on` the
    published one), which replaces it for that practice only.
    """

    practice = models.ForeignKey(
        "practices.Practice", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    based_on = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    name = models.CharField(max_length=120)
    healthcode_identifier = models.CharField(
        "Healthcode identifier (Insurance)", max_length=10, blank=True, validators=[healthcode_identifier_validator]
    )
    # Blank while there is no identifier.
    identifier_source = models.CharField(
        "identifier from", max_length=16, choices=IdentifierSource.choices, blank=True, default=""
    )
    member_check = models.CharField(
        "membership check", max_length=10, choices=MemberCheck.choices, default=MemberCheck.FORMAT
    )
    find_member_fields = models.JSONField("Find Member needs", default=list, blank=True)
    is_active = models.BooleanField("active", default=True)
    source = models.CharField(max_length=16, choices=CodeSource.choices, default=CodeSource.MANUAL)
    source_url = models.URLField("where this comes from", max_length=300, blank=True)

    objects = PracticeScopedQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["name"], condition=Q(practice__isnull=True), name="insurer_name_unique_global"
            ),
            models.UniqueConstraint(
                fields=["practice", "name"], condition=Q(practice__isnull=False), name="insurer_name_unique_in_practice"
            ),
            models.UniqueConstraint(
                fields=["practice", "based_on"],
                condition=Q(based_on__isnull=False),
                name="insurer_one_override_per_practice",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.healthcode_identifier})" if self.healthcode_identifier else self.name

    @property
    def is_published(self) -> bool:
        return self.practice_id is None

    @property
    def find_member_labels(self) -> list[str]:
        """The Find Member inputs in words ("Date of birth", not dateOfBirth)."""
        labels = dict(FindMemberField.choices)
        return [labels.get(name, name) for name in self.find_member_fields or []]


class AcceptedCode(models.Model):
    """A code an insurer's contracts team lists as accepted from this practice, with an optional
    maximum fee. Kept as the code (not a link to a Code row) because the list may name codes the
    practice has not imported."""

    practice = models.ForeignKey("practices.Practice", on_delete=models.CASCADE, related_name="+")
    insurer = models.ForeignKey(Insurer, on_delete=models.PROTECT, related_name="accepted_codes")
    system = models.CharField(max_length=8, choices=CodeSystem.choices)
    code = models.CharField(max_length=16)
    code_key = models.CharField(max_length=16)
    description = models.CharField(max_length=500, blank=True)
    max_fee = models.DecimalField(
        "maximum fee", max_digits=10, decimal_places=2, null=True, blank=True, validators=[MinValueValidator(0)]
    )
    active_from = models.DateField(null=True, blank=True)
    active_to = models.DateField(null=True, blank=True)
    source = models.CharField(max_length=16, choices=CodeSource.choices, default=CodeSource.IMPORT)
    updated_at = models.DateTimeField(auto_now=True)

    objects = PracticeScopedQuerySet.as_manager()

    class Meta:
        ordering = ["insurer", "system", "code_key"]
        constraints = [
            models.UniqueConstraint(fields=["practice", "insurer", "system", "code_key"], name="accepted_code_unique"),
            models.CheckConstraint(
                condition=Q(max_fee__isnull=True) | Q(max_fee__gte=0), name="accepted_code_fee_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(active_from__isnull=True)
                | Q(active_to__isnull=True)
                | Q(active_to__gte=models.F("active_from")),
                name="accepted_code_dates_in_order",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.insurer}: {self.code}"


class ImportKind(models.TextChoices):
    CODES = "codes", "Code set (CCSD or ISC)"
    ACCEPTED = "accepted", "Insurer's accepted codes"


class ImportStatus(models.TextChoices):
    CHECKING = "checking", "Checking the file"
    INVALID = "invalid", "File has problems"
    READY = "ready", "Ready to apply"
    APPLYING = "applying", "Applying"
    APPLIED = "applied", "Applied"
    FAILED = "failed", "Failed"
    DISCARDED = "discarded", "Discarded"


class CodeImport(models.Model):
    """One import: the uploaded file, its check (preview counts and examples), and its outcome."""

    practice = models.ForeignKey("practices.Practice", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=10, choices=ImportKind.choices)
    system = models.CharField(max_length=8, choices=CodeSystem.choices)
    insurer = models.ForeignKey(Insurer, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    source = models.CharField(max_length=16, choices=CodeSource.choices, default=CodeSource.IMPORT)
    filename = models.CharField(max_length=255, blank=True)
    content = models.BinaryField(blank=True, default=b"")  # kept until applied or discarded
    retire_missing = models.BooleanField(default=True)
    status = models.CharField(max_length=10, choices=ImportStatus.choices, default=ImportStatus.CHECKING)
    rows_total = models.PositiveIntegerField(default=0)
    rows_done = models.PositiveIntegerField(default=0)
    added = models.PositiveIntegerField(default=0)
    changed = models.PositiveIntegerField(default=0)
    retired = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    preview = models.JSONField(default=dict, blank=True)
    problems = models.JSONField(default=list, blank=True)  # [{"row": 12, "column": "...", "message": "..."}]
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    applied_at = models.DateTimeField(null=True, blank=True)

    objects = PracticeScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} import {self.filename}"

    @property
    def percent_done(self) -> int:
        return int(100 * self.rows_done / self.rows_total) if self.rows_total else 0

    @property
    def is_finished(self) -> bool:
        return self.status not in (ImportStatus.CHECKING, ImportStatus.APPLYING)
