"""Everything that writes card payments: the Stripe keys, checkout sessions, each Stripe event
(once), the card ledger and refunds.

A Stripe event allocates once. Whatever repeats or order Stripe delivers `checkout.session.completed`,
`payment_intent.succeeded` and `charge.refunded` in:
- the event row is unique on Stripe's event id: a repeat is recorded nowhere and changes nothing;
- a payment is unique on its PaymentIntent: whichever of its two events comes first records it,
  the other finds it;
- a refund is recorded as steps of the charge's cumulative `amount_refunded`: a step already reached
  records nothing (an older event arriving late included), and a refund event that comes before its
  payment waits and is applied as soon as the payment is recorded.

Invoices are written by billing only: a payment becomes billing `Payment` rows (record_payment) and
a refund's rows count against paid_total through billing.SETTLEMENT_SOURCES
(refresh_payment_outcome). Lock order (billing/services.py): the invoices first, in billing's
order, then this app's rows hanging off them; a new CardPayment is inserted before its invoices are
locked, which is safe because no other transaction can see it until this one commits (a second
event for the same PaymentIntent waits on the unique index, then finds the payment)."""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from decimal import Decimal
from typing import Any

import stripe
from django.db import IntegrityError, transaction
from django.utils import timezone

from openpractice.billing import services as billing
from openpractice.billing.models import BillTo, Invoice, PaymentMethod, RecordStatus
from openpractice.card_payments import selectors, signals, throttle
from openpractice.card_payments.errors import CardPaymentError, TooManyAttempts
from openpractice.card_payments.models import (
    ZERO,
    CardAllocation,
    CardPayment,
    CardRefund,
    CardRefundAllocation,
    CheckoutSession,
    CheckoutStatus,
    EventOutcome,
    StripeEvent,
    StripeIntegration,
)
from openpractice.card_payments.stripe_client import client_for, refused, to_pence, to_pounds
from openpractice.patients.models import Patient
from openpractice.practices import crypto

log = logging.getLogger(__name__)

# Our keys in a Checkout Session's and its PaymentIntent's metadata: who pays, for which invoices.
META_PRACTICE = "openpractice_practice"
META_PATIENT = "openpractice_patient"
META_INVOICES = "openpractice_invoices"

# The events the webhook endpoint asks Stripe for.
EVENTS = (
    "checkout.session.completed",
    "checkout.session.expired",
    "payment_intent.succeeded",
    "charge.refunded",
)


# -- the keys ------------------------------------------------------------------------------------
def _check_key(value: str, prefixes: tuple[str, ...], field: str, label: str) -> str:
    value = (value or "").strip()
    if value and not value.startswith(prefixes):
        raise CardPaymentError(
            f"{label}: Stripe's start with {' or '.join(prefixes)}; check you copied the right key.", field=field
        )
    if any(ch.isspace() for ch in value):
        raise CardPaymentError(f"{label}: a key has no spaces in it.", field=field)
    return value


@transaction.atomic
def save_stripe_keys(
    *, practice, publishable_key: str, secret_key: str | None = None, webhook_secret: str | None = None
) -> StripeIntegration:
    """Store the practice's Stripe keys. The secret key and signing secret are encrypted; a blank
    one keeps the one stored. Test and live keys are never mixed."""
    publishable = _check_key(publishable_key, ("pk_test_", "pk_live_"), "publishable_key", "Publishable key")
    secret = _check_key(secret_key or "", ("sk_test_", "sk_live_", "rk_test_", "rk_live_"), "secret_key", "Secret key")
    signing = _check_key(webhook_secret or "", ("whsec_",), "webhook_secret", "Webhook signing secret")
    if not publishable:
        raise CardPaymentError("Enter the publishable key (pk_…).", field="publishable_key", code="required")
    integration = StripeIntegration.objects.select_for_update().filter(practice=practice).first()
    if integration is None:
        integration = StripeIntegration(practice=practice, webhook_key=secrets.token_urlsafe(24))
    if not secret and not integration.secret_key_encrypted:
        raise CardPaymentError("Enter the secret key (sk_…).", field="secret_key", code="required")
    live = publishable.startswith("pk_live_")
    stored_secret = crypto.decrypt(integration.secret_key_encrypted) if integration.secret_key_encrypted else ""
    if (secret or stored_secret).startswith(("sk_live_", "rk_live_")) != live:
        raise CardPaymentError(
            "The publishable and secret keys must both be test keys or both live keys.", field="secret_key"
        )
    integration.publishable_key = publishable
    if secret and secret != stored_secret:
        integration.secret_key_encrypted = crypto.encrypt(secret)
        integration.keys_set_at = timezone.now()
        integration.last_tested_at, integration.last_test_ok, integration.last_test_message = None, None, ""
    if signing:
        integration.webhook_secret_encrypted = crypto.encrypt(signing)
    integration.save()
    return integration


def test_connection(*, practice) -> tuple[bool, str]:
    """One cheap call with the secret key (the balance), recorded on the integration."""
    integration = selectors.integration_for(practice)
    client = client_for(integration)
    assert integration is not None  # client_for refused otherwise
    try:
        client.v1.balance.retrieve()
    except stripe.StripeError as exc:
        ok, message = False, refused(exc, "the secret key").message
    else:
        ok, message = True, "The secret key works: Stripe answered."
    StripeIntegration.objects.filter(pk=integration.pk).update(
        last_tested_at=timezone.now(), last_test_ok=ok, last_test_message=message[:500]
    )
    return ok, message


@transaction.atomic
def register_webhook_endpoint(*, practice, url: str) -> StripeIntegration:
    """Ask Stripe to send this practice's payment events to `url` and keep the signing secret it
    returns (Stripe shows a secret only when the endpoint is made)."""
    integration = selectors.integration_for(practice)
    client = client_for(integration)
    try:
        params: Any = {"url": url, "enabled_events": list(EVENTS), "description": "OpenPractice card payments"}
        endpoint = client.v1.webhook_endpoints.create(params=params)
    except stripe.StripeError as exc:
        raise refused(exc, "the webhook endpoint") from None
    assert integration is not None
    if not endpoint.secret:
        raise CardPaymentError(
            "Stripe made the endpoint but returned no signing secret: enter it by hand.", code="stripe"
        )
    integration.webhook_secret_encrypted = crypto.encrypt(endpoint.secret)
    integration.save(update_fields=["webhook_secret_encrypted", "updated_at"])
    return integration


# -- checkout ------------------------------------------------------------------------------------
def _owed_for(*, practice, patient: Patient, invoice: Invoice | None) -> list[Invoice]:
    if invoice is not None:
        if invoice.practice_id != practice.pk or invoice.patient_id != patient.pk:
            raise CardPaymentError("That invoice is not this patient's.", field="invoice")
        if invoice.bill_to != BillTo.PATIENT or invoice.record_status != RecordStatus.ISSUED:
            raise CardPaymentError(
                "Only an issued invoice to the patient can be paid online.", field="invoice", code="wrong_status"
            )
        if invoice.balance <= 0:
            raise CardPaymentError(
                f"Invoice {invoice.number} is paid: nothing is owed on it.", field="invoice", code="nothing_owed"
            )
        return [invoice]
    owed = list(selectors.owed_invoices(practice=practice, patient_id=patient.pk))
    if not owed:
        raise CardPaymentError(f"{patient.full_name} owes nothing.", field=None, code="nothing_owed")
    return owed


# A session that closes sooner than this is not handed out again: the patient needs time to pay.
REUSE_MARGIN = dt.timedelta(minutes=10)


def open_checkout(
    *,
    practice,
    patient: Patient,
    invoice: Invoice | None = None,
    success_url: str,
    cancel_url: str,
    client_ip: str = "",
) -> CheckoutSession:
    """A Stripe Checkout Session for what the patient owes now: one invoice, or every open one
    (allocated oldest due first when paid). The amount is decided here, never by the link.

    The link's session that is still open for the same invoices and amount is reused (Stripe is
    asked whether it is still open); a new one is opened at most throttle.PER_LINK times per link
    and throttle.PER_ADDRESS times per client address in a window (TooManyAttempts)."""
    integration = selectors.integration_for(practice)
    if not selectors.is_ready(integration):
        raise CardPaymentError(
            "Card payments are not set up: enter the Stripe keys in Settings › Integrations.", code="not_set_up"
        )
    owed = _owed_for(practice=practice, patient=patient, invoice=invoice)
    amount = sum((i.balance for i in owed), ZERO)
    client = client_for(integration)
    reused = _still_open(
        practice=practice,
        patient=patient,
        invoice=invoice,
        invoice_ids=[i.pk for i in owed],
        amount=amount,
        client=client,
    )
    if reused is not None:
        return reused
    limits = [
        (
            throttle.link_key(
                practice_id=practice.pk, patient_id=patient.pk, invoice_id=invoice.pk if invoice else None
            ),
            throttle.PER_LINK,
        )
    ]
    if client_ip:
        limits.append((throttle.address_key(client_ip), throttle.PER_ADDRESS))
    wait = throttle.take(limits)
    if wait is not None:
        raise TooManyAttempts(f"Too many attempts to pay: try again in {throttle.in_minutes(wait)}.", retry_after=wait)
    numbers = ", ".join(i.number for i in owed[:5]) + (f" and {len(owed) - 5} more" if len(owed) > 5 else "")
    name = f"Invoice {owed[0].number}" if len(owed) == 1 else f"Account balance: invoices {numbers}"
    metadata = {
        META_PRACTICE: str(practice.pk),
        META_PATIENT: str(patient.pk),
        META_INVOICES: ",".join(str(i.pk) for i in owed)[:500],
    }
    params: Any = {  # the library's TypedDict; built as a plain dict
        "mode": "payment",
        "success_url": success_url,
        "cancel_url": cancel_url,
        "client_reference_id": f"patient-{patient.pk}",
        "line_items": [
            {
                "quantity": 1,
                "price_data": {
                    "currency": "gbp",
                    "unit_amount": to_pence(amount),
                    "product_data": {"name": f"{practice.name}: {name}"[:250]},
                },
            }
        ],
        "metadata": metadata,
        # The PaymentIntent carries the same, so payment_intent.succeeded alone can record the payment.
        "payment_intent_data": {"metadata": metadata, "description": name[:250]},
    }
    if patient.email:
        params["customer_email"] = patient.email
    try:
        session = client.v1.checkout.sessions.create(params=params)
    except stripe.StripeError as exc:
        raise refused(exc, "the payment page") from None
    return CheckoutSession.objects.create(
        practice=practice,
        patient=patient,
        invoice=invoice,
        invoice_ids=[i.pk for i in owed],
        session_id=session.id,
        url=session.url or "",
        amount=amount,
        expires_at=dt.datetime.fromtimestamp(session.expires_at, tz=dt.UTC) if session.expires_at else None,
    )


def _still_open(
    *, practice, patient: Patient, invoice: Invoice | None, invoice_ids: list[int], amount: Decimal, client
) -> CheckoutSession | None:
    """The newest session this link opened for these invoices and this amount that Stripe still
    has open and that stays open a while yet; None when there is none. One Stripe says is paid
    (its event not here yet) is refused rather than paid twice; one it expired is marked so."""
    candidates = CheckoutSession.objects.for_practice(practice).filter(
        patient=patient,
        invoice=invoice,
        status=CheckoutStatus.OPEN,
        amount=amount,
        expires_at__gt=timezone.now() + REUSE_MARGIN,
    )
    for candidate in candidates.order_by("-created_at", "-id")[:3]:
        if candidate.invoice_ids != invoice_ids or not candidate.url:
            continue
        try:
            at_stripe = client.v1.checkout.sessions.retrieve(candidate.session_id)
        except stripe.StripeError as exc:
            log.warning("Checkout session %s: Stripe did not say whether it is open (%s)", candidate.session_id, exc)
            return None
        if at_stripe.status == "open":
            return candidate
        if at_stripe.status == "complete":
            # Left open here: its checkout.session.completed event marks it and records the payment.
            raise CardPaymentError(
                "This has just been paid: the payment is being recorded and will show here in a few minutes.",
                code="already_paid",
            )
        candidate.status = CheckoutStatus.EXPIRED
        candidate.save(update_fields=["status"])
    return None


# -- the events ----------------------------------------------------------------------------------
def _intent_of(kind: str, obj: dict) -> str:
    if kind.startswith("payment_intent."):
        return obj.get("id") or ""
    value = obj.get("payment_intent")
    return value.get("id", "") if isinstance(value, dict) else (value or "")


@transaction.atomic
def handle_event(*, practice, event: dict) -> tuple[StripeEvent, bool]:
    """Record a verified Stripe event once and apply it. Returns the event's row and whether this
    delivery was its first (False: a repeat, which changed nothing)."""
    event_id, kind = str(event.get("id") or ""), str(event.get("type") or "")
    obj = (event.get("data") or {}).get("object") or {}
    if not event_id or not kind or not isinstance(obj, dict):
        raise CardPaymentError("A Stripe event needs an id, a type and data.object.", code="invalid")
    created = event.get("created")
    try:
        with transaction.atomic():
            row = StripeEvent.objects.create(
                practice=practice,
                event_id=event_id[:255],
                type=kind[:100],
                payment_intent=_intent_of(kind, obj)[:255],
                stripe_created=dt.datetime.fromtimestamp(int(created), tz=dt.UTC) if created else None,
                payload=event,
            )
    except IntegrityError:
        return StripeEvent.objects.get(practice=practice, event_id=event_id), False
    row.outcome, row.detail = _apply(practice=practice, kind=kind, obj=obj, event_row=row)
    row.save(update_fields=["outcome", "detail"])
    return row, True


def _apply(*, practice, kind: str, obj: dict, event_row: StripeEvent) -> tuple[str, str]:
    if kind == "checkout.session.completed":
        CheckoutSession.objects.filter(practice=practice, session_id=obj.get("id", "")).update(
            status=CheckoutStatus.COMPLETE
        )
        if obj.get("payment_status") != "paid":
            return EventOutcome.IGNORED, "Not paid yet: payment_intent.succeeded records it."
        outcome = _payment_from(
            practice=practice,
            intent=_intent_of(kind, obj),
            pence=obj.get("amount_total"),
            currency=obj.get("currency"),
            metadata=obj.get("metadata") or {},
            session_id=obj.get("id", ""),
        )
        # The payment may have come first with payment_intent.succeeded, which names no session.
        CardPayment.objects.filter(
            practice=practice, payment_intent=_intent_of(kind, obj), checkout_session__isnull=True
        ).update(
            checkout_session=CheckoutSession.objects.filter(practice=practice, session_id=obj.get("id", "")).first()
        )
        return outcome
    if kind == "payment_intent.succeeded":
        return _payment_from(
            practice=practice,
            intent=obj.get("id", ""),
            pence=obj.get("amount_received"),
            currency=obj.get("currency"),
            metadata=obj.get("metadata") or {},
            session_id="",
        )
    if kind == "checkout.session.expired":
        CheckoutSession.objects.filter(
            practice=practice, session_id=obj.get("id", ""), status=CheckoutStatus.OPEN
        ).update(status=CheckoutStatus.EXPIRED)
        return EventOutcome.PROCESSED, "The payment page expired unpaid."
    if kind == "charge.refunded":
        refunds = ((obj.get("refunds") or {}).get("data")) or []
        refund = apply_refunded_total(
            practice=practice,
            payment_intent=_intent_of(kind, obj),
            refunded_total=to_pounds(obj.get("amount_refunded")),
            refund_id=(refunds[0].get("id", "") if refunds else "") or event_row.event_id,
        )
        if refund is WAITING:
            return EventOutcome.WAITING, "The refund waits for its payment's event."
        if refund is None:
            return EventOutcome.IGNORED, "Already recorded."
        return EventOutcome.PROCESSED, f"Refund of £{refund.amount:.2f} recorded."
    return EventOutcome.IGNORED, f"OpenPractice does not use {kind} events."


def _payment_from(*, practice, intent: str, pence, currency, metadata: dict, session_id: str) -> tuple[str, str]:
    if not intent or metadata.get(META_PRACTICE) != str(practice.pk) or not metadata.get(META_PATIENT):
        return EventOutcome.IGNORED, "Not a payment OpenPractice asked for."
    if (currency or "").lower() != "gbp":
        return EventOutcome.IGNORED, f"Paid in {currency}, not pounds: record it by hand."
    amount = to_pounds(pence)
    if amount <= 0:
        return EventOutcome.IGNORED, "Nothing was paid."
    payment = record_card_payment(
        practice=practice,
        payment_intent=intent,
        amount=amount,
        patient_id=int(metadata[META_PATIENT]),
        invoice_ids=[int(i) for i in str(metadata.get(META_INVOICES, "")).split(",") if i.strip().isdigit()],
        session_id=session_id,
    )
    if payment is None:
        return EventOutcome.IGNORED, "Already recorded."
    return EventOutcome.PROCESSED, f"Payment of £{payment.amount:.2f} recorded."


# -- the ledger ----------------------------------------------------------------------------------
@transaction.atomic
def record_card_payment(
    *,
    practice,
    payment_intent: str,
    amount: Decimal,
    patient_id: int,
    invoice_ids: list[int],
    session_id: str = "",
    received_on: dt.date | None = None,
) -> CardPayment | None:
    """Record a succeeded PaymentIntent once (None: it was already) and allocate it: to the
    invoices it was for, in their order, then to the patient's other open invoices oldest due
    first, each at most its balance now; what is left is kept as `unallocated`."""
    patient = Patient.objects.filter(practice=practice, pk=patient_id).first()
    if patient is None:
        raise CardPaymentError("The payment names a patient this practice does not have.", field="patient")
    checkout = CheckoutSession.objects.filter(practice=practice, session_id=session_id).first() if session_id else None
    try:
        with transaction.atomic():
            payment = CardPayment.objects.create(
                practice=practice,
                patient=patient,
                payment_intent=payment_intent,
                checkout_session=checkout,
                amount=amount,
                received_on=received_on or timezone.localdate(),
            )
    except IntegrityError:
        return None
    owed_ids = list(selectors.owed_invoices(practice=practice, patient_id=patient.pk).values_list("pk", flat=True))
    locked = billing.lock_invoices(practice_id=practice.pk, invoice_ids=[*invoice_ids, *owed_ids])
    order = [i for i in dict.fromkeys([*invoice_ids, *owed_ids]) if i in locked]
    left = amount
    allocations = []
    for invoice_id in order:
        invoice = locked[invoice_id]
        if left <= 0:
            break
        if (
            invoice.patient_id != patient.pk
            or invoice.bill_to != BillTo.PATIENT
            or invoice.record_status != RecordStatus.ISSUED
            or invoice.balance <= 0
        ):
            continue
        take = min(left, invoice.balance)
        paid = billing.record_payment(
            invoice=invoice,
            amount=take,
            received_on=payment.received_on,
            method=PaymentMethod.CARD,
            reference=f"Stripe {payment_intent}"[:60],
        )
        allocations.append(
            CardAllocation.objects.create(
                practice=practice, card_payment=payment, invoice_id=invoice_id, payment=paid, amount=take
            )
        )
        left -= take
    if left > 0:
        payment.unallocated = left
        payment.save(update_fields=["unallocated"])
    signals.card_payment_recorded.send(sender=CardPayment, card_payment=payment, allocations=allocations)
    # A refund that came before this payment's event waited for it: apply it now.
    for waiting in StripeEvent.objects.filter(
        practice=practice, payment_intent=payment_intent, outcome=EventOutcome.WAITING
    ).order_by("stripe_created", "id"):
        waiting.outcome, waiting.detail = _apply(
            practice=practice, kind=waiting.type, obj=waiting.payload["data"]["object"], event_row=waiting
        )
        waiting.save(update_fields=["outcome", "detail"])
    return payment


WAITING: Any = object()  # apply_refunded_total's answer when the payment is not recorded yet


@transaction.atomic
def apply_refunded_total(
    *, practice, payment_intent: str, refunded_total: Decimal, refund_id: str = "", reason: str = ""
) -> CardRefund | None:
    """Bring the payment's refunded amount up to `refunded_total` (Stripe's cumulative
    `amount_refunded`): one CardRefund for the difference, taken from what was unallocated first,
    then from its allocations newest first, each invoice's balance going back up. None when the
    total is already reached (a repeat or an older event); WAITING when the payment is not
    recorded yet."""
    found = CardPayment.objects.filter(practice=practice, payment_intent=payment_intent).first()
    if found is None:
        return WAITING
    allocations = list(found.allocations.order_by("-id"))
    # Lock order: the invoices (billing's order), then the payment row.
    locked = billing.lock_invoices(practice_id=practice.pk, invoice_ids=[a.invoice_id for a in allocations])
    payment = CardPayment.objects.select_for_update().get(pk=found.pk)
    target = min(refunded_total, payment.amount)
    if target <= payment.refunded:
        return None
    step = target - payment.refunded
    refund = CardRefund.objects.create(
        practice=practice,
        card_payment=payment,
        refund_id=refund_id[:255],
        amount=step,
        refunded_to=target,
        refunded_on=timezone.localdate(),
        reason=reason[:200],
    )
    left = step
    from_unallocated = min(left, payment.unallocated)
    payment.unallocated -= from_unallocated
    left -= from_unallocated
    given_back = {a.pk: sum((r.amount for r in a.refunds.all()), ZERO) for a in allocations}
    touched = []
    for allocation in allocations:
        if left <= 0:
            break
        take = min(left, allocation.amount - given_back[allocation.pk])
        if take <= 0:
            continue
        CardRefundAllocation.objects.create(
            practice=practice, refund=refund, allocation=allocation, invoice_id=allocation.invoice_id, amount=take
        )
        touched.append(allocation.invoice_id)
        left -= take
    payment.refunded = target
    payment.save(update_fields=["refunded", "unallocated"])
    for invoice_id in dict.fromkeys(touched):
        billing.refresh_payment_outcome(invoice=locked[invoice_id])
    signals.card_refund_recorded.send(sender=CardRefund, card_refund=refund)
    return refund


def refund_card_payment(*, practice, card_payment: CardPayment, amount: Decimal, reason: str) -> CardRefund | None:
    """Refund (part of) a card payment through Stripe, then record it (the webhook that follows
    finds it recorded)."""
    reason = (reason or "").strip()
    if not reason:
        raise CardPaymentError("Say why the payment is refunded.", field="reason", code="required")
    left = card_payment.amount - card_payment.refunded
    if amount <= 0 or amount > left:
        raise CardPaymentError(f"Amount: more than £0.00 and at most £{left:.2f}.", field="amount")
    client = client_for(selectors.integration_for(practice))
    try:
        refund = client.v1.refunds.create(
            params={
                "payment_intent": card_payment.payment_intent,
                "amount": to_pence(amount),
                "metadata": {"reason": reason[:200]},
            },
            options={"idempotency_key": f"op-refund-{card_payment.pk}-{card_payment.refunded}-{to_pence(amount)}"},
        )
    except stripe.StripeError as exc:
        raise refused(exc, "the refund") from None
    return apply_refunded_total(
        practice=practice,
        payment_intent=card_payment.payment_intent,
        refunded_total=card_payment.refunded + amount,
        refund_id=refund.id,
        reason=reason,
    )
