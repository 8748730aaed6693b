"""Underpayment or patient liability: the one rule that says who owes a shortfall. Pure (no
database): `services.classify_shortfalls` feeds it what a remittance line and the contract prices
say, and keeps the answer; a property test holds it.

The rule, in order:
1. The insurer's stated reason is a benefit limit or an excess (benefit maximum, outpatient limit,
   policy excess, co-payment, not covered, a lapsed policy): the patient's, whatever was paid. The
   insurer said why it deducted and the policy lets the practice charge the patient for it.
2. Otherwise, the insurer paid less than the price it agreed for these services (the contract
   price): an insurer underpayment. The difference (agreed less paid, never more than the
   shortfall) is disputed with the insurer; nothing goes to the patient.
3. Otherwise (no contract price, or paid at least the agreed price: the bill was above it): the
   patient's, as before.
"""

from __future__ import annotations

import dataclasses
import re
from decimal import Decimal
from enum import StrEnum

ZERO = Decimal("0.00")

# Codes and words an insurer uses for what its policy leaves to the patient (a limit, an excess, or
# no cover at all: a lapsed policy, an excluded treatment).
PATIENT_CODES = frozenset(
    {"benefit-maximum", "benefit-limit", "excess", "co-payment", "copayment", "deductible", "not-covered"}
)
_PATIENT_WORDS = re.compile(
    r"\b(excess|benefit|limit|maximum|co-?pay(ment)?|deductible|not covered|no cover|exhausted|lapsed|excluded|exclusion)\b",
    re.IGNORECASE,
)


class ShortfallKind(StrEnum):
    UNDERPAYMENT = "underpayment"
    PATIENT = "patient"


KIND_LABELS = {
    ShortfallKind.UNDERPAYMENT: "Insurer underpayment",
    ShortfallKind.PATIENT: "Patient liability",
}


@dataclasses.dataclass(frozen=True)
class Verdict:
    kind: ShortfallKind
    # Agreed less paid, capped at the shortfall: what to ask the insurer for (0 for the patient's).
    difference: Decimal
    why: str


def is_benefit_or_excess(*, code: str, reason: str) -> bool:
    return (code or "").strip().lower() in PATIENT_CODES or bool(_PATIENT_WORDS.search(reason or ""))


def classify_shortfall(
    *, paid: Decimal, shortfall: Decimal, contract_price: Decimal | None, code: str, reason: str
) -> Verdict:
    """Who owes `shortfall` on a bill the insurer paid `paid` on (see the module)."""
    if shortfall <= 0:
        return Verdict(ShortfallKind.PATIENT, ZERO, "Nothing is short.")
    if is_benefit_or_excess(code=code, reason=reason):
        return Verdict(ShortfallKind.PATIENT, ZERO, "The insurer stated a benefit limit or excess.")
    if contract_price is not None and paid < contract_price:
        difference = min(contract_price - paid, shortfall)
        return Verdict(
            ShortfallKind.UNDERPAYMENT,
            difference,
            f"Paid £{paid:,.2f}, below the contract price of £{contract_price:,.2f}.",
        )
    if contract_price is None:
        return Verdict(ShortfallKind.PATIENT, ZERO, "No contract price with this insurer to compare with.")
    return Verdict(ShortfallKind.PATIENT, ZERO, f"Paid at least the contract price of £{contract_price:,.2f}.")
