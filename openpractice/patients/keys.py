"""Search keys: the normalised forms patient search compares (see models.Patient)."""

from __future__ import annotations

import re
import unicodedata


def name_key(value: str | None) -> str:
    text = unicodedata.normalize("NFKD", value or "").encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]", "", text.lower())


def phone_key(value: str | None) -> str:
    digits = re.sub(r"\D", "", value or "")
    if (value or "").strip().startswith("+44") or digits.startswith("0044"):
        digits = "0" + digits[4:] if digits.startswith("0044") else "0" + digits[2:]
    return digits


def email_key(value: str | None) -> str:
    return (value or "").strip().lower()


def registration_key(value: str | None) -> str:
    return re.sub(r"[^A-Z0-9]", "", (value or "").upper())


def next_prefix(prefix: str) -> str:
    """The smallest string greater than every string starting with `prefix` (for range scans)."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1) if prefix else prefix
