"""The classification rule (remittances/shortfall_kind.py), held by Hypothesis: who owes a
shortfall follows from the insurer's stated reason and the contract price, and the disputed
difference is never more than the shortfall nor than what the contract price leaves unpaid."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from openpractice.remittances.shortfall_kind import ShortfallKind, classify_shortfall, is_benefit_or_excess

pennies = st.integers(min_value=0, max_value=10_000_00).map(lambda p: Decimal(p) / 100)
codes = st.sampled_from(["", "shortfall", "rejected", "benefit-maximum", "excess", "fee-schedule", "co-payment"])
reasons = st.sampled_from(
    ["", "Paid at our fee schedule", "Policy excess applies", "Above the benefit maximum", "Not covered", "Duplicate"]
)


@given(paid=pennies, shortfall=pennies, contract=st.none() | pennies, code=codes, reason=reasons)
def test_the_rule(paid, shortfall, contract, code, reason):
    verdict = classify_shortfall(paid=paid, shortfall=shortfall, contract_price=contract, code=code, reason=reason)
    assert Decimal("0") <= verdict.difference <= max(shortfall, Decimal("0"))
    stated = is_benefit_or_excess(code=code, reason=reason)
    if shortfall > 0 and not stated and contract is not None and paid < contract:
        assert verdict.kind == ShortfallKind.UNDERPAYMENT
        assert verdict.difference == min(contract - paid, shortfall) > 0
    else:
        assert verdict.kind == ShortfallKind.PATIENT and verdict.difference == 0


@given(paid=pennies, shortfall=pennies.filter(lambda v: v > 0), contract=st.none() | pennies)
def test_a_stated_excess_or_benefit_limit_is_always_the_patients(paid, shortfall, contract):
    for code, reason in (
        ("excess", ""),
        ("", "Policy excess applies"),
        ("benefit-maximum", ""),
        ("", "Outpatient limit reached"),
    ):
        verdict = classify_shortfall(paid=paid, shortfall=shortfall, contract_price=contract, code=code, reason=reason)
        assert verdict.kind == ShortfallKind.PATIENT


@given(contract=pennies.filter(lambda v: v > 0), data=st.data())
def test_paying_more_never_turns_the_patients_into_an_underpayment(contract, data):
    """Monotone in what was paid: once at or above the contract price it is the patient's."""
    paid = data.draw(st.integers(min_value=0, max_value=int(contract * 100)).map(lambda p: Decimal(p) / 100))
    short = Decimal("10.00")
    low = classify_shortfall(paid=paid, shortfall=short, contract_price=contract, code="", reason="")
    at = classify_shortfall(paid=contract, shortfall=short, contract_price=contract, code="", reason="")
    assert at.kind == ShortfallKind.PATIENT
    assert (low.kind == ShortfallKind.UNDERPAYMENT) == (paid < contract)


def test_the_words_an_insurer_uses():
    assert is_benefit_or_excess(code="", reason="Policy EXCESS applies")
    assert is_benefit_or_excess(code="benefit-maximum", reason="")
    assert not is_benefit_or_excess(code="shortfall", reason="Paid at our fee schedule")
