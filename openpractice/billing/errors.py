"""BillingError and the codes it carries (every code this app raises; the API's `type`)."""

from __future__ import annotations

from enum import StrEnum

from openpractice.domain_errors import DomainError


class Code(StrEnum):
    INVALID = "invalid"
    LOCKED = "locked"
    REQUIRED = "required"
    SEQUENCE_EXHAUSTED = "sequence_exhausted"
    WRONG_STATUS = "wrong_status"


class BillingError(DomainError):
    """A billing rule was broken; the message says which field and what would be valid."""

    Code = Code
