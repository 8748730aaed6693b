"""Model instances from hand-written SQL, for the few lookups every request makes.

The ORM spends ~0.5-1.5 ms compiling a filter().select_related().first() that the database
answers in ~0.05 ms; the session, user and membership lookups run on every request, type-ahead
keystrokes included. `columns(model, alias)` is the SELECT list of a model's concrete fields and
`instance(model, row, start)` turns that slice of a row back into a model instance, through the
same converters the ORM applies (SQLite dates and booleans, time zones).
"""

from __future__ import annotations

from functools import cache

from django.db import connections


@cache
def _fields(model, vendor: str):
    connection = connections["default"]
    table = model._meta.db_table
    found = []
    for field in model._meta.concrete_fields:
        col = field.get_col(table)
        found.append((field.attname, field.column, col,
                      tuple(connection.ops.get_db_converters(col) + field.get_db_converters(connection))))
    return tuple(found)


def fields(model) -> tuple:
    return _fields(model, connections["default"].vendor)


def columns(model, alias: str) -> str:
    """`alias."col1", alias."col2", ...` for every concrete field, in field order."""
    quote = connections["default"].ops.quote_name
    return ", ".join(f"{alias}.{quote(column)}" for _, column, _, _ in fields(model))


def instance(model, row, start: int = 0):
    """The model instance held in row[start:start + number of fields] (a columns() slice)."""
    connection = connections["default"]
    names, values = [], []
    for offset, (attname, _, col, converters) in enumerate(fields(model)):
        value = row[start + offset]
        for converter in converters:
            value = converter(value, col, connection)
        names.append(attname)
        values.append(value)
    return model.from_db("default", names, values)
