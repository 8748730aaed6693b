"""Imports from another system's CSV exports: one run per uploaded file, the column mapping
remembered per source system, and every row imported (its natural key → the object made or
matched), so the same file imported twice adds nothing twice."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from openpractice.practices.tenancy import PracticeScopedQuerySet


class ImportKind(models.TextChoices):
    PATIENTS = "patients", "Patients"
    CONTACTS = "contacts", "Contacts"
    PRODUCTS = "products", "Products and prices"
    INVOICES = "invoices", "Open invoices"


class ImportStatus(models.TextChoices):
    UPLOADED = "uploaded", "Uploaded: map the columns"
    CHECKING = "checking", "Checking"
    CHECKED = "checked", "Checked"
    POSTING = "posting", "Importing"
    POSTED = "posted", "Imported"
    FAILED = "failed", "Not imported"


class ImportRun(models.Model):
    practice = models.ForeignKey("practices.Practice", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=10, choices=ImportKind.choices)
    source_name = models.CharField("source system", max_length=60)
    filename = models.CharField(max_length=200)
    # The file as uploaded (decoded text): the check and the post read it again, never a copy.
    content = models.TextField()
    headers = models.JSONField(default=list)
    mapping = models.JSONField(default=dict)  # field → column header
    status = models.CharField(max_length=10, choices=ImportStatus.choices, default=ImportStatus.UPLOADED)
    total_rows = models.PositiveIntegerField(default=0)
    # Progress of a background check or post: rows checked, then rows written (phase says which:
    # checking, trial (a check of a kind tried in one transaction), writing, together).
    phase = models.CharField(max_length=10, blank=True)
    progress = models.PositiveIntegerField(default=0)
    # Why the last check or post stopped before it finished (a file that cannot be read, a crash);
    # blank when it finished. Nothing is written when it is set: check again.
    error = models.TextField(blank=True)
    # The last check: counts (create, already imported, already here) and the problems found
    # (row, field, column, value, message), the first MAX_PROBLEMS of them.
    counts = models.JSONField(default=dict)
    problems = models.JSONField(default=list)
    problem_count = models.PositiveIntegerField(default=0)
    checked_at = models.DateTimeField(null=True, blank=True)
    posted_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = PracticeScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["practice", "created_at"], name="importrun_practice_recent")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} from {self.source_name} ({self.filename})"

    @property
    def percent(self) -> int:
        return int(100 * self.progress / self.total_rows) if self.total_rows else 0

    @property
    def is_busy(self) -> bool:
        """A check or post is running (in a task for a big file): the page polls its progress."""
        return self.status in (ImportStatus.CHECKING, ImportStatus.POSTING)


class ImportedRow(models.Model):
    """One row an import made or matched: its natural key in the source (the source's id column,
    or NHS number / name and date of birth, invoice number …) and the object's id."""

    practice = models.ForeignKey("practices.Practice", on_delete=models.CASCADE, related_name="+", db_index=False)
    run = models.ForeignKey(ImportRun, on_delete=models.CASCADE, related_name="rows", db_index=False)
    kind = models.CharField(max_length=10, choices=ImportKind.choices)
    source_key = models.CharField(max_length=200)
    object_id = models.BigIntegerField()
    created = models.BooleanField(default=True)  # False: matched an object already in OpenPractice

    objects = PracticeScopedQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["practice", "kind", "source_key"], name="importedrow_key_once"),
        ]
        indexes = [models.Index(fields=["run"], name="importedrow_run")]


class ColumnMapping(models.Model):
    """The mapping last used for this source system and kind, offered again next time."""

    practice = models.ForeignKey("practices.Practice", on_delete=models.CASCADE, related_name="+")
    source_name = models.CharField(max_length=60)
    kind = models.CharField(max_length=10, choices=ImportKind.choices)
    mapping = models.JSONField(default=dict)
    updated_at = models.DateTimeField(auto_now=True)

    objects = PracticeScopedQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["practice", "source_name", "kind"], name="columnmapping_one_per_source"),
        ]
