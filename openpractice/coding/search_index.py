"""The words index behind description search.

Each code stores the searchable words of its description in `Code.search_words` (folded, lower
case, stopwords dropped, space-separated: "multiple arthroscopic operations knee"). The database
indexes that column with its own full-text machinery, created by migration 0004:

- SQLite: an FTS5 table `coding_code_fts` (external content: coding_code, rowid = code id), kept in
  step by triggers on coding_code; a query word is a prefix query ("arthro"*), a one-character word a
  whole token ("2").
- PostgreSQL: a generated column `search_vector` = `array_to_tsvector(string_to_array(search_words,
  ' '))` (not in the Django model: Django never writes it) with a GIN index; the words are the
  lexemes as they are (no parser, no stemming), queried with `'arthro':* & '2'`.

Both match exactly what the Python side means by "every query word is a prefix of a description
word (a one-character word is a whole word)". Compared with one row per (code, word) in a B-tree
table this writes one value per code: a 100,000-code import wrote ~550,000 word rows through two
indexes (and on PostgreSQL as many deferred foreign-key checks at commit).

The statements are this module's (they are what the index means); openpractice.db runs them
(`db.sql.run_for_vendor` for the schema, `db.bulk` around a bulk insert of codes).

Caution (SQLite): a migration that rebuilds coding_code (Django remakes the table for most
AlterField operations on SQLite) drops the triggers; call `install(schema_editor)` again at the end
of such a migration (tests/coding/test_search.py checks the triggers are there).
"""

from __future__ import annotations

from contextlib import contextmanager

from openpractice.coding.normalise import WORD, fold
from openpractice.db import bulk, sql

STOPWORDS = frozenset({"a", "an", "and", "as", "at", "by", "for", "from", "in", "of", "on", "or", "the", "to"})
MAX_WORD = 40
MAX_QUERY_WORDS = 8

CODE_TABLE = "coding_code"
FTS_TABLE = "coding_code_fts"
PG_WORDS_VECTOR = "array_to_tsvector(string_to_array(search_words, ' '))"
# SQLite: above this many full-text matches, walking the codes in code order and checking each
# one's words (instr, ~0.5 µs a row) finds the first 20 sooner than fetching every match by id.
SQLITE_DENSE_MATCHES = 1500


def indexed_words(description: str) -> list[str]:
    """The distinct searchable words of a description, in order of first appearance."""
    return list(dict.fromkeys(w[:MAX_WORD] for w in WORD.findall(fold(description).lower()) if w not in STOPWORDS))


def search_text(description: str) -> str:
    """What `Code.search_words` holds for a description: its indexed words, one space apart."""
    found = _find_words(fold(description).lower())
    # Most descriptions have no stopword, repeat or over-long word: skip the filtering (an import
    # calls this 100,000 times).
    if (
        STOPWORDS.isdisjoint(found)
        and len(set(found)) == len(found)
        and len(max(found, key=len, default="")) <= MAX_WORD
    ):
        return " ".join(found)
    return " ".join(dict.fromkeys(w[:MAX_WORD] for w in found if w not in STOPWORDS))


_find_words = WORD.findall


def query_words(query: str) -> list[str]:
    """The words of a type-ahead query that narrow the search (stopwords dropped, at most 8)."""
    return [w for w in indexed_words(query)][:MAX_QUERY_WORDS]


def match_expression(vendor: str, terms: list[str]) -> str:
    """The full-text query for "every term is a word prefix (a one-character term a whole word)".

    Terms are [0-9a-z]+ (normalise.words), so they need no escaping beyond the quotes.
    """
    if vendor == "postgresql":
        return " & ".join(f"'{t}'" if len(t) == 1 else f"'{t}':*" for t in terms)
    return " AND ".join(f'"{t}"' if len(t) == 1 else f'"{t}"*' for t in terms)


def words_branches(
    vendor: str, terms: list[str], alias: str = "c"
) -> tuple[tuple[str, list], list[tuple[str, list, str]]]:
    """The ways to find the codes (table alias `alias`) whose words have every term as a word
    prefix (a one-character term as a whole word).

    Returns (common table expression and params, or ("", [])) and the branches: (condition, params,
    limit guard). Each branch is a separate part of the search statement, so each gets its own
    plan; a branch whose guard is false is skipped (`LIMIT CASE WHEN guard ...`: SQLite checks a
    LIMIT of 0 before it starts the scan).
    """
    expression = match_expression(vendor, terms)
    if vendor == "postgresql":
        return ("", []), [(f"{alias}.search_vector @@ %s::tsquery", [expression], "")]
    # SQLite: few matches: fetch them by id; many: walk the codes in code order checking each
    # one's words (the same rule, on the text). A capped count of the matches, counted once, decides.
    cte = (
        f"word_matches(n) AS MATERIALIZED (SELECT count(*) FROM (SELECT 1 FROM {FTS_TABLE} "
        f"WHERE {FTS_TABLE} MATCH %s LIMIT {SQLITE_DENSE_MATCHES}))"
    )
    dense = f"(SELECT n FROM word_matches) >= {SQLITE_DENSE_MATCHES}"
    checks = " AND ".join(f"instr(' ' || {alias}.search_words || ' ', %s) > 0" for _ in terms)
    return (cte, [expression]), [
        (f"{alias}.id IN (SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s)", [expression], f"NOT {dense}"),
        (checks, [f" {t} " if len(t) == 1 else f" {t}" for t in terms], dense),
    ]


# Schema (migrations) ------------------------------------------------------------------------------

SQLITE_INSTALL = [
    f"CREATE VIRTUAL TABLE IF NOT EXISTS {FTS_TABLE} USING fts5("
    f"search_words, content='{CODE_TABLE}', content_rowid='id', detail='none', prefix='2 3')",
    f"""CREATE TRIGGER IF NOT EXISTS {FTS_TABLE}_insert AFTER INSERT ON {CODE_TABLE} BEGIN
        INSERT INTO {FTS_TABLE}(rowid, search_words) VALUES (new.id, new.search_words);
    END""",
    f"""CREATE TRIGGER IF NOT EXISTS {FTS_TABLE}_delete AFTER DELETE ON {CODE_TABLE} BEGIN
        INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, search_words) VALUES ('delete', old.id, old.search_words);
    END""",
    f"""CREATE TRIGGER IF NOT EXISTS {FTS_TABLE}_update AFTER UPDATE OF search_words ON {CODE_TABLE} BEGIN
        INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, search_words) VALUES ('delete', old.id, old.search_words);
        INSERT INTO {FTS_TABLE}(rowid, search_words) VALUES (new.id, new.search_words);
    END""",
    f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('rebuild')",
]
SQLITE_UNINSTALL = [
    f"DROP TRIGGER IF EXISTS {FTS_TABLE}_insert",
    f"DROP TRIGGER IF EXISTS {FTS_TABLE}_delete",
    f"DROP TRIGGER IF EXISTS {FTS_TABLE}_update",
    f"DROP TABLE IF EXISTS {FTS_TABLE}",
]
PG_INDEX = "coding_code_search_vector"
PG_INSTALL = [
    f"ALTER TABLE {CODE_TABLE} ADD COLUMN IF NOT EXISTS search_vector tsvector "
    f"GENERATED ALWAYS AS ({PG_WORDS_VECTOR}) STORED",
    f"CREATE INDEX IF NOT EXISTS coding_code_search_vector ON {CODE_TABLE} USING gin (search_vector)",
]
PG_UNINSTALL = [
    "DROP INDEX IF EXISTS coding_code_search_vector",
    f"ALTER TABLE {CODE_TABLE} DROP COLUMN IF EXISTS search_vector",
]


def install(schema_editor) -> None:
    """Create the full-text index of Code.search_words (idempotent; SQLite rebuilds its contents)."""
    sql.run_for_vendor(schema_editor, postgresql=PG_INSTALL, sqlite=SQLITE_INSTALL)


def uninstall(schema_editor) -> None:
    sql.run_for_vendor(schema_editor, postgresql=PG_UNINSTALL, sqlite=SQLITE_UNINSTALL)


# Around a bulk insert of codes --------------------------------------------------------------------


def bulk_gin_writes(*, enabled: bool = True):
    """PostgreSQL: the words index's new entries are merged once at the end of the block
    (db.bulk.gin_pending_list). That matters for searches too: until autovacuum runs, every search
    of the table scans whatever the pending list holds (~1 ms after a 100k-code import)."""
    return bulk.gin_pending_list(PG_INDEX, enabled=enabled)


@contextmanager
def bulk_code_writes():
    """Around a bulk INSERT of codes: on SQLite the per-row insert trigger is dropped (FTS5 flushes its
    pending terms at every trigger statement, which made a 100k-code import 4x slower), and the new
    codes are indexed in one statement afterwards. The trigger is recreated in the same transaction,
    so readers never see it missing and a failed import rolls all of it back.

    Yields a function to call after the inserts with the SQL condition (and params) picking the
    inserted rows from coding_code.
    """
    if sql.vendor() != "sqlite":
        yield lambda condition, params: None
        return

    def index_rows(condition: str, params: list) -> None:
        sql.execute(
            f"INSERT INTO {FTS_TABLE}(rowid, search_words) SELECT id, search_words FROM {CODE_TABLE} WHERE {condition}",
            params,
        )

    with bulk.triggers_dropped(f"{FTS_TABLE}_insert"):
        yield index_rows
