"""Hand-written statements of the apps, run on the default database.

The apps write their own SQL (what they ask and what it means); these run it, say which database
this is for the few statements written once per vendor, and turn Python values into what the
database stores, as the ORM would (`datetime_value`, `date_value`).
"""

from __future__ import annotations

from django.db import connections


def vendor(using: str = "default") -> str:
    """ "postgresql" or "sqlite"."""
    return connections[using].vendor


def is_postgresql(using: str = "default") -> bool:
    return connections[using].vendor == "postgresql"


def execute(sql: str, params=(), *, using: str = "default") -> None:
    with connections[using].cursor() as cursor:
        cursor.execute(sql, params)


def fetch_all(sql: str, params=(), *, using: str = "default") -> list[tuple]:
    with connections[using].cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def fetch_one(sql: str, params=(), *, using: str = "default") -> tuple | None:
    with connections[using].cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


def datetime_value(value, *, using: str = "default"):
    """A datetime as a hand-written statement's parameter (SQLite: text in UTC)."""
    return connections[using].ops.adapt_datetimefield_value(value)


def date_value(value, *, using: str = "default"):
    return connections[using].ops.adapt_datefield_value(value)


def run_for_vendor(schema_editor, *, postgresql=(), sqlite=()) -> None:
    """A migration's hand-written statements for this database (none for another vendor), run
    through the migration's schema editor so they are collected like its own."""
    statements = {"postgresql": postgresql, "sqlite": sqlite}.get(schema_editor.connection.vendor, ())
    for statement in statements:
        schema_editor.execute(statement)
