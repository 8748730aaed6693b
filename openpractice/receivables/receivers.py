"""The account's activity from the card ledger's signals (card_payments.signals): each card
payment and refund, one row, in the transaction that recorded it."""

from __future__ import annotations

from django.utils import timezone

from openpractice.card_payments import signals
from openpractice.receivables.models import AccountActivity, ActivityKind


def card_payment_recorded(sender, *, card_payment, allocations, **kwargs) -> None:
    paid = ", ".join(f"{a.invoice.number} £{a.amount:.2f}" for a in allocations) or "no open invoice"
    left = f"; £{card_payment.unallocated:.2f} not allocated" if card_payment.unallocated else ""
    AccountActivity.objects.create(
        practice_id=card_payment.practice_id,
        patient_id=card_payment.patient_id,
        invoice_id=allocations[0].invoice_id if len(allocations) == 1 else None,
        kind=ActivityKind.CARD_PAID,
        on_date=card_payment.received_on,
        amount=card_payment.amount,
        detail=f"Paid £{card_payment.amount:.2f} by card online (Stripe {card_payment.payment_intent}): {paid}{left}.",
    )


def card_refund_recorded(sender, *, card_refund, **kwargs) -> None:
    payment = card_refund.card_payment
    AccountActivity.objects.create(
        practice_id=card_refund.practice_id,
        patient_id=payment.patient_id,
        kind=ActivityKind.CARD_REFUNDED,
        on_date=timezone.localdate(),
        amount=card_refund.amount,
        detail=f"£{card_refund.amount:.2f} refunded to the card (Stripe {payment.payment_intent})"
        + (f": {card_refund.reason}" if card_refund.reason else "")
        + ".",
    )


def connect() -> None:
    signals.card_payment_recorded.connect(card_payment_recorded, dispatch_uid="receivables.card_payment_recorded")
    signals.card_refund_recorded.connect(card_refund_recorded, dispatch_uid="receivables.card_refund_recorded")
