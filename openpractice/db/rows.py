"""Single rows by hand, for the few statements every request runs.

The ORM spends ~0.5-1.5 ms compiling a filter().select_related().first() that the database
answers in ~0.05 ms; the session, user and membership lookups run on every request, type-ahead
keystrokes included, and the read log writes a row for every record opened. The apps keep their
statements (what is looked up and why); this module runs them:

- `table(model)`: its table's name, quoted; `columns(model, alias)`: the SELECT list of a model's
  concrete fields.
- `first(sql, params, *models)`: the first row of a statement whose SELECT list is one
  `columns()` per model, as one model instance per model (or None), through the same converters
  the ORM applies (SQLite dates and booleans, time zones).
- `every(sql, params, *models)`: every row of such a statement, the same way (a few rows: a
  user's memberships).
- `instance(model, row, start)`: one such slice of a row as a model instance.
- `values(sql, params, *fields)`: every row as plain values (as values_list()), each through
  a model field's converters (for a column of that field, or its MAX, SUM...).
- `joined(obj)`: an instance read through a LEFT JOIN, or None when the join found no row.
- `prefetched(obj, name, found)`: `obj.<name>.all()` answers from `found`, as after
  prefetch_related (rows read by hand for a reverse foreign key).
- `Only(model, names)`: in place of a model, some of its fields only (the rest deferred, read if
  touched): a list of many rows need not convert columns it never shows.
- `insert_row(table, columns, values)`: one INSERT, its statement built once per table;
  `wait_for_disk=False` commits it without waiting for the WAL to reach the disk (PostgreSQL).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from django.db import connections, transaction
from django.db.models import DEFERRED, Model


@dataclass(frozen=True)
class Only:
    """`model` with only the fields named (attnames, the primary key among them), in the model's
    field order whatever the order given."""

    model: type[Model]
    names: tuple[str, ...]


@cache
def _fields(model, vendor: str):
    connection = connections["default"]
    table = model._meta.db_table
    found = []
    for field in model._meta.concrete_fields:
        col = field.get_col(table)
        found.append(
            (
                field.attname,
                field.column,
                col,
                tuple(connection.ops.get_db_converters(col) + field.get_db_converters(connection)),
            )
        )
    return tuple(found)


@cache
def _only_fields(only: Only, vendor: str):
    return tuple(field for field in _fields(only.model, vendor) if field[0] in only.names)


def fields(model) -> tuple:
    if isinstance(model, Only):
        return _only_fields(model, connections["default"].vendor)
    return _fields(model, connections["default"].vendor)


def table(model) -> str:
    """The model's table name, quoted for this database (for the FROM of a hand-written statement)."""
    return connections["default"].ops.quote_name(model._meta.db_table)


def columns(model, alias: str) -> str:
    """`alias."col1", alias."col2", ...` for every concrete field, in field order."""
    quote = connections["default"].ops.quote_name
    return ", ".join(f"{alias}.{quote(column)}" for _, column, _, _ in fields(model))


@cache
def _building(model, vendor: str) -> tuple[type[Model], tuple[str, ...], tuple[int, ...], int, tuple]:
    """How `instance` builds `model` from a row's slice: the class, every concrete field's attname,
    where each column read goes among them, how many columns are read, and the columns that need
    converting ((offset, col, converters); none for most columns on PostgreSQL)."""
    target = model.model if isinstance(model, Only) else model
    every_name = tuple(field.attname for field in target._meta.concrete_fields)
    read = fields(model)
    places = tuple(every_name.index(attname) for attname, _, _, _ in read)
    converting = tuple((offset, col, converters) for offset, (_, _, col, converters) in enumerate(read) if converters)
    return target, every_name, places, len(read), converting


def instance(model, row, start: int = 0):
    """The model instance held in row[start:start + number of fields] (a columns() slice). Fields
    not read (`Only`) are deferred: Django reads one when it is touched."""
    target, every_name, places, width, converting = _building(model, connections["default"].vendor)
    read = row[start : start + width]
    if converting:
        read = list(read)
        connection = connections["default"]
        for offset, col, converters in converting:
            value = read[offset]
            for converter in converters:
                value = converter(value, col, connection)
            read[offset] = value
    if width == len(every_name):  # every field, in field order (columns())
        return target.from_db("default", every_name, read)
    values = [DEFERRED] * len(every_name)
    for place, value in zip(places, read, strict=True):
        values[place] = value
    return target.from_db("default", every_name, values)


@cache
def _converters(field, vendor: str):
    connection = connections["default"]
    col = field.get_col(field.model._meta.db_table)
    return col, tuple(connection.ops.get_db_converters(col) + field.get_db_converters(connection))


@cache
def _value_converters(fields: tuple, vendor: str) -> tuple[tuple[int, object, tuple], ...]:
    """(position, column, converters) of the `fields` whose values the ORM converts: none at all on
    PostgreSQL for most reads, so their rows are returned as the driver gave them."""
    found = []
    for position, field in enumerate(fields):
        if field is not None:
            col, converters = _converters(field, vendor)
            if converters:
                found.append((position, col, converters))
    return tuple(found)


def values(sql: str, params, *fields) -> list[tuple]:
    """Every row of `sql` as a tuple of plain values, the i-th passed through the converters the ORM
    applies to `fields[i]` (a model field: its column, or an aggregate of it such as MAX or a SUM cast
    AS NUMERIC, comes back as that field's Python value: SQLite's dates and decimals), or as the
    database gave it where `fields[i]` is None."""
    connection = connections["default"]
    converting = _value_converters(fields, connection.vendor)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        found = cursor.fetchall()
    if not converting:
        return [tuple(row) for row in found]
    out = []
    for row in found:
        row = list(row)
        for i, col, converters in converting:
            value = row[i]
            for converter in converters:
                value = converter(value, col, connection)
            row[i] = value
        out.append(tuple(row))
    return out


def joined(obj):
    """`obj` (a slice of a row read through a LEFT JOIN) or None when the join found no row: the
    primary key is NULL only then."""
    return None if obj.pk is None else obj


def prefetched(obj, name: str, found: list) -> None:
    """Leave `obj.<name>` (a reverse foreign key's manager) as prefetch_related leaves it: `.all()`
    is `found` without a query, each of `found` knows `obj` as its parent, and anything else
    (`.filter()`, `.count()` of a changed list) queries as usual. `found` are `obj`'s children,
    in the relation's order."""
    manager = getattr(obj, name)
    queryset = manager.get_queryset()
    remote = manager.field
    for child in found:
        remote.set_cached_value(child, obj)
    queryset._result_cache = found
    queryset._prefetch_done = True
    if not hasattr(obj, "_prefetched_objects_cache"):
        obj._prefetched_objects_cache = {}
    obj._prefetched_objects_cache[remote.remote_field.cache_name] = queryset


def first(sql: str, params, *models) -> tuple | None:
    """Run `sql` (SELECT columns(models[0], ...), columns(models[1], ...), ...) and return the
    first row as one instance per model, or None when there is no row."""
    with connections["default"].cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return None if row is None else _instances(row, models)


def every(sql: str, params, *models) -> list[tuple]:
    """Every row of `sql` (as `first`), each as one instance per model."""
    with connections["default"].cursor() as cursor:
        cursor.execute(sql, params)
        found = cursor.fetchall()
    return [_instances(row, models) for row in found]


def every_with_rest(sql: str, params, *models) -> list[tuple[tuple, tuple]]:
    """As `every`, for a SELECT with more columns after the models': each row as (instances, the
    remaining values)."""
    with connections["default"].cursor() as cursor:
        cursor.execute(sql, params)
        found = cursor.fetchall()
    width = sum(len(fields(model)) for model in models)
    return [(_instances(row, models), row[width:]) for row in found]


def _instances(row, models) -> tuple:
    if len(models) == 1:  # the usual case, on every request: no offsets to count
        return (instance(models[0], row),)
    found, start = [], 0
    for model in models:
        found.append(instance(model, row, start))
        start += len(fields(model))
    return tuple(found)


@cache
def _insert_sql(vendor: str, table: str, names: tuple[str, ...]) -> str:
    quote = connections["default"].ops.quote_name
    return (
        f"INSERT INTO {quote(table)} ({', '.join(quote(c) for c in names)}) VALUES ({', '.join(['%s'] * len(names))})"
    )


def insert_row(table: str, names: tuple[str, ...], values: list, *, wait_for_disk: bool = True) -> None:
    """One row into `table`; values are database values (`sql.datetime_value` for datetimes).

    `wait_for_disk=False`, outside a transaction on PostgreSQL: the row is committed in its own
    transaction with synchronous_commit off, so the request does not wait for the WAL flush (an
    fdatasync: 7 ms at p50, 16 at p95 on the bench machine, more than the rest of a detail page's
    SQL). The row is as consistent as any; a crash of the database server within about 0.6 s of
    the commit (3 x wal_writer_delay) may lose it. Inside a caller's transaction it changes
    nothing: SET LOCAL would make the caller's commit asynchronous too."""
    connection = connections["default"]
    statement = _insert_sql(connection.vendor, table, names)
    if wait_for_disk or connection.vendor != "postgresql" or connection.in_atomic_block:
        with connection.cursor() as cursor:
            cursor.execute(statement, values)
        return
    with transaction.atomic(using="default"), connection.cursor() as cursor:
        cursor.execute("SET LOCAL synchronous_commit TO OFF")
        cursor.execute(statement, values)
