"""NHS numbers (the `nhs-number` package: 10 digits with a valid check digit)."""

from __future__ import annotations

import re

import nhs_number
from django.core.exceptions import ValidationError


def normalise_nhs_number(value: str | None) -> str:
    return re.sub(r"[\s-]", "", value or "")


def validate_nhs_number(value: str) -> None:
    value = normalise_nhs_number(value)
    if value and not (re.fullmatch(r"\d{10}", value) and nhs_number.is_valid(value)):
        raise ValidationError(
            "Enter a valid NHS number: 10 digits whose last digit is the check digit, such as 943 476 5919.",
            code="nhs_number",
        )
