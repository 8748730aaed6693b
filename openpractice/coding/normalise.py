"""How codes and words are normalised for storage and search (one place, used by both sides)."""

from __future__ import annotations

import re
import unicodedata

_NOT_KEY = re.compile(r"[^0-9A-Z]")
_WORD = re.compile(r"[0-9a-z]+")


def code_key(code: str) -> str:
    """The code as search and uniqueness see it: upper case, letters and digits only.

    "e11.9" and "E119" are the same ICD-10 code; "w85 00" is W8500.
    """
    return _NOT_KEY.sub("", fold(code).upper())


def fold(text: str) -> str:
    """Accents dropped (Ménière -> Meniere), so a plain keyboard finds every description."""
    if text.isascii():  # the common case, and 10x faster than decomposing
        return text
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def words(text: str) -> list[str]:
    """The distinct lower-case words of a description or query, in order of first appearance."""
    seen: dict[str, None] = {}
    for word in _WORD.findall(fold(text).lower()):
        seen.setdefault(word, None)
    return list(seen)


def next_prefix(prefix: str) -> str:
    """The smallest string greater than every string starting with `prefix` (for range scans:
    `prefix <= x < next_prefix(prefix)` uses a plain B-tree index on SQLite and PostgreSQL)."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)
