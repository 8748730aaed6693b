"""ConsultantReportError and the codes it carries (the monthly consultant report's refusals)."""

from __future__ import annotations

from enum import StrEnum

from openpractice.domain_errors import DomainError


class Code(StrEnum):
    INVALID = "invalid"
    REQUIRED = "required"
    ALREADY_SENT = "already_sent"
    NO_RECIPIENTS = "no_recipients"


class ConsultantReportError(DomainError):
    """A consultant report rule was broken; the message says which field and what would be valid."""

    Code = Code
