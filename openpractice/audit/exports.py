"""The read log as CSV, safe to open in a spreadsheet."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator

from django.utils import timezone

from openpractice.audit import selectors
from openpractice.audit.models import ReadEvent, ReadKind, ReadVia
from openpractice.csv_export import neutralise

HEADER = ["When", "User", "Email", "Kind", "Record type", "Record id", "Record", "Via", "Address opened"]
_CHUNK = 2000


class _Echo:
    def write(self, value: str) -> str:
        return value


def _chunks(events: Iterable[ReadEvent]) -> Iterator[list[ReadEvent]]:
    chunk: list[ReadEvent] = []
    for event in events:
        chunk.append(event)
        if len(chunk) == _CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def csv_lines(*, practice, queryset) -> Iterator[str]:
    """Every event of the queryset, streamed; records named a chunk at a time."""
    writer = csv.writer(_Echo())
    yield writer.writerow(HEADER)
    for chunk in _chunks(queryset.iterator(chunk_size=_CHUNK)):
        names = selectors.record_names(practice=practice, events=chunk)
        for e in chunk:
            row = [
                timezone.localtime(e.at).strftime("%Y-%m-%d %H:%M:%S"),
                e.user.full_name,
                e.user.email,
                ReadKind(e.kind).label,
                e.object_type,
                e.object_id,
                names.get((e.object_type, e.object_id), ""),
                ReadVia(e.via).label,
                e.label,
            ]
            yield writer.writerow([neutralise(v) for v in row])
