"""The one place OpenPractice talks to Stripe: the official `stripe` library's StripeClient, per
practice (its own secret key), at settings.STRIPE_API_BASE when set (the local stub in
development, demo and tests; Stripe itself when blank). Amounts cross here: pence for Stripe,
Decimal pounds for everything else."""

from __future__ import annotations

from decimal import Decimal

import stripe
from django.conf import settings

from openpractice.card_payments.errors import CardPaymentError
from openpractice.card_payments.models import StripeIntegration
from openpractice.practices import crypto

HUNDRED = Decimal(100)


def to_pence(amount: Decimal) -> int:
    return int((amount * HUNDRED).to_integral_value())


def to_pounds(pence: int | str | None) -> Decimal:
    return (Decimal(int(pence or 0)) / HUNDRED).quantize(Decimal("0.01"))


def client_for(integration: StripeIntegration | None) -> stripe.StripeClient:
    if integration is None or not integration.secret_key_is_set:
        raise CardPaymentError(
            "Card payments are not set up: enter the Stripe keys in Settings › Integrations.",
            field=None,
            code="not_set_up",
        )
    base = settings.STRIPE_API_BASE
    return stripe.StripeClient(
        crypto.decrypt(integration.secret_key_encrypted),
        base_addresses={"api": base} if base else None,
        max_network_retries=2,
    )


def webhook_secret(integration: StripeIntegration) -> str:
    return crypto.decrypt(integration.webhook_secret_encrypted) if integration.webhook_secret_encrypted else ""


def refused(exc: stripe.StripeError, doing: str) -> CardPaymentError:
    """Stripe's refusal in words for the page (its own message; never the key)."""
    said = exc.user_message or str(exc) or type(exc).__name__
    return CardPaymentError(f"Stripe refused {doing}: {said}", code="stripe")
