"""Card payments online through Stripe Checkout: the practice's Stripe keys, the checkout sessions
it opened, each Stripe event received (once), and the card ledger.

The ledger: a `CardPayment` per Stripe PaymentIntent that succeeded (unique: a payment is recorded
once, whichever of its events arrives first or however often), allocated to the patient's invoices
as billing `Payment` rows (method card, reference the PaymentIntent) through billing's services;
what could not be allocated (the invoices were paid meanwhile) is kept as `unallocated`. A
`CardRefund` per refunded amount, unique on the refunded-to-date total it brings the payment to,
so a repeated or late `charge.refunded` (Stripe sends the cumulative `amount_refunded`) records
nothing twice; its `CardRefundAllocation` rows give back the allocations, newest first, and count
against billing's paid_total (billing.SETTLEMENT_SOURCES).
"""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from openpractice.practices.tenancy import PracticeScopedQuerySet

ZERO = Decimal("0.00")


class StripeIntegration(models.Model):
    """A practice's Stripe keys. The secret key and the webhook signing secret are stored
    encrypted (practices.crypto), never rendered, logged or returned."""

    practice = models.OneToOneField("practices.Practice", on_delete=models.CASCADE, related_name="stripe")
    publishable_key = models.CharField("publishable key", max_length=200)
    secret_key_encrypted = models.TextField(blank=True, editable=False)
    webhook_secret_encrypted = models.TextField(blank=True, editable=False)
    # The opaque part of this practice's webhook address (/payments/stripe/webhook/<key>/): the
    # address names no practice id, and Stripe signs with the secret that goes with it.
    webhook_key = models.CharField(max_length=40, unique=True, editable=False)
    keys_set_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_tested_at = models.DateTimeField(null=True, blank=True)
    last_test_ok = models.BooleanField(null=True)
    last_test_message = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords(excluded_fields=["secret_key_encrypted", "webhook_secret_encrypted"])

    def __str__(self) -> str:
        return f"Stripe for {self.practice}"

    @property
    def secret_key_is_set(self) -> bool:
        return bool(self.secret_key_encrypted)

    @property
    def webhook_secret_is_set(self) -> bool:
        return bool(self.webhook_secret_encrypted)

    @property
    def is_live(self) -> bool:
        return self.publishable_key.startswith("pk_live_")


class CheckoutStatus(models.TextChoices):
    OPEN = "open", "Open"
    COMPLETE = "complete", "Paid"
    EXPIRED = "expired", "Expired"


class CheckoutSession(models.Model):
    """A Stripe Checkout Session this practice opened for a patient: for one invoice, or for
    everything the patient owed then (`invoice_ids`, oldest first: the allocation order)."""

    practice = models.ForeignKey("practices.Practice", on_delete=models.CASCADE, related_name="+", db_index=False)
    patient = models.ForeignKey("patients.Patient", on_delete=models.CASCADE, related_name="+")
    invoice = models.ForeignKey("billing.Invoice", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    invoice_ids = models.JSONField(default=list)
    session_id = models.CharField(max_length=255)
    url = models.URLField(max_length=2000)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    status = models.CharField(max_length=8, choices=CheckoutStatus.choices, default=CheckoutStatus.OPEN)
    # When Stripe closes the page unpaid (its `expires_at`): until shortly before, another press of
    # the same link's button goes back to this session instead of opening a new one.
    expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = PracticeScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["practice", "session_id"], name="checkout_session_once")]


class EventOutcome(models.TextChoices):
    PROCESSED = "processed", "Recorded"
    WAITING = "waiting", "Waiting for its payment"
    IGNORED = "ignored", "Nothing to record"


class StripeEvent(models.Model):
    """Each Stripe event received, once (unique on its id): a repeat is answered 200 and ignored.
    A refund event that arrives before its payment's waits (`waiting`) and is applied as soon as
    the payment is recorded."""

    practice = models.ForeignKey("practices.Practice", on_delete=models.CASCADE, related_name="+", db_index=False)
    event_id = models.CharField(max_length=255)
    type = models.CharField(max_length=100)
    payment_intent = models.CharField(max_length=255, blank=True)
    stripe_created = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)
    outcome = models.CharField(max_length=9, choices=EventOutcome.choices, default=EventOutcome.PROCESSED)
    detail = models.CharField(max_length=300, blank=True)
    payload = models.JSONField()

    objects = PracticeScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["practice", "event_id"], name="stripe_event_once")]
        indexes = [models.Index(fields=["practice", "payment_intent"], name="stripe_event_intent")]


class CardPayment(models.Model):
    practice = models.ForeignKey("practices.Practice", on_delete=models.CASCADE, related_name="+", db_index=False)
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+")
    payment_intent = models.CharField(max_length=255)
    checkout_session = models.ForeignKey(
        CheckoutSession, null=True, blank=True, on_delete=models.SET_NULL, related_name="payments"
    )
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    refunded = models.DecimalField(max_digits=12, decimal_places=2, default=ZERO)
    # Received but not allocated to an invoice (they were paid meanwhile): for the practice to
    # refund or allocate. A refund gives this back first.
    unallocated = models.DecimalField(max_digits=12, decimal_places=2, default=ZERO)
    received_on = models.DateField()
    created_at = models.DateTimeField(auto_now_add=True)

    objects = PracticeScopedQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["practice", "payment_intent"], name="card_payment_once_per_intent"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="card_payment_positive"),
            models.CheckConstraint(
                condition=Q(refunded__gte=0) & Q(refunded__lte=models.F("amount")), name="card_refund_within_payment"
            ),
            models.CheckConstraint(condition=Q(unallocated__gte=0), name="card_unallocated_not_negative"),
        ]

    def __str__(self) -> str:
        return f"Card payment {self.payment_intent}"


class CardAllocation(models.Model):
    """Which billing Payment row a card payment became on which invoice (billing writes the Payment)."""

    practice = models.ForeignKey("practices.Practice", on_delete=models.CASCADE, related_name="+", db_index=False)
    card_payment = models.ForeignKey(CardPayment, on_delete=models.PROTECT, related_name="allocations")
    invoice = models.ForeignKey("billing.Invoice", on_delete=models.PROTECT, related_name="+")
    payment = models.OneToOneField("billing.Payment", on_delete=models.PROTECT, related_name="+")
    amount = models.DecimalField(max_digits=12, decimal_places=2)

    objects = PracticeScopedQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="card_allocation_positive")]


class CardRefund(models.Model):
    practice = models.ForeignKey("practices.Practice", on_delete=models.CASCADE, related_name="+", db_index=False)
    card_payment = models.ForeignKey(CardPayment, on_delete=models.PROTECT, related_name="refunds")
    refund_id = models.CharField(max_length=255, blank=True)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    # The payment's refunded total once this refund is counted: one row per step, whatever repeats.
    refunded_to = models.DecimalField(max_digits=12, decimal_places=2)
    refunded_on = models.DateField()
    reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = PracticeScopedQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["card_payment", "refunded_to"], name="card_refund_step_once"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="card_refund_positive"),
        ]


class CardRefundAllocation(models.Model):
    """What a refund took back from one invoice: counts against its paid_total."""

    practice = models.ForeignKey("practices.Practice", on_delete=models.CASCADE, related_name="+", db_index=False)
    refund = models.ForeignKey(CardRefund, on_delete=models.PROTECT, related_name="allocations")
    allocation = models.ForeignKey(CardAllocation, on_delete=models.PROTECT, related_name="refunds")
    invoice = models.ForeignKey("billing.Invoice", on_delete=models.PROTECT, related_name="+")
    amount = models.DecimalField(max_digits=12, decimal_places=2)

    objects = PracticeScopedQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="card_refund_allocation_positive")]
