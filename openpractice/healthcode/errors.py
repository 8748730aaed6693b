"""SubmissionError (and HealthcodeSetupError) and the codes they carry (every code this app raises,
including the clearing-house client's HealthcodeError codes that a refused call passes on; the
API's `type`)."""

from __future__ import annotations

from enum import StrEnum

from openpractice.domain_errors import DomainError


class Code(StrEnum):
    ALREADY_SUBMITTED = "already_submitted"
    BAD_ANSWER = "bad_answer"
    BAD_CREDENTIALS = "bad_credentials"  # client.HealthcodeError's, passed on when a call fails
    BAD_URL = "bad_url"  # client.HealthcodeError's, passed on when a call fails
    CANCEL_ERROR = "cancel_error"
    CHECK_FAILED = "check_failed"
    CIRCUIT_OPEN = "circuit_open"  # client.HealthcodeError's, passed on when a call fails
    CONFLICT = "conflict"
    ERROR = "error"  # client.HealthcodeError's, passed on when a call fails
    FIND_MEMBER_ERROR = "find_member_error"
    HOST_NOT_ALLOWED = "host_not_allowed"  # client.HealthcodeError's, passed on when a call fails
    INCOMPLETE = "incomplete"
    INVALID = "invalid"
    KEY_REQUIRED = "key_required"  # saving credentials: the API key must be typed again
    NO_ENDPOINT = "no_endpoint"  # client.HealthcodeError's, passed on when a call fails
    NOT_CONFIGURED = "not_configured"
    NOT_FOUND = "not_found"
    NOT_SENT = "not_sent"
    REDIRECT = "redirect"  # client.HealthcodeError's, passed on when a call fails
    SITE_MISMATCH = "site_mismatch"  # client.HealthcodeError's, passed on when a call fails
    STATUS_ERROR = "status_error"
    TIMEOUT = "timeout"  # client.HealthcodeError's, passed on when a call fails
    TOKEN_ERROR = "token_error"  # client.HealthcodeError's, passed on when a call fails
    TOO_LARGE = "too_large"  # client.HealthcodeError's, passed on when a call fails
    UNREACHABLE = "unreachable"  # client.HealthcodeError's, passed on when a call fails
    UNTESTED = "untested"
    WRONG_BILL = "wrong_bill"
    WRONG_STATUS = "wrong_status"


class SubmissionError(DomainError):
    """A bill cannot be submitted, cancelled or refreshed now; the message says why and what to do."""

    Code = Code

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None, problems=None):
        super().__init__(message, field=field, code=code)
        self.problems = problems or []

    def api_detail(self) -> list[dict]:
        """Refused submissions list every problem of the pre-submission check, Field / Error / Suggestion."""
        if not self.problems:
            return super().api_detail()
        return [{"loc": ["body", p.field], "msg": f"{p.error}. {p.suggestion}", "type": p.rule} for p in self.problems]


class HealthcodeSetupError(SubmissionError):
    """Healthcode is not set up (or not usable) for this practice; the message says what to do.

    A SubmissionError too, so whatever works through many bills (the status schedule, the status
    refresh after a remittance) records it for that bill and goes on with the rest."""

    default_code = "not_configured"

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None):
        super().__init__(message, field=field, code=code)
