"""ContactError and the codes it carries (every code this app raises; the API's `type`)."""

from __future__ import annotations

from enum import StrEnum

from openpractice.domain_errors import DomainError


class Code(StrEnum):
    INVALID = "invalid"
    REQUIRED = "required"


class ContactError(DomainError):
    """A rule about contacts was broken; the message says which field and what would be valid."""

    Code = Code
