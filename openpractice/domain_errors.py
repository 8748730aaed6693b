"""The one base of every app's domain error (`<app>/errors.py`).

A service refuses with its app's error: a message that says what would be valid, the field it is
about (None: the whole request) and a code from the app's `Code` enum (a StrEnum, so the code
is still the plain string that pages, tests and API clients see). An unknown code fails where it
is raised, so a typo never reaches a client; a new code is added to its app's enum first
(tests/test_domain_errors.py checks every literal code in openpractice/ against it).

The API answers every DomainError with 422 and pydantic's shape (`openpractice/api.py`).
"""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar


class DomainError(Exception):
    """A rule was broken; `message` says which and what would be valid."""

    Code: ClassVar[type[StrEnum]]  # each app's error class names its app's enum
    default_code: ClassVar[str] = "invalid"

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        codes = getattr(cls, "Code", None)
        if not (isinstance(codes, type) and issubclass(codes, StrEnum)):
            raise TypeError(f"{cls.__name__}.Code must be its app's StrEnum of error codes")
        cls.code_of(cls.default_code)  # the default is a code like any other

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        self.code = self.code_of(self.default_code if code is None else code)

    @classmethod
    def code_of(cls, code) -> StrEnum:
        """The member of this app's Code for `code` (a member or its string)."""
        if getattr(cls, "Code", None) is None:
            raise TypeError("Raise an app's error (a DomainError subclass with its Code), not DomainError itself")
        if isinstance(code, cls.Code):
            return code
        if not isinstance(code, str):
            raise TypeError(
                f"{cls.__name__} code must be a {cls.Code.__qualname__} member or its string, not {type(code).__name__}"
            )
        try:
            return cls.Code(code)
        except ValueError:
            raise ValueError(
                f"{code!r} is not a {cls.__name__} code: add it to {cls.Code.__module__}.{cls.Code.__qualname__}"
            ) from None

    def api_detail(self) -> list[dict]:
        """The API's 422 body `detail`, like a pydantic validation error."""
        return [{"loc": ["body", self.field] if self.field else ["body"], "msg": self.message, "type": self.code.value}]
