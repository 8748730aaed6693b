"""Stripe events built and signed the way Stripe (and the stub) send them, for the card tests."""

from __future__ import annotations

import itertools
import json
import time

from stripe_stub.signing import signature_header

WEBHOOK_SECRET = "whsec_test_openpractice_signing_secret"
_ids = itertools.count(1)


class Events:
    """Stripe events for one practice's payments, as Stripe shapes them (only the fields used)."""

    def __init__(self, practice):
        self.practice = practice

    def metadata(self, patient, invoices) -> dict:
        return {
            "openpractice_practice": str(self.practice.pk),
            "openpractice_patient": str(patient.pk),
            "openpractice_invoices": ",".join(str(i.pk) for i in invoices),
        }

    def event(self, kind: str, obj: dict) -> dict:
        return {
            "id": f"evt_test_{next(_ids):06d}",
            "object": "event",
            "created": int(time.time()),
            "type": kind,
            "data": {"object": obj},
            "livemode": False,
        }

    def session_completed(self, intent: str, pence: int, patient, invoices, session="cs_test_x") -> dict:
        return self.event(
            "checkout.session.completed",
            {
                "id": session,
                "object": "checkout.session",
                "amount_total": pence,
                "currency": "gbp",
                "payment_intent": intent,
                "payment_status": "paid",
                "status": "complete",
                "metadata": self.metadata(patient, invoices),
            },
        )

    def intent_succeeded(self, intent: str, pence: int, patient, invoices) -> dict:
        return self.event(
            "payment_intent.succeeded",
            {
                "id": intent,
                "object": "payment_intent",
                "amount_received": pence,
                "currency": "gbp",
                "status": "succeeded",
                "metadata": self.metadata(patient, invoices),
            },
        )

    def charge_refunded(self, intent: str, pence: int, refunded_pence: int, refund_id: str = "") -> dict:
        return self.event(
            "charge.refunded",
            {
                "id": f"ch_for_{intent}",
                "object": "charge",
                "amount": pence,
                "amount_refunded": refunded_pence,
                "currency": "gbp",
                "payment_intent": intent,
                "refunded": refunded_pence == pence,
                "refunds": {"object": "list", "data": [{"id": refund_id}] if refund_id else []},
            },
        )


def signed(event: dict, secret: str = WEBHOOK_SECRET, *, timestamp: int | None = None) -> tuple[bytes, str]:
    payload = json.dumps(event).encode()
    return payload, signature_header(payload, secret, timestamp=timestamp)
