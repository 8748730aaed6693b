"""CardPaymentError and the codes it carries (every code this app raises; the API's `type`)."""

from __future__ import annotations

from enum import StrEnum

from openpractice.domain_errors import DomainError


class Code(StrEnum):
    INVALID = "invalid"
    REQUIRED = "required"
    NOT_SET_UP = "not_set_up"
    NOTHING_OWED = "nothing_owed"
    STRIPE = "stripe"
    BAD_SIGNATURE = "bad_signature"
    WRONG_STATUS = "wrong_status"
    THROTTLED = "throttled"
    ALREADY_PAID = "already_paid"


class CardPaymentError(DomainError):
    """A card-payment rule was broken, or Stripe refused; the message says what would be valid."""

    Code = Code


class TooManyAttempts(CardPaymentError):
    """A pay link asked for new payment pages too often: try again after `retry_after` seconds."""

    default_code = Code.THROTTLED

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None, retry_after: int = 60):
        super().__init__(message, field=field, code=code)
        self.retry_after = retry_after
