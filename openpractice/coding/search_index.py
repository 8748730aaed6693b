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


def bulk_insert(table: str, columns: tuple[str, ...], rows: list[tuple], *, using: str = "default") -> None:
    connection = connections[using]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            # A larger page cache for this connection: the word indexes of a 100k-code import do
            # not fit SQLite's default 2 MB, and index pages would be re-read from disk.
            cursor.execute("PRAGMA cache_size = -131072")
            placeholders = ", ".join(["%s"] * len(columns))
            cursor.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})", rows)


def analyze_tables(*tables: str, using: str = "default") -> None:
    """Fresh planner statistics after a large import, so searches keep using the word index."""
    with connections[using].cursor() as cursor:
        for table in tables:
            cursor.execute(f"ANALYZE {table}")


def index_words(codes: Iterable[tuple[int, str]], *, word_table: str = "coding_codeword", using: str = "default") -> int:
    """Add the words of each (code id, description)."""
    rows = [(code_id, word) for code_id, description in codes for word in indexed_words(description)]
    rows.sort(key=lambda row: row[1])  # in (word, code) index order: B-tree appends, not random writes
    if not rows:
        return 0
    bulk_insert(word_table, ("code_id", "word"), rows, using=using)
    return len(rows)


def unindex_words(code_ids: list[int], *, word_table: str = "coding_codeword", using: str = "default") -> None:
    connection = connections[using]
    with connection.cursor() as cursor:
        for start in range(0, len(code_ids), 900):  # SQLite's bound-parameter limit
            chunk = code_ids[start:start + 900]
            cursor.execute(
                f"DELETE FROM {word_table} WHERE code_id IN ({', '.join(['%s'] * len(chunk))})", chunk
            )
