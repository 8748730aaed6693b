"""Small pure helpers that the HTTP contract tests cannot pin down precisely."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest

from sandbox import fhir
from sandbox.faults import FaultConfig, FaultInjector
from sandbox.validation import months_before


@pytest.mark.parametrize(
    "day, months, expected",
    [
        (dt.date(2026, 8, 31), 6, dt.date(2026, 2, 28)),
        (dt.date(2024, 8, 31), 6, dt.date(2024, 2, 29)),
        (dt.date(2026, 3, 15), 3, dt.date(2025, 12, 15)),
        (dt.date(2026, 1, 31), 1, dt.date(2025, 12, 31)),
    ],
)
def test_months_before_clamps_to_the_end_of_a_short_month(day, months, expected):
    assert months_before(day, months) == expected


def test_decimals_are_written_as_exact_json_numbers():
    text = fhir.dumps({"amount": fhir.money(Decimal("1234.5")), "tiny": Decimal("0.10")})
    assert text == b'{"amount":{"value":1234.50,"currency":"GBP"},"tiny":0.10}'
    assert json.loads(text, parse_float=Decimal)["amount"]["value"] == Decimal("1234.50")


def test_a_seed_gives_the_same_fault_sequence():
    config = FaultConfig(error_rate=0.3, drop_rate=0.2, seed=42)
    injector_a, injector_b = FaultInjector(), FaultInjector()
    sequence = [injector_a.decide(config) for _ in range(50)]
    assert sequence == [injector_b.decide(config) for _ in range(50)]
    assert {decision.fault for decision in sequence} == {None, "error", "drop"}
