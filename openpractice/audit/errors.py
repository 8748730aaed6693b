"""AuditError and the codes it carries (every code this app raises; the API's `type`)."""

from __future__ import annotations

from enum import StrEnum

from openpractice.domain_errors import DomainError


class Code(StrEnum):
    INVALID = "invalid"
    REQUIRED = "required"


class AuditError(DomainError):
    """A read-log filter was not valid; the message says which and what would be."""

    Code = Code
