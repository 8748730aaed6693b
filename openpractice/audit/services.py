"""The one writer of the read log."""

from __future__ import annotations

import logging

from django.db import connection, transaction

from openpractice.audit.models import ReadEvent
from openpractice.audit.registry import Read

logger = logging.getLogger(__name__)


def record_read(*, practice, user, read: Read, object_id: int | None, label: str) -> ReadEvent | None:
    """One INSERT. A failure is logged and swallowed: a read log that cannot be written must never
    stop a clinician seeing a record (the error is in the server log for the operator)."""
    try:
        event = ReadEvent(practice=practice, user=user, kind=read.kind, object_type=read.object_type,
                          object_id=object_id, label=label[:300], via=read.via)
        if connection.in_atomic_block:
            # Inside a transaction (ATOMIC_REQUESTS, tests) a failed INSERT must not poison it.
            with transaction.atomic():
                event.save(force_insert=True)
        else:
            event.save(force_insert=True)
        return event
    except Exception:
        logger.exception("Read log: could not record %s %s for user %s", read.kind, label,
                         getattr(user, "pk", None))
        return None
