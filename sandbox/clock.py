"""The sandbox clock, kept in the database so it survives restarts.

Two modes:
- ``frozen``: time stands still until an administrator advances it. Tests use this so
  bill lifecycles are deterministic.
- ``running``: wall-clock time plus an offset that advancing adds to, so a demo's bills
  move on by themselves and can still be fast-forwarded.
"""

from __future__ import annotations

import datetime as dt
import sqlite3

from sandbox import db

FROZEN = "frozen"
RUNNING = "running"


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def parse_instant(text: str) -> dt.datetime:
    instant = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=dt.UTC)
    return instant.astimezone(dt.UTC)


def format_instant(instant: dt.datetime) -> str:
    """Whole seconds, always the same shape, so stored instants sort as text."""
    return instant.astimezone(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def configure(connection: sqlite3.Connection, mode: str, start: dt.datetime | None) -> None:
    """Set the clock on first start only; a restart keeps the stored clock."""
    if db.get_setting(connection, "clock_mode") is not None:
        return
    db.put_setting(connection, "clock_mode", mode)
    db.put_setting(connection, "clock_frozen_at", format_instant(start or utc_now()))
    db.put_setting(connection, "clock_offset_seconds", "0")


def now(connection: sqlite3.Connection) -> dt.datetime:
    mode = db.get_setting(connection, "clock_mode") or RUNNING
    if mode == FROZEN:
        return parse_instant(db.get_setting(connection, "clock_frozen_at") or format_instant(utc_now()))
    offset = float(db.get_setting(connection, "clock_offset_seconds") or "0")
    return (utc_now() + dt.timedelta(seconds=offset)).replace(microsecond=0)


def advance(connection: sqlite3.Connection, seconds: float) -> dt.datetime:
    """Move the clock forward; call inside a write transaction."""
    mode = db.get_setting(connection, "clock_mode") or RUNNING
    if mode == FROZEN:
        moved = now(connection) + dt.timedelta(seconds=seconds)
        db.put_setting(connection, "clock_frozen_at", format_instant(moved))
    else:
        offset = float(db.get_setting(connection, "clock_offset_seconds") or "0") + seconds
        db.put_setting(connection, "clock_offset_seconds", repr(offset))
    return now(connection)


def mode(connection: sqlite3.Connection) -> str:
    return db.get_setting(connection, "clock_mode") or RUNNING
