"""Fixtures: the receivables tests' small practice and debts, with Stripe keys set, and events
built and signed the way Stripe (and the stub) send them."""

from __future__ import annotations

import itertools
import json
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent.parent / "remittances"))
sys.path.insert(0, str(Path(__file__).parent.parent / "receivables"))

from debts import Debts  # noqa: E402
from remit_helpers import World  # noqa: E402

from stripe_stub.signing import signature_header  # noqa: E402

WEBHOOK_SECRET = "whsec_test_openpractice_signing_secret"
_ids = itertools.count(1)


@pytest.fixture
def world(practice, make_member, insurer_contact):
    return World(practice, make_member, insurer_contact)


@pytest.fixture
def debts(world):
    return Debts(world)


@pytest.fixture
def stripe_keys(practice):
    from openpractice.card_payments.services import save_stripe_keys

    return save_stripe_keys(
        practice=practice,
        publishable_key="pk_test_openpractice",
        secret_key="sk_test_openpractice_secret",
        webhook_secret=WEBHOOK_SECRET,
    )


@pytest.fixture
def stub(settings):
    """The Stripe stub on a thread of this process; the app's Stripe calls go to it."""
    from stripe_stub.testing import running_stub

    with running_stub() as running:
        settings.STRIPE_API_BASE = running.url
        yield running


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


@pytest.fixture
def events(practice):
    return Events(practice)


def signed(event: dict, secret: str = WEBHOOK_SECRET, *, timestamp: int | None = None) -> tuple[bytes, str]:
    payload = json.dumps(event).encode()
    return payload, signature_header(payload, secret, timestamp=timestamp)
