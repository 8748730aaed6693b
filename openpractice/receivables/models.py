"""Collecting what patients owe: the practice's chase schedule, chase runs, each debt's working
state and the account's activity.

- ChaseStage: one stage of the practice's chase schedule (statement, reminders, final notice,
  referral to collection) with the days overdue it waits for and its email and letter templates.
  A practice without rows uses `schedule.DEFAULT_STAGES`.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from openpractice.practices.tenancy import PracticeScopedQuerySet


class StageKey(models.TextChoices):
    """The stages in their order: a debt only ever moves forward through them."""

    STATEMENT = "statement", "Statement"
    REMINDER = "reminder", "Reminder"
    SECOND_REMINDER = "second_reminder", "Second reminder"
    FINAL_NOTICE = "final_notice", "Final notice"
    COLLECTION = "collection", "Refer to collection"


STAGE_ORDER: dict[str, int] = {key: position for position, key in enumerate(StageKey.values)}


class ChaseStage(models.Model):
    practice = models.ForeignKey("practices.Practice", on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=16, choices=StageKey.choices)
    days_overdue = models.PositiveSmallIntegerField("days overdue")
    enabled = models.BooleanField(default=True)
    email_subject = models.CharField("email subject", max_length=200)
    email_body = models.TextField("email")
    letter_body = models.TextField("letter")
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = PracticeScopedQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["practice", "key"], name="chase_stage_once_per_practice"),
            models.CheckConstraint(condition=Q(days_overdue__lte=3650), name="chase_stage_days_within_ten_years"),
        ]

    def __str__(self) -> str:
        return f"{self.get_key_display()} at {self.days_overdue} days"


class Debt(models.Model):
    """The working state of one patient invoice that is being chased: who works it, and what
    pauses its chase (a dispute; a promise to pay until a date). Made when first needed; an
    invoice without one is simply open, unassigned and not paused."""

    practice = models.ForeignKey("practices.Practice", on_delete=models.CASCADE, related_name="+", db_index=False)
    invoice = models.OneToOneField("billing.Invoice", on_delete=models.CASCADE, related_name="debt")
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    disputed = models.BooleanField(default=False)
    dispute_reason = models.CharField(max_length=300, blank=True)
    promised_until = models.DateField("promised to pay by", null=True, blank=True)
    promised_amount = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = PracticeScopedQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["practice", "assigned_to"], name="debt_assigned")]
        constraints = [
            models.CheckConstraint(
                condition=Q(promised_amount__isnull=True) | Q(promised_amount__gt=0), name="debt_promise_positive"
            )
        ]

    def __str__(self) -> str:
        return f"Debt on invoice {self.invoice_id}"


class RunStatus(models.TextChoices):
    REVIEW = "review", "Waiting for review"
    SENT = "sent", "Sent"


class ChaseRun(models.Model):
    """One day's chase for a practice: what each debt needs, for a biller to review and send."""

    practice = models.ForeignKey("practices.Practice", on_delete=models.CASCADE, related_name="+", db_index=False)
    run_on = models.DateField("run on")
    status = models.CharField(max_length=8, choices=RunStatus.choices, default=RunStatus.REVIEW)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    sent_at = models.DateTimeField(null=True, blank=True)
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = PracticeScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-run_on", "-id"]
        # One run a day: running the chase again that day gives the same run.
        constraints = [models.UniqueConstraint(fields=["practice", "run_on"], name="chase_run_once_a_day")]

    def __str__(self) -> str:
        return f"Chase run of {self.run_on:%d/%m/%Y}"


class Channel(models.TextChoices):
    EMAIL = "email", "Email"
    LETTER = "letter", "Letter"


class ItemOutcome(models.TextChoices):
    PENDING = "", "Not sent yet"
    EMAILED = "emailed", "Emailed"
    TO_PRINT = "to_print", "Letter to print"
    SKIPPED = "skipped", "Left out"
    NOT_DUE = "not_due", "No longer due"


class ChaseItem(models.Model):
    practice = models.ForeignKey("practices.Practice", on_delete=models.CASCADE, related_name="+", db_index=False)
    run = models.ForeignKey(ChaseRun, on_delete=models.CASCADE, related_name="items")
    invoice = models.ForeignKey("billing.Invoice", on_delete=models.CASCADE, related_name="+")
    patient = models.ForeignKey("patients.Patient", on_delete=models.CASCADE, related_name="+", db_index=False)
    stage = models.CharField(max_length=16, choices=StageKey.choices)
    channel = models.CharField(max_length=6, choices=Channel.choices)
    balance = models.DecimalField(max_digits=12, decimal_places=2)
    days_overdue = models.PositiveIntegerField()
    outcome = models.CharField(max_length=8, choices=ItemOutcome.choices, blank=True, default=ItemOutcome.PENDING)

    objects = PracticeScopedQuerySet.as_manager()

    class Meta:
        ordering = ["run", "id"]
        constraints = [models.UniqueConstraint(fields=["run", "invoice"], name="chase_item_once_per_run")]


class ActivityKind(models.TextChoices):
    CHASE_SENT = "chase_sent", "Chase sent"
    NOTE = "note", "Note"
    ASSIGNED = "assigned", "Assigned"
    PROMISE = "promise", "Promise to pay"
    DISPUTE = "dispute", "Disputed"
    DISPUTE_RESOLVED = "dispute_resolved", "Dispute resolved"
    WRITE_OFF_REQUESTED = "write_off_asked", "Write-off asked for"
    WRITTEN_OFF = "written_off", "Written off"
    WRITE_OFF_DECLINED = "write_off_no", "Write-off declined"
    WRITE_OFF_REVERSED = "write_off_back", "Write-off reversed"
    STATEMENT_SENT = "statement_sent", "Statement sent"
    CARD_PAID = "card_paid", "Paid by card online"
    CARD_REFUNDED = "card_refunded", "Card payment refunded"


class AccountActivity(models.Model):
    """What happened on a patient's account, one row each, never edited or deleted: the chase's
    sends, notes, assignments, promises and disputes."""

    practice = models.ForeignKey("practices.Practice", on_delete=models.CASCADE, related_name="+", db_index=False)
    patient = models.ForeignKey("patients.Patient", on_delete=models.CASCADE, related_name="+", db_index=False)
    invoice = models.ForeignKey("billing.Invoice", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=16, choices=ActivityKind.choices)
    stage = models.CharField(max_length=16, choices=StageKey.choices, blank=True)
    channel = models.CharField(max_length=6, choices=Channel.choices, blank=True)
    on_date = models.DateField("date")
    detail = models.TextField(blank=True)
    amount = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    chase_item = models.ForeignKey(
        ChaseItem, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    # The many-patient statement run a statement was sent by (None: one sent from the account).
    statement_run = models.ForeignKey(
        "receivables.StatementRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = PracticeScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["practice", "patient", "created_at"], name="activity_of_patient")]
        constraints = [
            # One statement per patient per run, whatever a task taken up again after a crash does.
            models.UniqueConstraint(
                fields=["statement_run", "patient"],
                condition=Q(statement_run__isnull=False),
                name="statement_once_per_patient_per_run",
            ),
            # A stage goes to a debt at most once, whatever runs, workers or clicks race.
            models.UniqueConstraint(
                fields=["invoice", "stage"], condition=Q(kind="chase_sent"), name="chase_stage_sent_once_per_debt"
            ),
            models.CheckConstraint(
                condition=~Q(kind="chase_sent") | (~Q(stage="") & Q(invoice__isnull=False)),
                name="activity_chase_names_stage_and_invoice",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on {self.on_date}"

    def save(self, *args, **kwargs):
        # Append-only: the activity is the account's record of what was sent and said.
        if self.pk is not None:
            raise ValueError("Account activity is never edited: record a new activity instead.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("Account activity is never deleted.")


class WriteOffStatus(models.TextChoices):
    REQUESTED = "requested", "Waiting for approval"
    APPROVED = "approved", "Approved"
    DECLINED = "declined", "Declined"


class WriteOff(models.Model):
    """A write-off asked for by a biller and decided by someone who may approve write-offs (the
    owner). Only an approved one is entered in the ledger (WriteOffEntry)."""

    practice = models.ForeignKey("practices.Practice", on_delete=models.CASCADE, related_name="+", db_index=False)
    invoice = models.ForeignKey("billing.Invoice", on_delete=models.PROTECT, related_name="+")
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    reason = models.CharField(max_length=300)
    status = models.CharField(max_length=9, choices=WriteOffStatus.choices, default=WriteOffStatus.REQUESTED)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    requested_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    objects = PracticeScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-requested_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="write_off_positive"),
            # One request waiting per debt: a second would be decided against a stale balance.
            models.UniqueConstraint(fields=["invoice"], condition=Q(status="requested"), name="write_off_one_waiting"),
        ]


class WriteOffEntry(models.Model):
    """The write-off ledger: a row per approved write-off, and a reversal as the exact negative of
    the row it reverses (at most once). Rows are never edited; the invoice's written-off total
    (billing's, through `adjust_written_off`) moves with them."""

    practice = models.ForeignKey("practices.Practice", on_delete=models.CASCADE, related_name="+", db_index=False)
    invoice = models.ForeignKey("billing.Invoice", on_delete=models.PROTECT, related_name="+")
    write_off = models.ForeignKey(WriteOff, on_delete=models.PROTECT, related_name="entries")
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    reason = models.CharField(max_length=300)
    reverses = models.OneToOneField("self", null=True, blank=True, on_delete=models.PROTECT, related_name="reversed_by")
    posted_on = models.DateField()
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )

    objects = PracticeScopedQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(reverses__isnull=True) & Q(amount__gt=0)) | (Q(reverses__isnull=False) & Q(amount__lt=0)),
                name="write_off_entry_sign_follows_reversal",
            )
        ]


class DisputeStatus(models.TextChoices):
    RAISED = "raised", "Raised"
    SENT = "sent", "Sent to the insurer"
    PAID = "paid", "Resolved: the insurer paid"
    PATIENT = "patient", "Resolved: the patient's to pay"
    WRITTEN_OFF = "written_off", "Resolved: written off"


OPEN_DISPUTE = (DisputeStatus.RAISED, DisputeStatus.SENT)


class InsurerDispute(models.Model):
    """Where the dispute of one insurer underpayment (remittances.ShortfallVerdict of kind
    underpayment) stands. An underpayment without a row is raised and not yet sent; the row is
    made by the first step (sent, or resolved)."""

    practice = models.ForeignKey("practices.Practice", on_delete=models.CASCADE, related_name="+", db_index=False)
    verdict = models.OneToOneField("remittances.ShortfallVerdict", on_delete=models.CASCADE, related_name="dispute")
    status = models.CharField(max_length=12, choices=DisputeStatus.choices, default=DisputeStatus.RAISED)
    sent_at = models.DateTimeField(null=True, blank=True)
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    note = models.CharField(max_length=300, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = PracticeScopedQuerySet.as_manager()

    def __str__(self) -> str:
        return f"Dispute of {self.verdict_id}: {self.get_status_display()}"


class StatementRun(models.Model):
    """Statements for many patients at once: each is rendered, recorded on the account's activity
    and emailed (or left to post) in turn, `done` moving with each in the same transaction, so a
    run taken up again after a crash carries on where it stopped. A big run works in a task."""

    practice = models.ForeignKey("practices.Practice", on_delete=models.CASCADE, related_name="+", db_index=False)
    patient_ids = models.JSONField(default=list)
    as_of = models.DateField("as of")
    requested = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    emailed = models.PositiveIntegerField(default=0)
    to_post = models.PositiveIntegerField("to post", default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = PracticeScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["practice", "created_at"], name="statement_run_recent")]
        constraints = [
            models.CheckConstraint(condition=Q(done__lte=F("requested")), name="statement_run_done_in_range")
        ]

    def __str__(self) -> str:
        return f"Statements of {self.created_at:%d/%m/%Y}"

    @property
    def finished(self) -> bool:
        return self.done >= self.requested

    @property
    def percent(self) -> int:
        return 100 if not self.requested else self.done * 100 // self.requested
