"""AccountError and the codes it carries (every code this app raises; the API's `type`)."""

from __future__ import annotations

from enum import StrEnum

from openpractice.domain_errors import DomainError


class Code(StrEnum):
    ALREADY_ON = "already_on"
    DUPLICATE = "duplicate"
    FORMAT = "format"
    GMC_NUMBER = "gmc_number"  # the validators' codes, passed on by set_practitioner_profile
    HEALTHCODE_IDENTIFIER = "healthcode_identifier"  # the validators' codes, passed on by set_practitioner_profile
    INVALID = "invalid"
    NO_SETUP = "no_setup"
    NOT_ON = "not_on"
    REQUIRED = "required"
    THROTTLED = "throttled"
    WRONG_CODE = "wrong_code"
    WRONG_PASSWORD = "wrong_password"


class AccountError(DomainError):
    """A rule about users or practitioner profiles was broken; the message says which."""

    Code = Code
