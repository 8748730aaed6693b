"""The one writer of the read log."""

from __future__ import annotations

import logging
from functools import cache

from django.db import connection, transaction
from django.utils import timezone

from openpractice.audit.models import ReadEvent
from openpractice.audit.registry import Read

logger = logging.getLogger(__name__)

_COLUMNS = ("practice_id", "user_id", "at", "kind", "object_type", "object_id", "label", "via")


@cache
def _insert_sql(vendor: str) -> str:
    quote = connection.ops.quote_name
    return (f"INSERT INTO {quote(ReadEvent._meta.db_table)} ({', '.join(quote(c) for c in _COLUMNS)}) "
            f"VALUES ({', '.join(['%s'] * len(_COLUMNS))})")


def record_read(*, practice, user, read: Read, object_id: int | None, label: str) -> bool:
    """One hand-written INSERT (this runs on every record opened; building the ORM's INSERT cost
    more than the database took to run it). A failure is logged and swallowed: a read log that
    cannot be written must never stop a clinician seeing a record; the operator sees the error."""
    params = [practice.pk, user.pk, connection.ops.adapt_datetimefield_value(timezone.now()), read.kind,
              read.object_type, object_id, label[:300], read.via]
    try:
        if connection.in_atomic_block:
            # Inside a transaction (ATOMIC_REQUESTS, tests) a failed INSERT must not poison it.
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(_insert_sql(connection.vendor), params)
        else:
            with connection.cursor() as cursor:
                cursor.execute(_insert_sql(connection.vendor), params)
        return True
    except Exception:
        logger.exception("Read log: could not record %s %s for user %s", read.kind, label,
                         getattr(user, "pk", None))
        return False
