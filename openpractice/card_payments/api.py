"""/api/v1/card-payments: the practice's card payments through Stripe (newest first, a page at a
time), one with its allocations and refunds, and a refund through Stripe. The same services, rules
and capability as the pages (billing). Another practice's payment is a 404; a broken rule a 422
naming the field, with a code (CardPaymentError)."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal

from django.db.models import F, Q
from ninja import Query, Router, Schema, Status
from pydantic import Field

from openpractice.card_payments import services
from openpractice.card_payments.errors import CardPaymentError
from openpractice.card_payments.models import ZERO, CardAllocation, CardPayment, CardRefund
from openpractice.pagination import limit_param
from openpractice.practices.api_auth import auth_for
from openpractice.practices.roles import Capability
from openpractice.practices.tenancy import get_for_practice_or_404

router = Router(tags=["card payments"])
BILLING = auth_for(Capability.BILLING)

# What a payment's refunds have made of it (its `status`; the list's `status` filter).
STATUSES = {
    "paid": Q(refunded=ZERO),
    "part_refunded": Q(refunded__gt=ZERO, refunded__lt=F("amount")),
    "refunded": Q(refunded=F("amount")),
}
POUNDS = re.compile(r"^-?\d{1,10}(\.\d{1,2})?$")


class CardPaymentOut(Schema):
    id: int
    patient_id: int
    payment_intent: str = Field(description="Stripe's PaymentIntent id")
    checkout_session: str = Field(description="Stripe's Checkout Session id ('' when not known)")
    amount: Decimal
    refunded: Decimal
    refundable: Decimal = Field(description="What a refund may still give back")
    unallocated: Decimal = Field(description="Received but on no invoice (they were paid meanwhile)")
    status: str = Field(description="paid, part_refunded or refunded")
    received_on: date
    created_at: datetime


class AllocationOut(Schema):
    id: int
    invoice_id: int
    invoice_number: str
    amount: Decimal
    refunded: Decimal = Field(description="What refunds took back from this invoice")


class RefundOut(Schema):
    id: int
    refund_id: str = Field(description="Stripe's refund id")
    amount: Decimal
    refunded_to: Decimal = Field(description="The payment's refunded total once this refund counted")
    refunded_on: date
    reason: str
    created_at: datetime


class CardPaymentDetailOut(CardPaymentOut):
    allocations: list[AllocationOut]
    refunds: list[RefundOut]


class CardPaymentsOut(Schema):
    rows: list[CardPaymentOut]
    next_after: int | None = Field(description="Pass as `after` for the next page (None: this was the last)")


class RefundIn(Schema):
    amount: str = Field(..., max_length=20, description='Pounds as a decimal string, e.g. "12.50"')
    reason: str = Field(..., max_length=200)


def _status(p: CardPayment) -> str:
    if p.refunded <= 0:
        return "paid"
    return "refunded" if p.refunded >= p.amount else "part_refunded"


def _payment(p: CardPayment) -> dict:
    return {
        "id": p.pk,
        "patient_id": p.patient_id,
        "payment_intent": p.payment_intent,
        "checkout_session": p.checkout_session.session_id if p.checkout_session else "",
        "amount": p.amount,
        "refunded": p.refunded,
        "refundable": p.amount - p.refunded,
        "unallocated": p.unallocated,
        "status": _status(p),
        "received_on": p.received_on,
        "created_at": p.created_at,
    }


def _allocation(a: CardAllocation) -> dict:
    return {
        "id": a.pk,
        "invoice_id": a.invoice_id,
        "invoice_number": a.invoice.number,
        "amount": a.amount,
        "refunded": sum((r.amount for r in a.refunds.all()), ZERO),
    }


def _refund(r: CardRefund) -> dict:
    return {f: getattr(r, f) for f in RefundOut.model_fields if f != "id"} | {"id": r.pk}


def _detail(request, card_payment_id: int) -> dict:
    payment = get_for_practice_or_404(
        CardPayment.objects.select_related("checkout_session").prefetch_related(
            "allocations__invoice", "allocations__refunds", "refunds"
        ),
        request.practice,
        pk=card_payment_id,
    )
    return {
        **_payment(payment),
        "allocations": [_allocation(a) for a in payment.allocations.all()],
        "refunds": [_refund(r) for r in payment.refunds.all()],
    }


@router.get("/card-payments", response=CardPaymentsOut, auth=BILLING)
def list_card_payments(
    request,
    patient_id: int | None = Query(None, ge=1, le=2**62),
    invoice_id: int | None = Query(None, ge=1, le=2**62, description="Payments allocated to this invoice"),
    status: str = Query("", pattern="^(|paid|part_refunded|refunded)$"),
    after: int | None = Query(None, ge=1, le=2**62, description="The last id of the page before"),
    limit: int = limit_param(50, 200),
):
    """Card payments received through Stripe, newest first, `limit` at a time."""
    found = CardPayment.objects.for_practice(request.practice).select_related("checkout_session").order_by("-id")
    if patient_id is not None:
        found = found.filter(patient_id=patient_id)
    if invoice_id is not None:
        found = found.filter(
            pk__in=CardAllocation.objects.for_practice(request.practice)
            .filter(invoice_id=invoice_id)
            .values("card_payment_id")
        )
    if status:
        found = found.filter(STATUSES[status])
    if after is not None:
        found = found.filter(pk__lt=after)
    rows = list(found[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    return {"rows": [_payment(p) for p in rows], "next_after": rows[-1].pk if more else None}


@router.get("/card-payments/{int:card_payment_id}", response=CardPaymentDetailOut, auth=BILLING)
def get_card_payment(request, card_payment_id: int):
    return _detail(request, card_payment_id)


def _pounds(value: str) -> Decimal:
    text = (value or "").strip().replace("£", "").replace(",", "")
    if not POUNDS.match(text):
        raise CardPaymentError(
            f'Amount: pounds as a decimal string such as "12.50" (at most two decimal places); got "{value[:20]}".',
            field="amount",
        )
    return Decimal(text)


@router.post("/card-payments/{int:card_payment_id}/refunds", response={201: CardPaymentDetailOut}, auth=BILLING)
def refund_card_payment(request, card_payment_id: int, payload: RefundIn):
    """Refund (part of) the payment to the card through Stripe; it is recorded at once (the
    webhook that follows finds it recorded). Answers the payment as it is now."""
    payment = get_for_practice_or_404(CardPayment, request.practice, pk=card_payment_id)
    services.refund_card_payment(
        practice=request.practice, card_payment=payment, amount=_pounds(payload.amount), reason=payload.reason
    )
    return Status(201, _detail(request, card_payment_id))
