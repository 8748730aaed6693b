"""Fixtures: a small practice (`world`, from the remittance tests' helpers) with ways to make
what a patient owes: a self-pay bill, and a shortfall moved to the patient from an insurer's
part payment."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent.parent / "remittances"))
sys.path.insert(0, str(Path(__file__).parent))

from debts import Debts  # noqa: E402
from remit_helpers import World, bundle, receive  # noqa: E402

from openpractice.remittances.models import ShortfallVerdict  # noqa: E402


@pytest.fixture
def world(practice, make_member, insurer_contact):
    return World(practice, make_member, insurer_contact)


@pytest.fixture
def debts(world):
    return Debts(world)


@pytest.fixture
def underpaid(world):
    """A Scan paid at £200 against its £250 contract price with a fee-schedule reason: the
    insurer's underpayment (its ShortfallVerdict)."""
    from openpractice.products import services as products

    today = dt.date.today()
    products.set_contract_price(
        product=world.products["Scan"], insurer_contact=world.insurer, price="250.00", valid_from=today.replace(day=1)
    )
    invoice = world.invoice("Scan")
    batch = receive(
        world.practice,
        bundle(
            [{"invoice": invoice, "paid": ["200.00"], "reason": "Paid at our fee schedule", "code": "fee-schedule"}]
        ),
    )
    return ShortfallVerdict.objects.get(remittance_line__batch=batch)
