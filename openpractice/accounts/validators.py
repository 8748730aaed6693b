"""Practitioner identifiers, checked where they enter (forms, API schemas and services).

Our choices: a Healthcode identifier is 5 to 10 digits (usually the 7-digit GMC number with its
leading zero, such as 0651978, or a number Healthcode issues); a GMC number is exactly 7 digits.
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError

IDENTIFIER = re.compile(r"^\d{5,10}$")
GMC = re.compile(r"^\d{7}$")


def normalise_digits(value: str | None) -> str:
    return re.sub(r"\s+", "", value or "")


def validate_healthcode_identifier(value: str) -> None:
    if value and not IDENTIFIER.match(value):
        raise ValidationError(
            "Enter the Healthcode identifier as digits only, 5 to 10 of them: usually the GMC number "
            "with its leading zero, such as 0651978.",
            code="healthcode_identifier",
        )


def validate_gmc_number(value: str) -> None:
    if value and not GMC.match(value):
        raise ValidationError("Enter the GMC number as 7 digits, such as 6519780.", code="gmc_number")


def healthcode_identifier_warning(value: str | None) -> str:
    """A 6-digit identifier is most likely a GMC number that lost its leading zero."""
    if value and re.fullmatch(r"\d{6}", value):
        return (
            f"{value} has 6 digits: it looks like a GMC number without its leading zero. Healthcode "
            f"identifiers made from a GMC number start with 0 (0{value}); a missing zero is a top cause of "
            "“Provider/Payee not mapped” failures."
        )
    return ""
