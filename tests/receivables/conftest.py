"""Fixtures: a small practice (`world`, from the remittance tests' helpers) with ways to make
what a patient owes: a self-pay bill, and a shortfall moved to the patient from an insurer's
part payment."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent.parent / "remittances"))
sys.path.insert(0, str(Path(__file__).parent))

from debts import Debts  # noqa: E402
from remit_helpers import World  # noqa: E402


@pytest.fixture
def world(practice, make_member, insurer_contact):
    return World(practice, make_member, insurer_contact)


@pytest.fixture
def debts(world):
    return Debts(world)
