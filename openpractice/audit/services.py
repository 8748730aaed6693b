"""The one writer of the read log."""

from __future__ import annotations

import logging

from django.db import connection, transaction
from django.utils import timezone

from openpractice.audit.models import ReadEvent
from openpractice.audit.registry import Read
from openpractice.db import rows, sql

logger = logging.getLogger(__name__)

_COLUMNS = ("practice_id", "user_id", "at", "kind", "object_type", "object_id", "label", "via")


def record_read(*, practice, user, read: Read, object_id: int | None, label: str) -> bool:
    """One hand-written INSERT (this runs on every record opened; building the ORM's INSERT cost
    more than the database took to run it). A failure is logged and swallowed: a read log that
    cannot be written must never stop a clinician seeing a record; the operator sees the error."""
    values = [
        practice.pk,
        user.pk,
        sql.datetime_value(timezone.now()),
        read.kind,
        read.object_type,
        object_id,
        label[:300],
        read.via,
    ]
    try:
        if connection.in_atomic_block:
            # Inside a transaction (ATOMIC_REQUESTS, tests) a failed INSERT must not poison it.
            with transaction.atomic():
                rows.insert_row(ReadEvent._meta.db_table, _COLUMNS, values)
        else:
            # Not waiting for the disk: a read log row lost in a database crash's last half second
            # is the same trade as above (the record is shown either way), and waiting cost a
            # detail page 7-16 ms (issue 18; openpractice/db/rows.py).
            rows.insert_row(ReadEvent._meta.db_table, _COLUMNS, values, wait_for_disk=False)
        return True
    except Exception:
        logger.exception("Read log: could not record %s %s for user %s", read.kind, label, getattr(user, "pk", None))
        return False
