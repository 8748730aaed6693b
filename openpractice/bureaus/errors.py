"""BureauError and the codes it carries (the API's `type`)."""

from __future__ import annotations

from enum import StrEnum

from openpractice.domain_errors import DomainError


class Code(StrEnum):
    INVALID = "invalid"
    NOTHING_CHOSEN = "nothing_chosen"


class BureauError(DomainError):
    """A bureau rule was broken; the message says what would be valid."""

    Code = Code
