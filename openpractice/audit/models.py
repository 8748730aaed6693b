"""ReadEvent: one row per time someone opened a record or downloaded an export."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from openpractice.practices.tenancy import PracticeScopedQuerySet


class ReadKind(models.TextChoices):
    PATIENT = "patient", "Patient record"
    INVOICE = "invoice", "Invoice"
    INVOICE_PDF = "invoice_pdf", "Invoice PDF"
    EXPORT = "export", "Export"


class ReadVia(models.TextChoices):
    PAGE = "page", "Page"
    API = "api", "API"
    EXPORT = "export", "Download"


class ReadEvent(models.Model):
    """Written by the middleware only (audit/middleware.py); never edited.

    Kept lean because a row is written on every record opened: two indexes, both led by the
    practice (its list newest first, and one record's reads); no foreign-key index of its own.
    """

    practice = models.ForeignKey("practices.Practice", on_delete=models.CASCADE, related_name="+", db_index=False)
    # PROTECT: someone who has read records is deactivated, not deleted, so the log keeps who it was.
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", db_index=False)
    at = models.DateTimeField("when", default=timezone.now)
    kind = models.CharField(max_length=12, choices=ReadKind.choices)
    object_type = models.CharField(max_length=20)
    object_id = models.BigIntegerField(null=True, blank=True)
    label = models.CharField("address opened", max_length=300)
    via = models.CharField(max_length=6, choices=ReadVia.choices)

    objects = PracticeScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["practice", "-id"], name="readevent_practice_newest"),
            models.Index(fields=["practice", "object_type", "object_id", "-id"], name="readevent_practice_record"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} read {self.label} at {self.at:%Y-%m-%d %H:%M}"
