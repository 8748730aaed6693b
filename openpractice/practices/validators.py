import re
import unicodedata

from django.core.exceptions import ValidationError

UK_POSTCODE = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2}$")
SITE_ID = re.compile(r"^[A-Z]{2}[0-9]{3,8}$")


def normalise_postcode(value: str) -> str:
    compact = re.sub(r"\s+", "", value or "").upper()
    return f"{compact[:-3]} {compact[-3:]}" if len(compact) > 3 else compact


def normalise_name(value: str | None) -> str:
    """A name as stored and compared: NFKC (a non-breaking space becomes a space, full-width
    letters plain ones), every run of whitespace one space, none at either end. Without it
    "Rooms\u00a0A" passed the duplicate check (made on the stripped name) and then hit the
    database's unique constraint with the unstripped one: a 500 instead of a clear message."""
    return " ".join(unicodedata.normalize("NFKC", value or "").split())


def validate_uk_postcode(value: str) -> None:
    if value and not UK_POSTCODE.match(normalise_postcode(value)):
        raise ValidationError("Enter a UK postcode, such as W1G 9PF.", code="postcode")


def validate_site_id(value: str) -> None:
    if not SITE_ID.match((value or "").strip().upper()):
        raise ValidationError(
            "Enter the Site ID Healthcode gave you: two letters then digits, such as HC16190.",
            code="site_id",
        )


# Our choice of length: "600" then 6 digits (9 in all), as the sandbox's demo locations
# (600123456) and the 600-numbers practices quote; anything else is refused where it enters.
LOCATION_600 = re.compile(r"^600[0-9]{6}$")


def normalise_600(value: str | None) -> str:
    return re.sub(r"\s+", "", value or "")


def validate_600_number(value: str) -> None:
    if value and not LOCATION_600.match(normalise_600(value)):
        raise ValidationError(
            "Enter the Healthcode “600” number: 600 followed by 6 digits (9 digits in all), such as 600123456.",
            code="healthcode_600_number",
        )


# A UK bank account for patients' transfers, printed on statements: a sort code is six digits
# (shown 12-34-56), an account number eight (a seven-digit one is padded with a leading zero, as
# banks do). Spaces and dashes a person types are dropped.
def normalise_sort_code(value: str | None) -> str:
    digits = re.sub(r"[\s\-–]", "", value or "")
    return f"{digits[:2]}-{digits[2:4]}-{digits[4:]}" if re.fullmatch(r"[0-9]{6}", digits) else digits


def validate_sort_code(value: str) -> None:
    if value and not re.fullmatch(r"[0-9]{2}-[0-9]{2}-[0-9]{2}", normalise_sort_code(value)):
        raise ValidationError("Enter the sort code: six digits, such as 20-00-00.", code="bank_sort_code")


def normalise_account_number(value: str | None) -> str:
    digits = re.sub(r"[\s\-]", "", value or "")
    return digits.zfill(8) if re.fullmatch(r"[0-9]{7}", digits) else digits


def validate_account_number(value: str) -> None:
    if value and not re.fullmatch(r"[0-9]{8}", normalise_account_number(value)):
        raise ValidationError("Enter the account number: eight digits, such as 12345678.", code="bank_account_number")
