"""PracticeError and the codes it carries (every code this app raises; the API's `type`)."""

from __future__ import annotations

from enum import StrEnum

from openpractice.domain_errors import DomainError


class Code(StrEnum):
    ACCEPTED = "accepted"  # also an invitation's status (InvitationStatus) when it is refused
    DUPLICATE = "duplicate"
    EXPIRED = "expired"  # an invitation's status
    HAS_ACCOUNT = "has_account"
    INVALID = "invalid"
    LAST_OWNER = "last_owner"
    PASSWORD = "password"
    REQUIRED = "required"
    REVOKED = "revoked"  # an invitation's status
    SELF = "self"
    UNKNOWN = "unknown"
    WRONG_ACCOUNT = "wrong_account"


class PracticeError(DomainError):
    """A rule about practices, locations or members was broken; the message says which."""

    Code = Code
