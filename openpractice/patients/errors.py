"""PatientError and the codes it carries (every code this app raises; the API's `type`)."""

from __future__ import annotations

from enum import StrEnum

from openpractice.domain_errors import DomainError


class Code(StrEnum):
    DUPLICATE = "duplicate"
    IN_USE = "in_use"
    INVALID = "invalid"
    REQUIRED = "required"


class PatientError(DomainError):
    """A rule about patients or their relationships was broken; the message says which field."""

    Code = Code
