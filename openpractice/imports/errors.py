"""ImportError_ and the codes it carries (every code this app raises; the API's `type`)."""

from __future__ import annotations

from enum import StrEnum

from openpractice.domain_errors import DomainError


class Code(StrEnum):
    INVALID = "invalid"
    REQUIRED = "required"
    STATUS = "status"
    PROBLEMS = "problems"


class ImportRunError(DomainError):
    """A rule about an import was broken; the message says which field and what would be valid."""

    Code = Code
