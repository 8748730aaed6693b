"""OnboardingError and the codes it carries (taking a consultant on from a template practice)."""

from __future__ import annotations

from enum import StrEnum

from openpractice.domain_errors import DomainError


class Code(StrEnum):
    INVALID = "invalid"
    REQUIRED = "required"


class OnboardingError(DomainError):
    """An onboarding rule was broken; the message says which field and what would be valid."""

    Code = Code
