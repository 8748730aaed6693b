"""Reads of the card ledger (always for one practice)."""

from __future__ import annotations

import functools
from decimal import Decimal

from django.db import connections
from django.db.models import F, QuerySet, Sum
from django.db.models.functions import Coalesce

from openpractice.billing.models import OWES, BillTo, Invoice, RecordStatus
from openpractice.card_payments.models import (
    ZERO,
    CardPayment,
    CardRefund,
    CardRefundAllocation,
    StripeEvent,
    StripeIntegration,
)
from openpractice.db import rows


def integration_for(practice) -> StripeIntegration | None:
    """The practice's Stripe keys (a Practice or its id)."""
    return StripeIntegration.objects.filter(practice=practice).first()


def is_ready(integration: StripeIntegration | None) -> bool:
    """Keys enough to take a payment and hear about it."""
    return bool(integration and integration.secret_key_is_set and integration.webhook_secret_is_set)


def refunded_against(invoice) -> Decimal:
    """What card refunds took back from an invoice, as a (negative) settlement: billing's
    SETTLEMENT_SOURCES hook, so paid_total = payments (card ones included) − card refunds."""
    taken = CardRefundAllocation.objects.filter(invoice_id=invoice.pk).aggregate(s=Sum("amount"))["s"]
    return -(taken or ZERO)


def owed_invoices(*, practice, patient_id: int) -> QuerySet[Invoice]:
    """The patient's issued self-pay, shortfall and excess invoices that still owe, oldest due first
    (the order a payment for "everything owed" is allocated in)."""
    return (
        Invoice.objects.for_practice(practice)
        .filter(patient_id=patient_id, bill_to=BillTo.PATIENT, record_status=RecordStatus.ISSUED)
        .filter(OWES)
        .order_by(Coalesce(F("due_date"), F("invoice_date")), "invoice_date", "id")
    )


def owed_total(*, practice, patient_id: int) -> Decimal:
    return sum((i.balance for i in owed_invoices(practice=practice, patient_id=patient_id)), ZERO)


def payments_of_patient(*, practice, patient_id: int) -> QuerySet[CardPayment]:
    return (
        CardPayment.objects.for_practice(practice)
        .filter(patient_id=patient_id)
        .prefetch_related("allocations__invoice", "refunds")
        .order_by("-created_at", "-id")
    )


def payments_on_invoice(*, practice, invoice_id: int) -> QuerySet[CardPayment]:
    return (
        CardPayment.objects.for_practice(practice)
        .filter(allocations__invoice_id=invoice_id)
        .distinct()
        .prefetch_related("refunds")
        .order_by("-created_at", "-id")
    )


def refunds_of_patient(*, practice, patient_id: int) -> QuerySet[CardRefund]:
    return CardRefund.objects.for_practice(practice).filter(card_payment__patient_id=patient_id).order_by("-id")


def recent_events(*, practice, limit: int = 20) -> list[StripeEvent]:
    return list(StripeEvent.objects.for_practice(practice).defer("payload")[:limit])


def refunds_on_invoice(*, invoice_id: int) -> list[CardRefundAllocation]:
    """What card refunds took back from one invoice (the invoice is already the caller's practice's),
    each with its refund and the refund's card payment, in the order they were refunded. Read by
    hand (openpractice.db.rows): the invoice page asks on every view, nearly always to find none,
    and the ORM took 1 ms to build the statement (issue 18)."""
    found = []
    for allocation, refund, payment in rows.every(
        _refunds_on_invoice_sql(connections["default"].vendor),
        [invoice_id],
        CardRefundAllocation,
        CardRefund,
        CardPayment,
    ):
        _CARD_PAYMENT.set_cached_value(refund, payment)
        _REFUND.set_cached_value(allocation, refund)
        found.append(allocation)
    return found


_REFUND = CardRefundAllocation._meta.get_field("refund")
_CARD_PAYMENT = CardRefund._meta.get_field("card_payment")


@functools.cache
def _refunds_on_invoice_sql(vendor: str) -> str:
    return (
        f"SELECT {rows.columns(CardRefundAllocation, 'a')}, {rows.columns(CardRefund, 'r')}, "
        f"{rows.columns(CardPayment, 'p')} "
        f"FROM {rows.table(CardRefundAllocation)} a "
        f"JOIN {rows.table(CardRefund)} r ON r.id = a.refund_id "
        f"JOIN {rows.table(CardPayment)} p ON p.id = r.card_payment_id "
        "WHERE a.invoice_id = %s ORDER BY r.refunded_on, a.id"
    )
