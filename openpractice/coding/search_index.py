"""The words index behind description search (CodeWord rows), written with plain SQL because an
import writes hundreds of thousands of them: executemany on SQLite, COPY on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connections

from openpractice.coding.normalise import words

STOPWORDS = frozenset({"a", "an", "and", "as", "at", "by", "for", "from", "in", "of", "on", "or", "the", "to"})
MAX_WORD = 40


def indexed_words(description: str) -> list[str]:
    return [w[:MAX_WORD] for w in words(description) if w not in STOPWORDS]


def index_words(codes: Iterable[tuple[int, str]], *, word_table: str = "coding_codeword", using: str = "default") -> int:
    """Add the words of each (code id, description)."""
    rows = [(code_id, word) for code_id, description in codes for word in indexed_words(description)]
    if not rows:
        return 0
    connection = connections[using]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {word_table} (code_id, word) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            cursor.executemany(f"INSERT INTO {word_table} (code_id, word) VALUES (%s, %s)", rows)
    return len(rows)


def unindex_words(code_ids: list[int], *, word_table: str = "coding_codeword", using: str = "default") -> None:
    connection = connections[using]
    with connection.cursor() as cursor:
        for start in range(0, len(code_ids), 900):  # SQLite's bound-parameter limit
            chunk = code_ids[start:start + 900]
            cursor.execute(
                f"DELETE FROM {word_table} WHERE code_id IN ({', '.join(['%s'] * len(chunk))})", chunk
            )
