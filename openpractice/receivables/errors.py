"""ReceivablesError and the codes it carries (every code this app raises; the API's `type`)."""

from __future__ import annotations

from enum import StrEnum

from openpractice.domain_errors import DomainError


class Code(StrEnum):
    INVALID = "invalid"
    REQUIRED = "required"
    WRONG_STATUS = "wrong_status"
    ALREADY_SENT = "already_sent"
    TEMPLATE = "template"


class ReceivablesError(DomainError):
    """A collections rule was broken; the message says which field and what would be valid."""

    Code = Code
