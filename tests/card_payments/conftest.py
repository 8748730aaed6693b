"""Fixtures: the receivables tests' small practice and debts, with Stripe keys set, and events
built and signed the way Stripe (and the stub) send them."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent.parent / "remittances"))
sys.path.insert(0, str(Path(__file__).parent.parent / "receivables"))

from debts import Debts  # noqa: E402
from remit_helpers import World  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from card_helpers import WEBHOOK_SECRET, Events  # noqa: E402


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


@pytest.fixture
def events(practice):
    return Events(practice)


@pytest.fixture
def reference_codes(transactional_db):
    """The published insurer directory, gone after an earlier transactional test's flush."""
    from django.core.management import call_command

    call_command("load_reference_codes", verbosity=0)
