"""RemittanceError and the codes it carries (every code this app raises; the API's `type`)."""

from __future__ import annotations

from enum import StrEnum

from openpractice.domain_errors import DomainError


class Code(StrEnum):
    CONFLICT = "conflict"
    DUPLICATE = "duplicate"
    EXPIRED = "expired"
    INVALID = "invalid"
    NOT_OWED = "not_owed"
    REQUIRED = "required"
    UNDERPAYMENT = "underpayment"
    WRONG_STATUS = "wrong_status"


class RemittanceError(DomainError):
    """A remittance rule was broken; the message says which field and what would be valid."""

    Code = Code

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None, problems=None):
        super().__init__(message, field=field, code=code)
        # File imports: every (row, column, problem) found, so a bad file is named in full.
        self.problems = problems or []
