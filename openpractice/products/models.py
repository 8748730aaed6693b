"""Products the practice bills: appointments and procedures, their list price and VAT, the
Healthcode codes (Industry standard code, Procedure code), and contract prices per insurer.

Codes are kept as the code itself (like coding.AcceptedCode): the code set a practice imports
can be replaced, and a bill names the code, not a row. They are checked against the codes the
practice can see where they enter (services)."""

from __future__ import annotations

from decimal import Decimal

from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q
from simple_history.models import HistoricalRecords

from openpractice.practices.tenancy import PracticeScopedQuerySet


class ProductType(models.TextChoices):
    APPOINTMENT = "appointment", "Appointment"
    PROCEDURE = "procedure", "Procedure"


class VatTreatment(models.TextChoices):
    EXEMPT = "exempt", "Exempt (medical care)"
    STANDARD = "standard", "Standard rate (20%)"
    ZERO = "zero", "Zero rate (0%)"


VAT_RATES = {VatTreatment.EXEMPT: Decimal("0"), VatTreatment.STANDARD: Decimal("0.20"), VatTreatment.ZERO: Decimal("0")}

PROCEDURE_TYPES = [
    "Initial consultation",
    "Follow-up consultation",
    "Telephone or video consultation",
    "Diagnostic test",
    "Imaging",
    "Injection",
    "Minor procedure",
    "Day case surgery",
    "Inpatient surgery",
    "Therapy session",
    "Report or letter",
]


class Product(models.Model):
    practice = models.ForeignKey("practices.Practice", on_delete=models.CASCADE, related_name="+")
    product_type = models.CharField("type", max_length=12, choices=ProductType.choices)
    name = models.CharField(max_length=200)
    name_key = models.CharField(max_length=200, editable=False)
    procedure_type = models.CharField(max_length=100, blank=True)
    duration_minutes = models.PositiveSmallIntegerField("duration (minutes)", null=True, blank=True)
    list_price = models.DecimalField(max_digits=10, decimal_places=2, validators=[MinValueValidator(Decimal("0"))])
    vat_treatment = models.CharField(
        "VAT treatment", max_length=10, choices=VatTreatment.choices, default=VatTreatment.EXEMPT
    )
    industry_standard_code = models.CharField("Industry standard code", max_length=16, blank=True)
    procedure_code = models.CharField("Procedure code", max_length=16, blank=True)
    is_archived = models.BooleanField("archived", default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = PracticeScopedQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["name_key", "id"]
        indexes = [models.Index(fields=["practice", "name_key", "id"], name="product_practice_name")]
        constraints = [
            models.UniqueConstraint(fields=["practice", "name_key"], name="product_name_unique_in_practice"),
            models.CheckConstraint(condition=Q(list_price__gte=0), name="product_price_not_negative"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def vat_rate(self) -> Decimal:
        return VAT_RATES[self.vat_treatment]


class ContractPrice(models.Model):
    """The price agreed with one insurer for one product over a period (valid_to inclusive; open
    when blank). Periods for one insurer and product never overlap: the service checks, and on
    PostgreSQL an exclusion constraint (migration 0002) guarantees it."""

    practice = models.ForeignKey("practices.Practice", on_delete=models.CASCADE, related_name="+")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="contracts")
    insurer_contact = models.ForeignKey(
        "contacts.Contact", verbose_name="insurer", on_delete=models.PROTECT, related_name="contract_prices"
    )
    price = models.DecimalField(max_digits=10, decimal_places=2, validators=[MinValueValidator(Decimal("0"))])
    valid_from = models.DateField("valid from")
    valid_to = models.DateField("valid to", null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = PracticeScopedQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["insurer_contact__name_key", "valid_from"]
        indexes = [models.Index(fields=["product", "insurer_contact", "valid_from"], name="contract_product_insurer")]
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True) | Q(valid_to__gte=F("valid_from")), name="contract_dates_in_order"
            ),
            models.CheckConstraint(condition=Q(price__gte=0), name="contract_price_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.product} for {self.insurer_contact}: £{self.price}"

    @property
    def name(self) -> str:
        """What a Remove button and its confirmation call it: "Bupa contract price £950.00 from 1 Jan 2026"."""
        return f"{self.insurer_contact.name} contract price £{self.price:,.2f} from {self.valid_from:%-d %b %Y}"

    def is_valid_on(self, day) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)
