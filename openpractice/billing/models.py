"""Invoices, their lines, payments and credit notes, and the per-practice number sequences.

Three separate statuses (DESIGN.md): the record (draft, issued, void), the bill at Healthcode
(not submitted … collected), and the payment outcome (unpaid … written off). Totals are stored
Decimal pounds, recomputed by the services with one rounding helper (billing/money.py).
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q, Value
from django.db.models.lookups import Exact, GreaterThan, LessThan
from simple_history.models import HistoricalRecords

from openpractice.practices.tenancy import PracticeScopedQuerySet


class RecordStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    ISSUED = "issued", "Issued"
    VOID = "void", "Void"


class HealthcodeStatus(models.TextChoices):
    """Where an insurer bill is. Two are the app's own (not submitted, queued); the rest are the
    bill statuses Healthcode publishes (healthcode.answers.PUBLISHED_STATUSES maps its words),
    labelled in plain words for every page, filter and report."""

    NOT_SUBMITTED = "not_submitted", "Not submitted"
    QUEUED = "queued", "Sending to Healthcode"
    UNPROCESSED = "unprocessed", "Unprocessed — waiting for Healthcode's checks"
    IN_PROCESS = "in_process", "In process — being checked by Healthcode"
    VALIDATED = "validated", "Validated — passed Healthcode's checks"
    # Healthcode's AwaitingCorrection. The stored value keeps its older name ("failed"): saved
    # filters and every reader of it keep working, and no stored row had to change.
    FAILED = "failed", "Awaiting correction — fix and resubmit"
    AWAITING_COLLECTION = "awaiting_collection", "Awaiting collection by the insurer"
    COLLECTED = "collected", "Collected by the insurer"
    CANCELLED = "cancelled", "Cancelled"
    NOT_REQUIRED = "not_required", "Not required — Healthcode needs no bill"
    NOT_FOUND = "not_found", "Not found at Healthcode"
    UNSPECIFIED = "unspecified", "Unspecified — Healthcode gave no status we know"


# Healthcode's name for the status stored as "failed".
AWAITING_CORRECTION = HealthcodeStatus.FAILED

# Statuses in which a bill is with the clearing house and must not be edited or sent again.
# Unspecified is here too: until Healthcode says where the bill is, it may still be live.
LIVE_HEALTHCODE_STATUSES = (
    HealthcodeStatus.QUEUED,
    HealthcodeStatus.UNPROCESSED,
    HealthcodeStatus.IN_PROCESS,
    HealthcodeStatus.VALIDATED,
    HealthcodeStatus.AWAITING_COLLECTION,
    HealthcodeStatus.COLLECTED,
    HealthcodeStatus.UNSPECIFIED,
)


class PaymentOutcome(models.TextChoices):
    UNPAID = "unpaid", "Unpaid"
    PART_PAID = "part_paid", "Part-paid"
    PAID = "paid", "Paid"
    WRITTEN_OFF = "written_off", "Written off"


class BillTo(models.TextChoices):
    PATIENT = "patient", "Patient"
    INSURER = "insurer", "Insurer"


class ServiceSetting(models.TextChoices):
    """Healthcode's "Service setting"; sent as O, O, I, D (see SETTING_CODES)."""

    CONSULTING_ROOM = "consulting_room", "Consultation room"
    OUTPATIENT = "outpatient", "Outpatient"
    INPATIENT = "inpatient", "Inpatient"
    DAYCASE = "daycase", "Daycase"


SETTING_CODES: dict[str, str] = {
    ServiceSetting.CONSULTING_ROOM: "O",
    ServiceSetting.OUTPATIENT: "O",
    ServiceSetting.INPATIENT: "I",
    ServiceSetting.DAYCASE: "D",
}


class ProviderKind(models.TextChoices):
    PRACTITIONER = "practitioner", "The practitioner (Healthcode identifier)"
    LOCATION = "location", "A location (its 600 number)"


class SequenceKind(models.TextChoices):
    INVOICE = "invoice", "Invoice"
    CREDIT_NOTE = "credit_note", "Credit note"


class NumberSequence(models.Model):
    """The next number of one kind for one practice. Rows are locked (select_for_update) while a
    number is taken, so two issues at once never get the same number; numbers are never reused."""

    practice = models.ForeignKey("practices.Practice", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=12, choices=SequenceKind.choices)
    prefix = models.CharField(max_length=4)
    next_value = models.PositiveBigIntegerField(default=1)

    objects = PracticeScopedQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["practice", "kind"], name="sequence_one_per_kind")]


# What an invoice still owes (negative when overpaid), and "it owes something or is overpaid",
# spelled as the partial index reports/0002 spells it: a balance compared with a constant, so
# PostgreSQL estimates it from the statistics kept on the expression (a comparison of two columns
# gets a default guess of nearly every row, and the planner then reads the whole table).
BALANCE = F("total") - F("paid_total") - F("credited_total") - F("written_off_total")
OWING = ~Q(Exact(BALANCE, Value(0)))
OWES = Q(GreaterThan(BALANCE, Value(0)))  # still owes something
OVERPAID = Q(LessThan(BALANCE, Value(0)))  # paid more than it owes: a credit


class Invoice(models.Model):
    # Every remittance rewrites paid totals of thousands of invoices, and each rewrite touches every
    # index: a foreign key keeps its own index only where a query reads by it (practice leads the
    # composite indexes; locations, specialist, insurance and creator are only read from the invoice).
    practice = models.ForeignKey("practices.Practice", on_delete=models.CASCADE, related_name="+", db_index=False)
    # Given when issued, from NumberSequence; blank while a draft.
    number = models.CharField("invoice number", max_length=10, blank=True)
    bill_to = models.CharField("bill to", max_length=8, choices=BillTo.choices, default=BillTo.INSURER)
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="invoices")
    insurance = models.ForeignKey(
        "patients.PatientRelationship",
        verbose_name="insurance",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="invoices",
        db_index=False,
    )
    insurer_contact = models.ForeignKey(
        "contacts.Contact",
        verbose_name="insurer",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="invoices",
    )
    practitioner = models.ForeignKey("practices.Membership", on_delete=models.PROTECT, related_name="invoices")
    location = models.ForeignKey(
        "practices.Location", null=True, blank=True, on_delete=models.PROTECT, related_name="invoices", db_index=False
    )
    invoice_date = models.DateField("invoice date")
    due_date = models.DateField("due date", null=True, blank=True)
    notes = models.TextField(blank=True)

    record_status = models.CharField(max_length=8, choices=RecordStatus.choices, default=RecordStatus.DRAFT)
    healthcode_status = models.CharField(
        max_length=20, choices=HealthcodeStatus.choices, default=HealthcodeStatus.NOT_SUBMITTED
    )
    payment_outcome = models.CharField(max_length=12, choices=PaymentOutcome.choices, default=PaymentOutcome.UNPAID)
    # Each correction after a failed bill is a new version; a submission names (invoice, version).
    version = models.PositiveIntegerField(default=1)

    # Healthcode configuration of an insurer invoice.
    service_setting = models.CharField(
        "Service setting", max_length=16, choices=ServiceSetting.choices, default=ServiceSetting.CONSULTING_ROOM
    )
    admission_date = models.DateField("admission date", null=True, blank=True)
    discharge_date = models.DateField("discharge date", null=True, blank=True)
    primary_diagnosis = models.CharField("primary diagnosis (ICD-10)", max_length=16, blank=True)
    other_diagnoses = models.JSONField("other diagnoses (ICD-10)", default=list, blank=True)
    authorisation_code = models.CharField("Authorisation code", max_length=30, blank=True)
    provider_kind = models.CharField(
        "provider", max_length=12, choices=ProviderKind.choices, default=ProviderKind.PRACTITIONER
    )
    provider_location = models.ForeignKey(
        "practices.Location", null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    payee_kind = models.CharField(
        "payee provider", max_length=12, choices=ProviderKind.choices, default=ProviderKind.PRACTITIONER
    )
    payee_location = models.ForeignKey(
        "practices.Location", null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    controlling_specialist = models.ForeignKey(
        "practices.Membership", null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    facility = models.ForeignKey(
        "practices.Location",
        verbose_name="facility (treating hospital)",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )

    net_total = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0.00"))
    vat_total = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0.00"))
    total = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0.00"))
    paid_total = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0.00"))
    credited_total = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0.00"))
    written_off_total = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0.00"))

    issued_at = models.DateTimeField(null=True, blank=True)
    voided_at = models.DateTimeField(null=True, blank=True)
    void_reason = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = PracticeScopedQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["-invoice_date", "-id"]
        # The list's keyset (invoice_date, id) under each filter it offers (billing.selectors.invoice_page):
        # read backwards for newest first. The number's index is its unique constraint's.
        indexes = [
            models.Index(fields=["practice", "invoice_date", "id"], name="invoice_list_order"),
            models.Index(fields=["practice", "healthcode_status", "invoice_date", "id"], name="invoice_hc_status_list"),
            models.Index(fields=["practice", "record_status", "invoice_date", "id"], name="invoice_record_status_list"),
            models.Index(fields=["practice", "insurer_contact", "invoice_date", "id"], name="invoice_insurer_list"),
            # Insurer bills that could go to Healthcode now (selectors.submittable_candidates): a
            # few thousand of a million, which "Select all matching" counts on every list page.
            models.Index(
                fields=["practice", "invoice_date", "id"],
                condition=Q(bill_to="insurer", healthcode_status__in=["not_submitted", "failed"])
                & ~Q(record_status="void"),
                name="invoice_submittable",
            ),
            # The dashboard's "Failed at Healthcode" count (home.selectors), for the practice or one
            # practitioner: read from this index alone instead of a table row per failed bill.
            models.Index(
                fields=["practice", "practitioner"],
                condition=Q(healthcode_status="failed", record_status="issued"),
                name="invoice_failed_issued",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["practice", "number"], condition=~Q(number=""), name="invoice_number_unique_in_practice"
            ),
            # Issued invoices have a number; a draft, or a draft voided before issue, has none.
            models.CheckConstraint(
                condition=~Q(record_status="issued") | ~Q(number=""), name="invoice_issued_has_number"
            ),
            models.CheckConstraint(
                condition=Q(bill_to="patient") | Q(insurer_contact__isnull=False),
                name="invoice_insurer_bill_names_insurer",
            ),
            models.CheckConstraint(
                condition=Q(discharge_date__isnull=True)
                | Q(admission_date__isnull=True)
                | Q(discharge_date__gte=F("admission_date")),
                name="invoice_stay_in_order",
            ),
        ]

    def __str__(self) -> str:
        return f"Invoice {self.number or '(draft)'}"

    @property
    def display_number(self) -> str:
        # A draft has no number yet: said in words, never a figure that reads like an invoice number.
        return self.number or "(draft, no number yet)"

    @property
    def balance(self) -> Decimal:
        return self.total - self.paid_total - self.credited_total - self.written_off_total

    @property
    def is_insurer_bill(self) -> bool:
        return self.bill_to == BillTo.INSURER

    @property
    def setting_code(self) -> str:
        return SETTING_CODES.get(self.service_setting, "")

    @property
    def diagnoses(self) -> list[str]:
        return [c for c in [self.primary_diagnosis, *(self.other_diagnoses or [])] if c]

    @property
    def first_date_of_service(self):
        dates = [line.service_date for line in self.lines.all()]
        return min(dates) if dates else None

    @property
    def is_editable(self) -> bool:
        """Lines and Healthcode details can change until the bill is with the clearing house."""
        return (
            self.record_status != RecordStatus.VOID
            and self.healthcode_status not in LIVE_HEALTHCODE_STATUSES
            and not self.carries_shortfall
        )

    @property
    def carries_shortfall(self) -> bool:
        """A patient invoice for an insurer's shortfall (remittances app): its amount is the
        insurer's stated deduction, which the patient may never be charged more than. Read from
        the lines when they were read with the invoice (selectors.invoice_with_rows: the invoice
        page asks twice), else asked of the database."""
        prefetched = getattr(self, "_prefetched_objects_cache", {}).get("lines")
        if prefetched is not None:
            return any(line.price_source == SHORTFALL_PRICE_SOURCE for line in prefetched)
        return self.pk is not None and self.lines.filter(price_source=SHORTFALL_PRICE_SOURCE).exists()


# InvoiceLine.price_source of a line the remittances app writes for a shortfall.
SHORTFALL_PRICE_SOURCE = "deducted"  # fits price_source (8 characters)


class InvoiceLine(models.Model):
    practice = models.ForeignKey("practices.Practice", on_delete=models.CASCADE, related_name="+")
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    sequence = models.PositiveSmallIntegerField()
    product = models.ForeignKey("products.Product", on_delete=models.PROTECT, related_name="+")
    description = models.CharField(max_length=200)
    service_date = models.DateField("date of service")
    quantity = models.PositiveIntegerField(default=1)
    unit_price = models.DecimalField(max_digits=10, decimal_places=2)
    # Where the price came from: "contract" (the insurer's price on the date of service) or "list".
    price_source = models.CharField(max_length=8, default="list")
    vat_rate = models.DecimalField(max_digits=5, decimal_places=4, default=Decimal("0"))
    net_amount = models.DecimalField(max_digits=12, decimal_places=2)
    vat_amount = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0.00"))
    industry_standard_code = models.CharField("Industry standard code", max_length=16, blank=True)
    procedure_code = models.CharField("Procedure code", max_length=16, blank=True)

    objects = PracticeScopedQuerySet.as_manager()

    class Meta:
        ordering = ["sequence"]
        constraints = [
            models.UniqueConstraint(fields=["invoice", "sequence"], name="line_sequence_unique"),
            models.CheckConstraint(condition=Q(quantity__gte=1), name="line_quantity_positive"),
            models.CheckConstraint(condition=Q(unit_price__gte=0), name="line_price_not_negative"),
        ]

    @property
    def gross_amount(self) -> Decimal:
        return self.net_amount + self.vat_amount


class PaymentMethod(models.TextChoices):
    BACS = "bacs", "Bank transfer (BACS)"
    CARD = "card", "Card"
    CASH = "cash", "Cash"
    CHEQUE = "cheque", "Cheque"
    INSURER = "insurer", "Insurer remittance"


class Payment(models.Model):
    practice = models.ForeignKey("practices.Practice", on_delete=models.CASCADE, related_name="+")
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="payments")
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    received_on = models.DateField("received on")
    method = models.CharField(max_length=10, choices=PaymentMethod.choices, default=PaymentMethod.BACS)
    reference = models.CharField(max_length=60, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = PracticeScopedQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["received_on", "id"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="payment_positive")]


class CreditNote(models.Model):
    practice = models.ForeignKey("practices.Practice", on_delete=models.CASCADE, related_name="+")
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="credit_notes")
    number = models.CharField(max_length=10)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    reason = models.CharField(max_length=200)
    issued_on = models.DateField()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = PracticeScopedQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["issued_on", "id"]
        constraints = [
            models.UniqueConstraint(fields=["practice", "number"], name="credit_note_number_unique"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="credit_note_positive"),
        ]
