"""The stub's own webhooks over HTTP to a running app: signed by the endpoint secret the app
registered, then sent again repeated and in reverse through the stub's admin hook; the ledger
does not move."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest
from django.urls import reverse

from openpractice.card_payments import services
from openpractice.card_payments.models import CardPayment, CardRefund, StripeEvent

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("reference_codes")]


def test_stub_webhooks_repeated_and_reordered_settle_once(practice, world, debts, stub, live_server):
    integration = services.save_stripe_keys(
        practice=practice, publishable_key="pk_test_live_server", secret_key="sk_test_live_server"
    )
    hook = live_server.url + reverse("card_payments:webhook", kwargs={"key": integration.webhook_key})
    services.register_webhook_endpoint(practice=practice, url=hook)
    invoice = debts.self_pay("Consultation")
    session = services.open_checkout(
        practice=practice, patient=world.patient, success_url="http://x/ok", cancel_url="http://x/no"
    )
    # A declined card pays nothing and sends nothing.
    declined = httpx.post(f"{stub.url}/pay/{session.session_id}", data={"card_number": "4000 0000 0000 0002"})
    assert declined.status_code == 402 and "declined" in declined.text and not stub.app.deliveries

    stub.app.pay(session.session_id)
    payment = CardPayment.objects.get()
    services.refund_card_payment(practice=practice, card_payment=payment, amount=Decimal("30.00"), reason="Overcharged")
    assert {d.status for d in stub.app.deliveries} == {200}, stub.app.deliveries

    admin = {"X-Stub-Admin-Token": stub.admin_token}
    made = httpx.get(f"{stub.url}/_stub/events", headers=admin).json()
    ids = [e["id"] for e in made]
    again = httpx.post(f"{stub.url}/_stub/resend", headers=admin, json={"events": ids[::-1] + ids})
    assert again.status_code == 200 and {d["status"] for d in again.json()} == {200}

    invoice.refresh_from_db()
    payment.refresh_from_db()
    assert payment.refunded == Decimal("30.00") and invoice.balance == Decimal("30.00")
    assert CardPayment.objects.count() == 1 and CardRefund.objects.count() == 1
    # Every event the endpoint asked for, once, however often it came (charge.succeeded and
    # refund.created are not asked for).
    assert StripeEvent.objects.count() == len([e for e in made if e["type"] in services.EVENTS]) == 3
    assert httpx.post(f"{stub.url}/_stub/resend", json={"events": ids}).status_code == 403
