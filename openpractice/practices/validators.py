import re

from django.core.exceptions import ValidationError

UK_POSTCODE = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2}$")
SITE_ID = re.compile(r"^[A-Z]{2}[0-9]{3,8}$")


def normalise_postcode(value: str) -> str:
    compact = re.sub(r"\s+", "", value or "").upper()
    return f"{compact[:-3]} {compact[-3:]}" if len(compact) > 3 else compact


def validate_uk_postcode(value: str) -> None:
    if value and not UK_POSTCODE.match(normalise_postcode(value)):
        raise ValidationError("Enter a UK postcode, such as W1G 9PF.", code="postcode")


def validate_site_id(value: str) -> None:
    if not SITE_ID.match((value or "").strip().upper()):
        raise ValidationError(
            "Enter the Site ID Healthcode gave you: two letters then digits, such as HC16190.",
            code="site_id",
        )
