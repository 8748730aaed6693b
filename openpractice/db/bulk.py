"""Set-based SQL for posting large remittances, on SQLite and PostgreSQL alike.

- `field__anyof=[...]`: membership in a list sent as ONE parameter (PostgreSQL `IN (unnest(array))`,
  SQLite `IN (SELECT value FROM json_each(json))`). Django's `__in` prepares every value through
  the field and binds one parameter each, which caps a query at a few hundred values on SQLite
  and was a tenth of the posting time at 100,000 lines.
- `insert_rows`: many rows into one table: COPY on PostgreSQL, executemany on SQLite (its C loop
  is the fastest way in). Values must already be database values (str for money, adapted dates).
- `update_rows`: one UPDATE per many rows keyed by id: `UPDATE ... FROM unnest(arrays)` on
  PostgreSQL, executemany on SQLite (Django's bulk_update builds a CASE over every id, which is
  quadratic on SQLite).

These write plain rows: no signals, no `save()`, no simple-history rows. Callers keep their own
audit (the allocation ledger is the record of every amount posted).
"""

from __future__ import annotations

import json
from decimal import Decimal

from django.db import connection
from django.db.models import Field, ForeignObject, Lookup

ANYOF_CHUNK = 20_000  # values per query: bounded so one statement stays a few hundred kB


class Values:
    """A chunk of values for `__anyof`. Not a list on purpose: Django walks every item of a list
    or tuple looking for expressions before a lookup sees it (half a second per 100,000 values)."""

    __slots__ = ("items",)

    def __init__(self, items):
        self.items = list(items)

    def __iter__(self):
        return iter(self.items)

    def __len__(self):
        return len(self.items)


def array_literal(values) -> str:
    """A PostgreSQL array literal, cast in the statement (`%s::bigint[]`): one string joined in C
    instead of psycopg adapting each item (a tenth of the posting time at 100,000 lines)."""
    if all(type(v) is int or type(v) is Decimal for v in values):  # numbers need no quotes
        return "{" + ",".join(map(str, values)) + "}"
    quoted: dict = {}  # a column often repeats a few values (a status, an outcome)
    for v in values:
        if v not in quoted:
            quoted[v] = "NULL" if v is None else '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'
    return "{" + ",".join([quoted[v] for v in values]) + "}"


@Field.register_lookup
class AnyOf(Lookup):
    lookup_name = "anyof"
    prepare_rhs = False
    can_use_none_as_rhs = False

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        values = [v for v in self.rhs if v is not None]
        if connection.vendor == "postgresql":
            if not values:
                return "FALSE", []
            # A semi-join on unnest, not `= ANY(array)`: the planner sizes unnest by the array, so it
            # reads the rows by key; with `= ANY` and fresh statistics it filtered every row of the
            # practice against the array (16 s per 20,000 ids at 100,000 invoices).
            kind = "bigint" if all(type(v) is int for v in values) else "text"
            return f"{lhs} IN (SELECT unnest(%s::{kind}[]))", [*lhs_params, array_literal(values)]
        return f"{lhs} IN (SELECT value FROM json_each(%s))", [*lhs_params, json.dumps(values)]


ForeignObject.register_lookup(AnyOf)  # relations keep their own lookup table: `invoice_id__anyof` too


def chunks(values, size: int | None = None):
    """Values (for `__anyof`) of at most `size` items each."""
    values = list(values)
    size = size or ANYOF_CHUNK  # read at call time: tests shrink it to cross chunk boundaries
    for start in range(0, len(values), size):
        yield Values(values[start:start + size])


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
            cursor.executemany(f"INSERT INTO {quoted} ({', '.join(columns)}) "
                               f"VALUES ({', '.join(['%s'] * len(columns))})", rows)


def update_rows(table: str, columns: tuple[tuple[str, str], ...], rows: list[tuple], *, constant: dict | None = None,
                key: str = "id") -> None:
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
            cursor.executemany(f"UPDATE {connection.ops.quote_name(table)} SET {', '.join(sets)} WHERE {key} = %s",
                               [(*row[:-1], *constant.values(), row[-1]) for row in rows])


def update_statements(table: str, columns: tuple[tuple[str, str], ...], rows: list[tuple], *,
                      constant: dict | None = None, key: str = "id") -> list[tuple[str, list]]:
    """PostgreSQL: `UPDATE ... FROM unnest(arrays)`, one statement per chunk of rows."""
    constant = constant or {}
    names = [name for name, _ in columns]
    sets = [f"{name} = v.{name}" for name in names] + [f"{name} = %s" for name in constant]
    arrays = ", ".join(f"%s::{kind}[]" for _, kind in columns)
    sql = (f"UPDATE {connection.ops.quote_name(table)} AS t SET {', '.join(sets)} FROM unnest({arrays}, "
           f"%s::bigint[]) AS v({', '.join(names)}, {key}) WHERE t.{key} = v.{key}")
    # The SET placeholders (constants) come first in the statement, then one array per column,
    # then the ids.
    return [(sql, [*constant.values(), *(array_literal([row[i] for row in part]) for i in range(len(columns) + 1))])
            for part in chunks(rows)]


def reserve_ids(model, count: int) -> list[int] | None:
    """PostgreSQL: `count` ids from the table's identity sequence, so rows can be built with their
    ids before they are written. None on SQLite (its rows are read back after the insert)."""
    if connection.vendor != "postgresql" or not count:
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                       [model._meta.db_table, model._meta.pk.column, count])
        return [row[0] for row in cursor.fetchall()]


class Meanwhile:
    """Statements run on this transaction's PostgreSQL connection from a helper thread while the
    caller does pure-Python work (building the next rows), then `wait()`. The server works while
    Python does: at 100,000 lines the invoice updates take seconds of server time. The caller
    must not touch the database until `wait()` returns. PostgreSQL only: SQLite runs in this
    process, so callers write in line there (`update_rows`)."""

    def __init__(self, statements: list[tuple[str, list]]):
        import threading

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


def update_fields(objs: list, fields: list[str]) -> None:
    """Save `fields` of each object: one UPDATE ... WHERE id = %s run with executemany. Django's
    bulk_update builds a CASE per field and row, whose compilation cost more CPU than the bills
    it records. Values go through each field's own database preparation (JSON, datetimes)."""
    if not objs:
        return
    meta = type(objs[0])._meta
    quote = connection.ops.quote_name
    columns = [meta.get_field(name) for name in fields]
    sql = (f"UPDATE {quote(meta.db_table)} SET {', '.join(f'{quote(c.column)} = %s' for c in columns)} "
           f"WHERE {quote(meta.pk.column)} = %s")
    rows = [[c.get_db_prep_save(getattr(obj, c.attname), connection) for c in columns] + [obj.pk] for obj in objs]
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)
