"""Remittances: what insurers say they paid, and the ledger of what was applied to each invoice.

- RemittanceBatch is the inbox (one row per remittance received, from the clearing house or a
  file): the raw payload is stored first and durably, then acknowledged, then processed; the
  clearing house's batch id is unique per practice, so a batch delivered twice is stored once.
- RemittanceLine: one bill in a batch (what was invoiced, paid, short and why), matched to an
  invoice automatically or by hand from the review queue.
- Allocation is the ledger. Every amount applied to an invoice is a row; a row is never edited:
  a mistake is undone by a reversal row (negative, pointing at the row it reverses). An invoice's
  balance is its total less its allocations (and billing's own payments and credit notes).
"""

from __future__ import annotations

import datetime as dt
import functools
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django_tasks import TaskResultStatus, default_task_backend
from django_tasks.exceptions import TaskResultDoesNotExist

from openpractice.practices.tenancy import PracticeScopedQuerySet
from openpractice.remittances.shortfall_kind import KIND_LABELS

KIND_CHOICES = list(KIND_LABELS.items())


class BatchSource(models.TextChoices):
    CLEARING_HOUSE = "clearing_house", "Healthcode"
    FHIR_FILE = "fhir_file", "Remittance file (FHIR)"
    CSV_FILE = "csv_file", "Remittance file (CSV)"


class BatchStatus(models.TextChoices):
    RECEIVED = "received", "Received"  # stored, not yet posted
    POSTED = "posted", "Posted"  # lines matched and allocated (some may wait for review)
    FAILED = "failed", "Could not be read"


class RemittanceBatch(models.Model):
    practice = models.ForeignKey("practices.Practice", on_delete=models.CASCADE, related_name="+")
    source = models.CharField(max_length=16, choices=BatchSource.choices)
    # The clearing house's remittance id (or the file's own id / a hash of the file's content).
    external_id = models.CharField("remittance id", max_length=80)
    insurer_identifier = models.CharField("Healthcode identifier (Insurance)", max_length=10, blank=True)
    insurer_name = models.CharField(max_length=120, blank=True)
    payment_reference = models.CharField("BACS reference", max_length=60, blank=True)
    payment_date = models.DateField(null=True, blank=True)
    payment_amount = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0.00"))
    raw_payload = models.TextField()
    status = models.CharField(max_length=10, choices=BatchStatus.choices, default=BatchStatus.RECEIVED)
    error = models.TextField(blank=True)
    received_at = models.DateTimeField(auto_now_add=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    # BACS reconciliation: what the bank statement shows for this payment reference.
    bank_amount = models.DecimalField(
        "amount on the bank statement", max_digits=12, decimal_places=2, null=True, blank=True
    )
    bank_recorded_at = models.DateTimeField(null=True, blank=True)
    received_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # What the remittance says (parsing.ParsedBatch.content_key: payer, reference, date, lines), so
    # the same remittance as a file, a CSV or from the clearing house is one batch. Null until read
    # (a batch that could not be read has none).
    content_key = models.CharField(max_length=64, null=True, blank=True, editable=False)  # noqa: DJ001 (NULLs are distinct)

    objects = PracticeScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["practice", "external_id"], name="remittance_batch_once_per_practice"),
            models.UniqueConstraint(fields=["practice", "content_key"], name="remittance_batch_content_once"),
        ]
        indexes = [
            models.Index(fields=["practice", "status"], name="remittance_batch_status"),
            models.Index(fields=["practice", "payment_reference"], name="remittance_batch_reference"),
        ]

    def __str__(self) -> str:
        return f"Remittance {self.payment_reference or self.external_id}"

    @property
    def bank_difference(self) -> Decimal | None:
        """Bank amount less the remittance total: 0 when the BACS payment matches the advice."""
        return None if self.bank_amount is None else self.bank_amount - self.payment_amount


class LineStatus(models.TextChoices):
    NEW = "new", "Not yet matched"
    ALLOCATED = "allocated", "Allocated"
    REVIEW = "review", "Waiting for review"
    IGNORED = "ignored", "Set aside"
    DUPLICATE = "duplicate", "Already posted"  # the same line came before, in this or another form: never allocated


class MatchMethod(models.TextChoices):
    INVOICE_NUMBER = "invoice_number", "Invoice number"
    MEMBER = "member", "Membership number, patient and amount"
    MANUAL = "manual", "Matched by hand"


class LineOutcome(models.TextChoices):
    PAID = "paid", "Paid"
    PART_PAID = "part_paid", "Part-paid"
    REJECTED = "rejected", "Rejected"


class RemittanceLine(models.Model):
    # A remittance writes 100,000 lines at once: no index or per-row check that only repeats another.
    # Lines are written by posting alone, with the batch it holds locked, so neither the batch nor
    # the practice (the batch's) is checked again per row; batch leads the unique (batch, sequence),
    # practice the indexes below.
    practice = models.ForeignKey(
        "practices.Practice", on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    batch = models.ForeignKey(
        RemittanceBatch, on_delete=models.CASCADE, related_name="lines", db_index=False, db_constraint=False
    )
    sequence = models.PositiveIntegerField()
    bill_id = models.CharField(max_length=20, blank=True)
    invoice_number = models.CharField(max_length=20, blank=True)
    membership_number = models.CharField("Registration number", max_length=30, blank=True)
    patient_name = models.CharField(max_length=120, blank=True)
    amount_invoiced = models.DecimalField(max_digits=12, decimal_places=2)
    amount_paid = models.DecimalField(max_digits=12, decimal_places=2)
    shortfall = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0.00"))
    shortfall_code = models.CharField(max_length=40, blank=True)  # e.g. benefit-maximum, rejected
    shortfall_reason = models.CharField(max_length=300, blank=True)  # the insurer's words
    # Per charge line: [{"sequence": 1, "submitted": "180.00", "paid": "150.00", "shortfall": "30.00",
    #                    "code": "benefit-maximum", "reason": "..."}] (amounts as strings: exact)
    items = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=10, choices=LineStatus.choices, default=LineStatus.NEW)
    problem = models.CharField(max_length=300, blank=True)  # why it waits for review
    # Which invoice the line was matched to; the money is in the allocations, whose invoice key the
    # database checks. Set by posting and by a match by hand, each under the invoice's row lock.
    invoice = models.ForeignKey(
        "billing.Invoice",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="remittance_lines",
        db_constraint=False,
    )
    match_method = models.CharField(max_length=16, choices=MatchMethod.choices, blank=True)
    matched_at = models.DateTimeField(null=True, blank=True)
    matched_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    # What the line says (parsing.line_keys: payer, payment reference, bill, amount paid, and which
    # repeat of that within its remittance), hashed. Unique per practice, so a line is received
    # once whatever form it came in; a repeat is kept as DUPLICATE with no key (NULLs are distinct).
    line_key = models.CharField(max_length=40, null=True, blank=True, editable=False)  # noqa: DJ001 (NULLs are distinct)

    objects = PracticeScopedQuerySet.as_manager()

    class Meta:
        ordering = ["batch", "sequence"]
        constraints = [
            models.UniqueConstraint(fields=["batch", "sequence"], name="remittance_line_sequence_unique"),
            # The database's own guard of "never posted twice", behind the check posting makes under
            # the invoice locks; also the index that check reads.
            models.UniqueConstraint(fields=["practice", "line_key"], name="remittance_line_once"),
            models.CheckConstraint(
                condition=Q(amount_paid__gte=0) & Q(shortfall__gte=0), name="remittance_line_amounts_not_negative"
            ),
        ]
        # The two lists a biller works from are small parts of all lines: partial indexes, which
        # an allocated line in full (most of them) never writes to.
        indexes = [
            models.Index(fields=["practice"], condition=Q(status="review"), name="remittance_line_review"),
            models.Index(
                fields=["practice"], condition=Q(status="allocated", shortfall__gt=0), name="remittance_line_shortfall"
            ),
            models.Index(fields=["practice", "bill_id"], name="remittance_line_bill"),
        ]

    @property
    def outcome(self) -> str:
        if self.amount_paid <= 0:
            return LineOutcome.REJECTED
        return LineOutcome.PART_PAID if self.shortfall > 0 else LineOutcome.PAID

    def get_outcome_display(self) -> str:
        return LineOutcome(self.outcome).label


class AllocationKind(models.TextChoices):
    INSURER_PAYMENT = "insurer_payment", "Insurer payment"
    SHORTFALL_TRANSFER = "shortfall_transfer", "Shortfall moved to the patient"
    REVERSAL = "reversal", "Reversal"


class Allocation(models.Model):
    # As for lines: practice is the invoice's (the invoice's key is checked) and leads the
    # composite index; rows are looked up by invoice, line and remittance line.
    practice = models.ForeignKey(
        "practices.Practice", on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    invoice = models.ForeignKey("billing.Invoice", on_delete=models.PROTECT, related_name="allocations")
    # Checked by the ledger, not per row by the database: the line is read from the invoice, locked
    # in the same transaction, and an issued invoice's lines never change. The database's check
    # share-locked every invoice line a remittance paid (a tenth of the posting time).
    invoice_line = models.ForeignKey(
        "billing.InvoiceLine",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="allocations",
        db_constraint=False,
    )
    remittance_line = models.ForeignKey(
        RemittanceLine, null=True, blank=True, on_delete=models.PROTECT, related_name="allocations"
    )
    kind = models.CharField(max_length=20, choices=AllocationKind.choices)
    # Signed: a reversal is the negative of the row it reverses. Decimal pounds.
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    # The insurer's deduction on this line and why (insurer payments only; informational).
    shortfall = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0.00"))
    reason = models.CharField(max_length=300, blank=True)
    reverses = models.OneToOneField("self", null=True, blank=True, on_delete=models.PROTECT, related_name="reversed_by")
    # Shortfall transfers: the patient invoice that now carries the amount.
    patient_invoice = models.ForeignKey(
        "billing.Invoice",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="shortfalls_received",
        db_index=False,
    )
    # Insurer reporting without a join through the invoice (payments by insurer, days to payment).
    # A copy of the invoice's insurer, which the invoice's own key guards: no second check per row.
    insurer_contact = models.ForeignKey(
        "contacts.Contact", null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_constraint=False
    )
    posted_on = models.DateField("date paid")
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )

    objects = PracticeScopedQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            # Only a reversal is negative and only a reversal names a row; a row is reversed once
            # (the one-to-one's unique index). Reversing a 0.00 row (a rejected line matched to the
            # wrong invoice) gives a 0.00 reversal.
            models.CheckConstraint(
                condition=(Q(kind="reversal") & Q(amount__lte=0) & Q(reverses__isnull=False))
                | (~Q(kind="reversal") & Q(amount__gte=0) & Q(reverses__isnull=True)),
                name="allocation_sign_follows_kind",
            ),
            models.CheckConstraint(condition=Q(shortfall__gte=0), name="allocation_shortfall_not_negative"),
        ]
        indexes = [
            models.Index(fields=["practice", "kind", "posted_on"], name="allocation_kind_date"),
            # Only shortfall transfers name a patient invoice: the insurer payments skip this index.
            models.Index(
                fields=["patient_invoice"],
                condition=Q(patient_invoice__isnull=False),
                name="allocation_patient_invoice",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} £{self.amount} on invoice {self.invoice_id}"


class ShortfallRule(models.TextChoices):
    BY_HAND = "by_hand", "A biller moves each shortfall to the patient"
    AUTOMATIC = "automatic", "Move every shortfall to the patient as the remittance is posted"


class RemittanceSettings(models.Model):
    """The practice's rule for shortfalls."""

    practice = models.OneToOneField("practices.Practice", on_delete=models.CASCADE, related_name="+")
    shortfall_rule = models.CharField(max_length=10, choices=ShortfallRule.choices, default=ShortfallRule.BY_HAND)
    # Only these reason codes move automatically (blank: every reason). E.g. "benefit-maximum".
    automatic_codes = models.CharField(max_length=200, blank=True)

    objects = PracticeScopedQuerySet.as_manager()


class PendingImport(models.Model):
    """A remittance file between its preview and its posting: kept here (not in the session, which
    is no place for 20 MB), confirmed by its id by the user who uploaded it, deleted when posted
    or once expired."""

    LIFETIME_MINUTES = 60

    practice = models.ForeignKey("practices.Practice", on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    name = models.CharField("file name", max_length=200, blank=True)
    kind = models.CharField(max_length=4)  # fhir or csv
    # The CSV options as chosen on the form: mapping, insurer_identifier, payment_reference, payment_date (ISO).
    options = models.JSONField(default=dict)
    content = models.BinaryField()
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(db_index=True)

    objects = PracticeScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]


class FetchRunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Fetching"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class FetchRun(models.Model):
    """One "Fetch from Healthcode now": queued by the button, run by a worker, kept with its outcome
    so the remittances page shows where it is (and, after a reload, what it found)."""

    # A run whose worker task is known is lost only when that task has ended without finishing it
    # (a task whose worker died is taken up again by another: still alive). A run whose task is
    # not known (queued before task ids were kept) is taken as lost after this long.
    STALE_AFTER_MINUTES = 15

    practice = models.ForeignKey("practices.Practice", on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=10, choices=FetchRunStatus.choices, default=FetchRunStatus.QUEUED)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # The outcome: new remittances stored, their lines matched to invoices, and what went wrong.
    fetched = models.PositiveIntegerField(default=0)
    matched = models.PositiveIntegerField(default=0)
    to_review = models.PositiveIntegerField(default=0)
    problems = models.JSONField(default=list, blank=True)
    error = models.TextField(blank=True)  # why a failed run failed
    task_id = models.CharField(max_length=64, blank=True)  # the worker's task (django_tasks result id)

    objects = PracticeScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["practice", "-created_at"], name="remittance_fetch_run_latest")]

    def __str__(self) -> str:
        return f"Fetch run {self.pk} ({self.status})"

    @property
    def is_active(self) -> bool:
        return self.status in (FetchRunStatus.QUEUED, FetchRunStatus.RUNNING)

    @functools.cached_property
    def is_stale(self) -> bool:
        """Queued or running, but no worker will finish it (a new request closes it): its task has
        ended, or (task not known) it is older than STALE_AFTER_MINUTES."""
        if not self.is_active:
            return False
        if self.task_id and default_task_backend.supports_get_result:
            try:
                found = default_task_backend.get_result(self.task_id)
            except TaskResultDoesNotExist:
                return True
            return found.status not in (TaskResultStatus.READY, TaskResultStatus.RUNNING)
        return self.created_at < timezone.now() - dt.timedelta(minutes=self.STALE_AFTER_MINUTES)

    @property
    def is_polled(self) -> bool:
        return self.is_active and not self.is_stale


class ShortfallVerdict(models.Model):
    """Who owes a remittance line's shortfall (`shortfall_kind.classify_shortfall`): an insurer
    underpayment (disputed with the insurer, never moved to the patient) or the patient's. Kept
    when the line is posted, with what the rule compared; a biller may override it, and the
    override's reason, who and when are kept beside the rule's own answer."""

    practice = models.ForeignKey("practices.Practice", on_delete=models.CASCADE, related_name="+", db_index=False)
    remittance_line = models.OneToOneField(RemittanceLine, on_delete=models.CASCADE, related_name="verdict")
    invoice = models.ForeignKey("billing.Invoice", on_delete=models.PROTECT, related_name="+", db_index=False)
    insurer_contact = models.ForeignKey(
        "contacts.Contact", null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    kind = models.CharField(max_length=12, choices=KIND_CHOICES)
    rule_kind = models.CharField("the rule's answer", max_length=12)
    why = models.CharField(max_length=300, blank=True)
    billed = models.DecimalField(max_digits=12, decimal_places=2)
    paid = models.DecimalField(max_digits=12, decimal_places=2)
    shortfall = models.DecimalField(max_digits=12, decimal_places=2)
    contract_price = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    difference = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0.00"))
    created_at = models.DateTimeField(auto_now_add=True)
    override_reason = models.CharField(max_length=300, blank=True)
    overridden_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    overridden_at = models.DateTimeField(null=True, blank=True)

    objects = PracticeScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The insurer dispute list: a practice's underpayments, newest first.
            models.Index(
                fields=["practice", "-id"],
                condition=Q(kind="underpayment"),
                name="shortfall_verdict_underpaid",
            )
        ]
        constraints = [
            models.CheckConstraint(condition=Q(difference__gte=0), name="shortfall_verdict_difference_not_negative")
        ]

    @property
    def overridden(self) -> bool:
        return self.overridden_at is not None
