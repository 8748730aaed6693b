"""A bureau: an organisation that runs the billing of several practices (consultants), each still
its own tenant with its own Healthcode site and bank account.

Who may see what stays the practices' rule: a bureau's staff work across every practice of the
bureau they are an active *member* of (practices.Membership, with its role's capabilities). Being
bureau staff only adds the combined pages; it never opens a practice by itself.

A practice's fee agreement and monthly report settings live with the report (reports,
`FeeAgreement`), keyed by practice; onboarding makes a new practice from a template practice. Both
work per practice, so they need nothing of this app; what is the bureau's own (a default template
practice, say) hangs off `Bureau` or `BureauPractice`."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from simple_history.models import HistoricalRecords


class Bureau(models.Model):
    name = models.CharField(max_length=200, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class BureauPractice(models.Model):
    """A practice the bureau manages. A practice has at most one bureau."""

    bureau = models.ForeignKey(Bureau, on_delete=models.CASCADE, related_name="practice_links")
    practice = models.OneToOneField("practices.Practice", on_delete=models.CASCADE, related_name="bureau_link")
    joined_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["practice__name"]

    def __str__(self) -> str:
        return f"{self.practice} (managed by {self.bureau})"


class BureauStaff(models.Model):
    """A person who works for the bureau: they get the combined pages over the bureau's practices
    they are an active member of."""

    bureau = models.ForeignKey(Bureau, on_delete=models.CASCADE, related_name="staff")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="bureau_staff")
    is_active = models.BooleanField("active", default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["user__full_name"]
        constraints = [models.UniqueConstraint(fields=["bureau", "user"], name="bureau_staff_unique_user")]

    def __str__(self) -> str:
        return f"{self.user} at {self.bureau}"


class RunKind(models.TextChoices):
    SUBMISSION = "submission", "Bulk submission"
    REMITTANCE_FETCH = "remittance_fetch", "Remittance fetch"


class BureauRun(models.Model):
    """One action over several practices: a bulk submission (one healthcode.BulkSubmission per
    practice, each sent with that practice's own credentials) or a remittance fetch (one
    remittances.FetchRun per practice). Practices it could not act for are listed in `skipped`."""

    bureau = models.ForeignKey(Bureau, on_delete=models.CASCADE, related_name="runs")
    kind = models.CharField(max_length=20, choices=RunKind.choices)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    requested = models.PositiveIntegerField(default=0)  # bills asked for (a submission)
    # [{"practice_id", "practice", "why"}]: a practice not acted for (Healthcode not set up, say)
    skipped = models.JSONField(default=list, blank=True)
    submissions = models.ManyToManyField("healthcode.BulkSubmission", related_name="+", blank=True)
    fetches = models.ManyToManyField("remittances.FetchRun", related_name="+", blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for {self.bureau}"


class PracticeDebtSummary(models.Model):
    """What one practice is owed by one payer (patients, or the bills to one insurer), by age
    band, as last counted: the combined page's aged debt reads these rows rather than every owing
    invoice of every practice (bureaus.debt_summaries keeps them fresh). Every counted practice
    has its patients' row, even at zero, so "never counted" and "owes nothing" differ."""

    practice = models.ForeignKey("practices.Practice", on_delete=models.CASCADE, related_name="+")
    bill_to = models.CharField(max_length=10)  # billing.BillTo
    insurer = models.CharField(max_length=10, blank=True, default="")  # Healthcode identifier; "" for patients
    # reports.selectors.BUCKETS' bands, youngest first
    band_0 = models.DecimalField(max_digits=14, decimal_places=2)
    band_1 = models.DecimalField(max_digits=14, decimal_places=2)
    band_2 = models.DecimalField(max_digits=14, decimal_places=2)
    band_3 = models.DecimalField(max_digits=14, decimal_places=2)
    invoices = models.PositiveIntegerField(default=0)
    as_of = models.DateField()  # the day the bands were counted from
    counted_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["practice", "bill_to", "insurer"], name="practice_debt_summary_unique_payer"
            )
        ]

    def __str__(self) -> str:
        return f"{self.practice_id} {self.bill_to} {self.insurer} as of {self.as_of}"

    @property
    def bands(self) -> list:
        return [self.band_0, self.band_1, self.band_2, self.band_3]
