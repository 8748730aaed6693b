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


class CardPaymentError(DomainError):
    """A card-payment rule was broken, or Stripe refused; the message says what would be valid."""

    Code = Code
