"""The monthly consultant report's own rows: the bureau's fee agreement with each practice (with the
month it takes effect), who the report goes to, and each month's report as it was generated and sent
(a snapshot of the figures, so what the consultant was sent is kept whatever changes later)."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q

from openpractice.practices.tenancy import PracticeScopedQuerySet


class FeeKind(models.TextChoices):
    PERCENTAGE = "percentage", "A percentage of what was collected"
    FIXED = "fixed", "A fixed monthly fee"


class FeeAgreement(models.Model):
    """The bureau's fee from a month onwards: the latest agreement whose month is on or before a
    report's month applies to it (a new agreement never changes an earlier month's fee)."""

    practice = models.ForeignKey("practices.Practice", on_delete=models.CASCADE, related_name="+", db_index=False)
    kind = models.CharField(max_length=10, choices=FeeKind.choices, default=FeeKind.PERCENTAGE)
    percentage = models.DecimalField(max_digits=5, decimal_places=2, default=Decimal("0.00"))
    monthly_fee = models.DecimalField(max_digits=10, decimal_places=2, default=Decimal("0.00"))
    effective_from = models.DateField("takes effect from")  # always the first day of a month
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )

    objects = PracticeScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-effective_from"]
        constraints = [
            models.UniqueConstraint(fields=["practice", "effective_from"], name="fee_agreement_one_per_month"),
            models.CheckConstraint(
                condition=Q(percentage__gte=0, percentage__lte=100), name="fee_agreement_percentage_range"
            ),
            models.CheckConstraint(condition=Q(monthly_fee__gte=0), name="fee_agreement_fee_not_negative"),
        ]


class ReportRecipients(models.Model):
    """Where a practice's monthly report is emailed, and whether the schedule sends it."""

    practice = models.OneToOneField("practices.Practice", on_delete=models.CASCADE, related_name="+")
    emails = models.TextField("send to", blank=True)  # one address a line (or comma-separated)
    send_monthly = models.BooleanField("send each month automatically", default=True)

    objects = PracticeScopedQuerySet.as_manager()

    @property
    def addresses(self) -> list[str]:
        return [a.strip() for a in self.emails.replace(",", "\n").splitlines() if a.strip()]


class ConsultantReport(models.Model):
    """One month's report for one practice, as generated: `figures` is the snapshot (money as
    strings) the page, the PDF and the CSV of a saved report are drawn from."""

    practice = models.ForeignKey("practices.Practice", on_delete=models.CASCADE, related_name="+", db_index=False)
    month = models.DateField()  # the first day of the month
    figures = models.JSONField()
    generated_at = models.DateTimeField()
    generated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    sent_at = models.DateTimeField(null=True, blank=True)
    sent_to = models.TextField(blank=True)

    objects = PracticeScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-month"]
        constraints = [models.UniqueConstraint(fields=["practice", "month"], name="consultant_report_one_per_month")]
