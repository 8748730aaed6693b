"""ProductError and the codes it carries (every code this app raises; the API's `type`)."""

from __future__ import annotations

from enum import StrEnum

from openpractice.domain_errors import DomainError


class Code(StrEnum):
    DUPLICATE = "duplicate"
    INVALID = "invalid"
    OVERLAP = "overlap"
    REQUIRED = "required"


class ProductError(DomainError):
    """A rule about products or contract prices was broken; the message says which field."""

    Code = Code
