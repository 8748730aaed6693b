"""What OpenPractice keeps about its conversation with the clearing house.

- HealthcodeIntegration: a practice's credentials (the API key encrypted) and its last
  connection test. Its tables keep the names they had when it lived in practices.
- InsurerRules: what the clearing house says about each insurer (diagnosis required, agreed
  fees, time limit), seeded from public facts and refreshed from the insurer directory API.
- MembershipCheck: the last Find Member answer for a patient's insurance relationship.
- Submission: one row per (invoice, version), the unit of idempotency. Its idempotency key is
  sent with every attempt, so the clearing house makes at most one bill of it.
- SubmissionEvent: every transition, with the clearing house's own words.
- ApiExchange: every request and reply, secrets redacted, for support.
- BulkSubmission: a batch a biller sent in one go, for the progress bar.
- InvoiceCheck / InvoiceCheckProblem: the stored pre-submission check of each bill that could go
  to Healthcode, with its blocking problems, so the "Not ready" view and the dashboard read rows
  instead of checking every bill per request (stored_checks.py keeps them current).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from openpractice.billing.models import HealthcodeStatus
from openpractice.practices.tenancy import PracticeScopedQuerySet


class HealthcodeEnvironment(models.TextChoices):
    SANDBOX = "sandbox", "Sandbox (OpenPractice test clearing house)"
    LIVE = "live", "Live (Healthcode)"


class HealthcodeIntegration(models.Model):
    """A practice's Healthcode credentials. The API key is stored encrypted, never in clear."""

    practice = models.OneToOneField("practices.Practice", on_delete=models.CASCADE, related_name="healthcode")
    environment = models.CharField(
        max_length=10, choices=HealthcodeEnvironment.choices, default=HealthcodeEnvironment.SANDBOX
    )
    discovery_url = models.URLField("discovery document URL", max_length=500)
    site_id = models.CharField("Site ID", max_length=20)
    api_key_id = models.CharField("API key id", max_length=200)
    api_key_encrypted = models.TextField(blank=True, editable=False)
    api_key_set_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_tested_at = models.DateTimeField(null=True, blank=True)
    last_test_ok = models.BooleanField(null=True)
    last_test_message = models.TextField(blank=True)
    # The credentials fingerprint (healthcode.client.credentials_fingerprint: an HMAC, not the key)
    # that last passed "Test connection". Other clearing-house calls need it to match the current
    # credentials: changed credentials are untested credentials.
    tested_fingerprint = models.CharField(max_length=64, blank=True, editable=False)
    # The last sync of the insurer directory from the clearing house's insurer list (directory.py).
    directory_synced_at = models.DateTimeField(null=True, blank=True, editable=False)
    directory_sync_outcome = models.TextField(blank=True, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    # Moved from practices without moving data: both tables keep their names.
    history = HistoricalRecords(
        excluded_fields=["api_key_encrypted", "tested_fingerprint", "directory_synced_at", "directory_sync_outcome"],
        table_name="practices_historicalhealthcodeintegration",
    )

    class Meta:
        db_table = "practices_healthcodeintegration"

    def __str__(self) -> str:
        return f"Healthcode {self.get_environment_display()} for {self.practice}"

    @property
    def api_key_is_set(self) -> bool:
        return bool(self.api_key_encrypted)


class InsurerRules(models.Model):
    healthcode_identifier = models.CharField(max_length=10, unique=True)
    name = models.CharField(max_length=120)
    member_check = models.CharField(max_length=10, default="format")  # database | format
    requires_diagnosis = models.BooleanField(default=False)
    requires_agreed_fees = models.BooleanField(default=False)
    time_limit_months = models.PositiveSmallIntegerField(null=True, blank=True)
    membership_formats = models.CharField(max_length=500, blank=True)
    synced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["healthcode_identifier"]

    def __str__(self) -> str:
        return f"{self.name} ({self.healthcode_identifier})"


class MembershipOutcome(models.TextChoices):
    MATCH = "match", "Match"
    MISMATCH = "mismatch", "Details differ"
    LAPSED = "lapsed", "Cover lapsed"
    NOT_FOUND = "not_found", "No match"
    INVALID = "invalid", "Number not valid"


class MembershipCheck(models.Model):
    practice = models.ForeignKey("practices.Practice", on_delete=models.CASCADE, related_name="+")
    relationship = models.ForeignKey(
        "patients.PatientRelationship", on_delete=models.CASCADE, related_name="membership_checks"
    )
    # What was asked (number, names, birth date, postcode, insurer, date): a changed patient
    # record makes an old answer stale.
    fingerprint = models.CharField(max_length=64)
    checked_at = models.DateTimeField(auto_now_add=True)
    active_on = models.DateField()
    outcome = models.CharField(max_length=10, choices=MembershipOutcome.choices)
    differing_fields = models.JSONField(default=list, blank=True)  # Find Member field names
    message = models.TextField(blank=True)  # the clearing house's words
    cover_start = models.DateField(null=True, blank=True)
    cover_end = models.DateField(null=True, blank=True)
    checked_by = models.CharField(max_length=10, blank=True)  # database | format

    objects = PracticeScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-checked_at", "-id"]
        indexes = [models.Index(fields=["relationship", "fingerprint"], name="membership_check_lookup")]


class SubmissionState(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENDING = "sending", "Sending"
    ACCEPTED = "accepted", "Accepted by Healthcode"  # a bill exists at the clearing house
    REJECTED = "rejected", "Refused by Healthcode"  # answered 4xx: no bill was made


class Submission(models.Model):
    practice = models.ForeignKey("practices.Practice", on_delete=models.CASCADE, related_name="+")
    invoice = models.ForeignKey("billing.Invoice", on_delete=models.PROTECT, related_name="submissions")
    version = models.PositiveIntegerField()
    idempotency_key = models.CharField(max_length=80, unique=True)
    state = models.CharField(max_length=10, choices=SubmissionState.choices, default=SubmissionState.QUEUED)
    # The bill at the clearing house and its status there (billing.HealthcodeStatus values).
    bill_id = models.CharField(max_length=20, blank=True)
    healthcode_status = models.CharField(max_length=20, default="queued")
    status_words = models.CharField(max_length=200, blank=True)  # e.g. "Awaiting collection"
    replaces = models.OneToOneField("self", null=True, blank=True, on_delete=models.PROTECT, related_name="replaced_by")
    claim_json = models.TextField(blank=True)  # the Claim exactly as sent (a claim is never edited)
    errors = models.JSONField(default=list, blank=True)  # [{field, error, suggestion, level, line, rule}]
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    collected_at = models.DateTimeField(null=True, blank=True)
    bulk = models.ForeignKey(
        "BulkSubmission", null=True, blank=True, on_delete=models.SET_NULL, related_name="submissions"
    )
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    last_synced_at = models.DateTimeField(null=True, blank=True)

    objects = PracticeScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["invoice", "version"], name="submission_one_per_invoice_version"),
            models.CheckConstraint(
                condition=~Q(state="accepted") | ~Q(bill_id=""), name="submission_accepted_has_bill"
            ),
        ]
        indexes = [
            models.Index(fields=["state", "updated_at"], name="submission_state"),
            models.Index(fields=["practice", "healthcode_status"], name="submission_hc_status"),
            models.Index(fields=["bulk", "state"], name="submission_bulk"),
        ]

    def __str__(self) -> str:
        return f"{self.invoice} v{self.version} ({self.state})"


class SubmissionEvent(models.Model):
    practice = models.ForeignKey("practices.Practice", on_delete=models.CASCADE, related_name="+")
    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(auto_now_add=True)
    from_status = models.CharField(max_length=20, blank=True)
    to_status = models.CharField(max_length=20)
    message = models.TextField(blank=True)  # the clearing house's words, or what went wrong
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = PracticeScopedQuerySet.as_manager()

    class Meta:
        ordering = ["at", "id"]

    @property
    def to_status_label(self) -> str:
        return HealthcodeStatus(self.to_status).label if self.to_status in HealthcodeStatus.values else self.to_status


class ApiExchange(models.Model):
    practice = models.ForeignKey(
        "practices.Practice", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    at = models.DateTimeField(auto_now_add=True)
    endpoint = models.CharField(max_length=60)
    method = models.CharField(max_length=8)
    url = models.CharField(max_length=500)
    request_headers = models.JSONField(default=dict)
    request_body = models.TextField(blank=True)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.TextField(blank=True)
    error = models.CharField(max_length=300, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    attempt = models.PositiveSmallIntegerField(default=1)

    objects = PracticeScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["practice", "at"], name="exchange_practice_at")]


class BulkSubmission(models.Model):
    practice = models.ForeignKey("practices.Practice", on_delete=models.CASCADE, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    requested = models.PositiveIntegerField(default=0)
    # Invoices not sent because the check or a guard stopped them: [{invoice_id, number, why}]
    # (rewritten from the items at the end of each queueing pass; ids of no invoice of the practice too)
    skipped = models.JSONField(default=list, blank=True)
    # Set when a queueing pass went through every item; None while queueing, or if it was cut short.
    queueing_finished_at = models.DateTimeField(null=True, blank=True)
    # The last moment queueing made progress (a chunk committed): tells "still queueing" from "stopped".
    queueing_seen_at = models.DateTimeField(null=True, blank=True)

    objects = PracticeScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]


class BulkSubmissionItem(models.Model):
    """One invoice asked for in a bulk run, written with the run before anything is queued: after
    any crash the run still knows every invoice it was asked for. Its state is derived from the
    submission of this run for the invoice (queued, sending, answered) or, without one, `why` it
    was held back, else "not queued yet"."""

    bulk = models.ForeignKey(BulkSubmission, on_delete=models.CASCADE, related_name="items")
    invoice = models.ForeignKey("billing.Invoice", on_delete=models.CASCADE, related_name="+")
    why = models.CharField(max_length=500, blank=True)  # why it was not sent (check or guard), when it was not

    class Meta:
        constraints = [models.UniqueConstraint(fields=["bulk", "invoice"], name="bulk_item_one_per_invoice")]


class InvoiceCheck(models.Model):
    """The last pre-submission check of one invoice (stored_checks.record_checks). `stale` when
    something the check reads changed since (receivers.py, or `coding.signals.reference_changed`);
    `recheck_on` is the first day the calendar alone could change the answer (a service date
    reached, an insurer's time limit passed). A stale or due check is checked again by
    stored_checks.refresh (inline when few) or the recheck task."""

    invoice = models.OneToOneField(
        "billing.Invoice", on_delete=models.CASCADE, primary_key=True, related_name="stored_check"
    )
    practice = models.ForeignKey("practices.Practice", on_delete=models.CASCADE, related_name="+", db_index=False)
    passed = models.BooleanField()
    error_count = models.PositiveSmallIntegerField(default=0)  # blocking problems (all stored below)
    invoice_date = models.DateField()  # the invoice's, copied: the "Not ready" view pages on it
    # When the facts were read: an invoice saved after this (its updated_at) is checked again.
    checked_at = models.DateTimeField()
    stale = models.BooleanField(default=False)
    stale_at = models.DateTimeField(null=True, blank=True)  # when last marked stale
    recheck_on = models.DateField(null=True, blank=True)

    objects = PracticeScopedQuerySet.as_manager()

    class Meta:
        indexes = [
            # The "Not ready" view, newest first, keyset paged; and its count.
            models.Index(
                fields=["practice", "-invoice_date", "-invoice"],
                condition=Q(passed=False, stale=False),
                name="invoice_check_not_ready",
            ),
            # What a page checks again first (stored_checks.pending): stale, or at the recheck day.
            models.Index(fields=["practice"], condition=Q(stale=True), name="invoice_check_stale"),
            models.Index(fields=["practice", "recheck_on"], name="invoice_check_recheck_on"),
        ]

    def __str__(self) -> str:
        return f"Check of invoice {self.invoice_id}: {'passed' if self.passed else 'not ready'}"


class InvoiceCheckProblem(models.Model):
    """One problem of a stored check, as rules.Problem words it: the blocking ones (`blocks`, what
    the "Not ready" view and its counts read) and the advice, which the invoice page shows too."""

    stored_check = models.ForeignKey(InvoiceCheck, on_delete=models.CASCADE, related_name="problems", db_index=False)
    position = models.PositiveSmallIntegerField()  # the check's order
    code = models.CharField(max_length=60)  # the rule id (rules.Problem.rule)
    field = models.CharField(max_length=60)  # Healthcode's field name
    message = models.CharField(max_length=500)
    fix = models.CharField(max_length=20, default="invoice")  # where to fix it (rules.Problem.fix)
    line = models.PositiveSmallIntegerField(null=True, blank=True)
    suggestion = models.CharField(max_length=500, default="", blank=True)
    blocks = models.BooleanField(default=True)  # False: advice (rules.WARNING), never holds a bill back

    class Meta:
        ordering = ["stored_check", "position"]
        indexes = [
            # A page's problems in order; counting by reason reads field and message from the index.
            models.Index(fields=["stored_check", "position"], name="check_problem_order"),
            # Blocking problems only (advice is stored too): still read from the index alone.
            models.Index(
                fields=["stored_check", "field", "message"], condition=Q(blocks=True), name="check_problem_reason"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"

    @property
    def error(self) -> str:  # named as rules.Problem names it, so templates show either
        return self.message

    @property
    def rule(self) -> str:
        return self.code
