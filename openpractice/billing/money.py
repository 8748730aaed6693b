"""Money: Decimal pounds with two places, and the one rounding rule every total uses."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from openpractice.billing.errors import BillingError

PENNY = Decimal("0.01")
ZERO = Decimal("0.00")


def round_money(value) -> Decimal:
    """Round to the penny, halves away from zero (how HMRC and insurers' statements round)."""
    if isinstance(value, float):  # a float has already lost pennies: refuse it loudly
        raise TypeError("Money must be a Decimal, a string or an int, never a float.")
    return Decimal(value).quantize(PENNY, rounding=ROUND_HALF_UP)


def parse_money(text, *, field: str, label: str):
    """A user's amount as Decimal pounds, or raise BillingError naming the field."""

    raw = str(text if text is not None else "").strip().replace("£", "").replace(",", "")
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise BillingError(f"{label}: enter an amount in pounds, such as 120.00.", field=field) from None
    exponent = value.as_tuple().exponent  # an int for a finite value; "n", "N" or "F" otherwise
    if not value.is_finite() or abs(value) >= Decimal("100000000") or (isinstance(exponent, int) and exponent < -2):
        raise BillingError(f"{label}: enter pounds and pence with at most two decimal places.", field=field)
    return round_money(value)


def format_gbp(value) -> str:
    value = round_money(value or 0)
    sign = "-" if value < 0 else ""
    return f"{sign}£{abs(value):,.2f}"
