"""Connections that may have broken: for loops that must outlive a lost database (task workers,
the schedule)."""

from __future__ import annotations

from django.db import connections


def close_connections() -> None:
    """Close this thread's connections, even broken ones (a failed close still forgets the socket)."""
    for connection in connections.all(initialized_only=True):
        try:
            connection.close()
        except Exception:  # the socket is gone; forget it so the next query opens a new one
            connection.connection = None
            connection.in_atomic_block = False
            connection.needs_rollback = False


def database_answers() -> bool:
    """Does the default database answer `SELECT 1`? If not, this thread's connections are closed."""
    try:
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except Exception:
        close_connections()
        return False
