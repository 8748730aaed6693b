"""Bulk writes: many rows in few statements, on SQLite and PostgreSQL alike.

- `insert_rows`: many rows into one table: COPY on PostgreSQL, executemany on SQLite (its C loop
  is the fastest way in). Values must already be database values (str for money, adapted dates).
  `copy_lines` is PostgreSQL's COPY of text a caller has already formatted (`copy_text`,
  `COPY_NULL`), for imports where formatting a known row shape in f-strings beats COPY's own
  per-value adaptation four times over.
- `update_rows`: one UPDATE per many rows keyed by id: `UPDATE ... FROM unnest(arrays)` on
  PostgreSQL (`update_statements`, which `Meanwhile` can run on a helper thread), executemany on
  SQLite (Django's bulk_update builds a CASE over every id, which is quadratic on SQLite).
- `update_fields`: save some fields of many model instances (values prepared by their fields).
- `reserve_ids`: ids from a PostgreSQL sequence before the rows are written.
- Around a large insert: `large_page_cache` (SQLite), `gin_pending_list` (PostgreSQL GIN
  indexes), `triggers_dropped` (SQLite), and `analyze` afterwards.

These write plain rows: no signals, no `save()`, no simple-history rows. Callers keep their own
audit (the remittance allocation ledger is the record of every amount posted).
`chunks` (from `arrays`) is here too, so a caller chunks its values and writes through one module.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager

from django.db import connection

from openpractice.db.arrays import array_literal, chunks

__all__ = [
    "COPY_NULL",
    "Meanwhile",
    "analyze",
    "chunks",
    "copy_lines",
    "copy_rows",
    "copy_text",
    "gin_pending_list",
    "insert_rows",
    "large_page_cache",
    "reserve_ids",
    "triggers_dropped",
    "update_fields",
    "update_rows",
    "update_statements",
]

COPY_NULL = "\\N"  # NULL in COPY's text format


def insert_rows(table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
    if not rows:
        return
    quoted = connection.ops.quote_name(table)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # COPY: the rows stream in one round trip; values are sent as text (money as str).
            with cursor.cursor.copy(f"COPY {quoted} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            cursor.executemany(
                f"INSERT INTO {quoted} ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))})", rows
            )


def copy_lines(table: str, columns: tuple[str, ...], chunks_of_text) -> None:
    """PostgreSQL: COPY from chunks of lines already in COPY's text format (`copy_text`, `COPY_NULL`).
    A generator of chunks lets the server store one chunk while Python formats the next."""
    if connection.vendor != "postgresql":
        raise ValueError("copy_lines is for PostgreSQL")
    with connection.cursor() as cursor:
        with cursor.cursor.copy(f"COPY {connection.ops.quote_name(table)} ({', '.join(columns)}) FROM STDIN") as copy:
            for chunk in chunks_of_text:
                copy.write(chunk)


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def copy_text(value: str) -> str:
    """A string in COPY's text format (backslash and control characters escaped)."""
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
        return value.translate(_COPY_ESCAPES)
    return value


_FIELD, _NULL = "\x00", "\x01"  # never in PostgreSQL text (NUL) / placeholders escaped after the join


def _as_text(value) -> str:
    return ("t" if value else "f") if isinstance(value, bool) else str(value)


def copy_rows(table: str, columns: tuple[str, ...], rows, *, chunk: int = 5000) -> None:
    """Many rows into one table, fastest on each database: on PostgreSQL COPY of lines built with
    one join and one translate per row (not a call per value: 100,000 patients of 21 columns),
    elsewhere `insert_rows`. Values as `insert_rows` takes them (str, int, bool, date, aware
    datetime, None); text must hold no NUL or \\x01 characters."""
    if connection.vendor != "postgresql":
        insert_rows(table, columns, rows if isinstance(rows, list) else list(rows))
        return
    escape = _COPY_ESCAPES

    def lines():
        part = []
        for row in rows:
            line = _FIELD.join([v if type(v) is str else _NULL if v is None else _as_text(v) for v in row])
            part.append(line.translate(escape).replace(_FIELD, "\t").replace(_NULL, COPY_NULL))
            if len(part) >= chunk:
                yield "\n".join(part) + "\n"
                part = []
        if part:
            yield "\n".join(part) + "\n"

    copy_lines(table, columns, lines())


def update_rows(
    table: str,
    columns: tuple[tuple[str, str], ...],
    rows: list[tuple],
    *,
    constant: dict | None = None,
    key: str = "id",
) -> None:
    """rows: (value per column..., id). columns: (name, PostgreSQL type) pairs; constant: columns
    set to one value on every row (e.g. updated_at)."""
    if not rows:
        return
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            for sql, params in update_statements(table, columns, rows, constant=constant, key=key):
                cursor.execute(sql, params)
        else:
            constant = constant or {}
            sets = [f"{name} = %s" for name, _ in columns] + [f"{name} = %s" for name in constant]
            cursor.executemany(
                f"UPDATE {connection.ops.quote_name(table)} SET {', '.join(sets)} WHERE {key} = %s",
                [(*row[:-1], *constant.values(), row[-1]) for row in rows],
            )


def update_statements(
    table: str,
    columns: tuple[tuple[str, str], ...],
    rows: list[tuple],
    *,
    constant: dict | None = None,
    key: str = "id",
) -> list[tuple[str, list]]:
    """PostgreSQL: `UPDATE ... FROM unnest(arrays)`, one statement per chunk of rows."""
    constant = constant or {}
    names = [name for name, _ in columns]
    sets = [f"{name} = v.{name}" for name in names] + [f"{name} = %s" for name in constant]
    arrays = ", ".join(f"%s::{kind}[]" for _, kind in columns)
    sql = (
        f"UPDATE {connection.ops.quote_name(table)} AS t SET {', '.join(sets)} FROM unnest({arrays}, "
        f"%s::bigint[]) AS v({', '.join(names)}, {key}) WHERE t.{key} = v.{key}"
    )
    # The SET placeholders (constants) come first in the statement, then one array per column,
    # then the ids.
    return [
        (sql, [*constant.values(), *(array_literal([row[i] for row in part]) for i in range(len(columns) + 1))])
        for part in chunks(rows)
    ]


def update_fields(objs: list, fields: list[str]) -> None:
    """Save `fields` of each object: one UPDATE ... WHERE id = %s run with executemany. Django's
    bulk_update builds a CASE per field and row, whose compilation cost more CPU than the bills
    it records. Values go through each field's own database preparation (JSON, datetimes)."""
    if not objs:
        return
    meta = type(objs[0])._meta
    quote = connection.ops.quote_name
    columns = [meta.get_field(name) for name in fields]
    sql = (
        f"UPDATE {quote(meta.db_table)} SET {', '.join(f'{quote(c.column)} = %s' for c in columns)} "
        f"WHERE {quote(meta.pk.column)} = %s"
    )
    rows = [[c.get_db_prep_save(getattr(obj, c.attname), connection) for c in columns] + [obj.pk] for obj in objs]
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def reserve_ids(model, count: int) -> list[int] | None:
    """PostgreSQL: `count` ids from the table's identity sequence, so rows can be built with their
    ids before they are written. None on SQLite (its rows are read back after the insert)."""
    if connection.vendor != "postgresql" or not count:
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [model._meta.db_table, model._meta.pk.column, count],
        )
        return [row[0] for row in cursor.fetchall()]


class Meanwhile:
    """Statements run on this transaction's PostgreSQL connection from a helper thread while the
    caller does pure-Python work (building the next rows), then `wait()`. The server works while
    Python does: at 100,000 remittance lines the invoice updates take seconds of server time. The
    caller must not touch the database until `wait()` returns. PostgreSQL only: SQLite runs in
    this process, so callers write in line there (`update_rows`)."""

    def __init__(self, statements: list[tuple[str, list]]):
        if connection.vendor != "postgresql":
            raise ValueError("Meanwhile is for PostgreSQL")
        self.error: BaseException | None = None
        connection.ensure_connection()
        raw = connection.connection  # the same session, so the same transaction

        def run():
            try:
                with raw.cursor() as cursor:
                    for sql, params in statements:
                        cursor.execute(sql, params)
            except BaseException as exc:  # handed to the caller's thread by wait()
                self.error = exc

        self.thread = threading.Thread(target=run, name="bulk-meanwhile", daemon=True)
        self.thread.start()

    def wait(self) -> None:
        self.thread.join()
        if self.error is not None:
            with connection.wrap_database_errors:  # psycopg's error as Django's, as any query raises
                raise self.error


# Around a large insert ---------------------------------------------------------------------------


def large_page_cache() -> None:
    """SQLite: a 128 MB page cache for this connection (from now on), for an insert whose indexes
    do not fit SQLite's default 2 MB, so index pages are not re-read from disk. Nothing elsewhere."""
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA cache_size = -131072")


@contextmanager
def gin_pending_list(index: str, *, enabled: bool = True):
    """PostgreSQL, around a bulk insert into a table with the GIN index `index`: new entries go to
    the index's pending list (cheap appends) instead of being merged into it every 4 MB, then are
    merged once at the end, and the limit is back to its default. Only when this user owns the
    index (gin_clean_pending_list needs that); otherwise, and on SQLite, the block runs as usual."""
    if not enabled or connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.oid FROM pg_class c WHERE c.oid = to_regclass(%s) AND pg_has_role(c.relowner, 'USAGE')", [index]
        )
        row = cursor.fetchone()
        if row:
            cursor.execute("SET LOCAL gin_pending_list_limit = '1GB'")
    yield
    if row:
        with connection.cursor() as cursor:
            cursor.execute("SELECT gin_clean_pending_list(%s::oid)", [row[0]])
            cursor.execute("SET LOCAL gin_pending_list_limit = DEFAULT")


@contextmanager
def triggers_dropped(*names: str):
    """SQLite, inside a transaction: the named triggers that exist are dropped for the block and
    recreated from their own SQL at its end. In the same transaction, so readers never see them
    missing and a failure rolls all of it back. The caller does the triggers' work itself."""
    if connection.vendor != "sqlite":
        raise ValueError("triggers_dropped is for SQLite")
    if not connection.in_atomic_block:
        raise RuntimeError("triggers_dropped() needs a transaction")
    with connection.cursor() as cursor:
        dropped = []
        for name in names:
            cursor.execute("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = %s", [name])
            row = cursor.fetchone()
            if row:
                cursor.execute(f"DROP TRIGGER {connection.ops.quote_name(name)}")
                dropped.append(row[0])
    try:
        yield
    finally:
        if dropped:
            with connection.cursor() as cursor:
                for sql in dropped:
                    cursor.execute(sql)


def analyze(*tables: str, columns: tuple[str, ...] = ()) -> None:
    """Fresh planner statistics after a large import (PostgreSQL: only `columns`, when given)."""
    only = f" ({', '.join(columns)})" if columns and connection.vendor == "postgresql" else ""
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(table)}{only}")
