"""CodingError and the codes it carries (every code this app raises; the API's `type`)."""

from __future__ import annotations

from enum import StrEnum

from openpractice.domain_errors import DomainError


class Code(StrEnum):
    BAD_FILE = "bad_file"  # importing.CodeFileError
    DUPLICATE = "duplicate"
    INVALID = "invalid"
    NOT_FOUND = "not_found"
    WRONG_STATUS = "wrong_status"


class CodingError(DomainError):
    """A rule about codes, insurers or an import was broken; the message says which (and where)."""

    Code = Code

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None, row: int | None = None):
        super().__init__(message, field=field, code=code)
        self.row = row  # the file line, for import problems
