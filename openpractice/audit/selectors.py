"""Reads of the read log, always for one practice."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.apps import apps
from django.utils import timezone

from openpractice.audit.errors import AuditError
from openpractice.audit.models import ReadEvent, ReadKind
from openpractice.audit.registry import RECORD_MODELS

PAGE_SIZE = 50
MAX_PAGE_SIZE = 500


@dataclass(frozen=True)
class ReadFilters:
    user_id: int | None = None
    kind: str = ""
    start: dt.date | None = None
    end: dt.date | None = None
    object_type: str = ""
    object_id: int | None = None

    def check(self) -> None:
        if self.kind and self.kind not in ReadKind.values:
            raise AuditError(f"Choose a kind: {', '.join(ReadKind.values)}.", field="kind")
        if self.object_type and self.object_type not in RECORD_MODELS:
            raise AuditError(f"Choose a record type: {', '.join(RECORD_MODELS)}.", field="object_type")
        if self.object_id is not None and not self.object_type:
            raise AuditError(
                "Choose whether the record is a patient or an invoice.", field="object_type", code="required"
            )
        if self.start and self.end and self.end < self.start:
            raise AuditError("The end date must be on or after the start date.", field="end")


@dataclass
class ReadPage:
    events: list[ReadEvent]
    next_cursor: int | None  # pass as before= for older events
    prev_cursor: int | None  # pass as after= for newer events


def _day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def events_for(*, practice, filters: ReadFilters):
    """This practice's events matching the filters, newest first (a queryset)."""
    filters.check()
    qs = ReadEvent.objects.for_practice(practice).select_related("user")
    if filters.user_id:
        qs = qs.filter(user_id=filters.user_id)
    if filters.kind:
        qs = qs.filter(kind=filters.kind)
    if filters.start:
        qs = qs.filter(at__gte=_day_start(filters.start))
    if filters.end:
        qs = qs.filter(at__lt=_day_start(filters.end + dt.timedelta(days=1)))
    if filters.object_type:
        qs = qs.filter(object_type=filters.object_type)
        if filters.object_id is not None:
            qs = qs.filter(object_id=filters.object_id)
    return qs.order_by("-id")


def read_events(
    *, practice, filters: ReadFilters, before: int | None = None, after: int | None = None, limit: int = PAGE_SIZE
) -> ReadPage:
    """One page, keyset paged on the id (which rises with time): before= for older, after= for newer."""
    limit = max(1, min(limit, MAX_PAGE_SIZE))
    qs = events_for(practice=practice, filters=filters)
    if after is not None:
        rows = list(qs.filter(id__gt=after).order_by("id")[: limit + 1])
        newer_exist = len(rows) > limit
        rows = rows[:limit][::-1]
        older_exist = bool(rows) or qs.filter(id__lte=after).exists()
        return ReadPage(
            rows, rows[-1].id if rows and older_exist else None, rows[0].id if rows and newer_exist else None
        )
    if before is not None:
        qs = qs.filter(id__lt=before)
    rows = list(qs[: limit + 1])
    older_exist = len(rows) > limit
    rows = rows[:limit]
    return ReadPage(rows, rows[-1].id if older_exist else None, rows[0].id if rows and before is not None else None)


def record_names(*, practice, events) -> dict[tuple[str, int], str]:
    """What each event's record is called now ("Oliver Bennett", "Invoice INV000042"), one query
    per record type, this practice's records only."""
    wanted: dict[str, set[int]] = {}
    for event in events:
        if event.object_type in RECORD_MODELS and event.object_id is not None:
            wanted.setdefault(event.object_type, set()).add(event.object_id)
    names = {}
    for object_type, ids in wanted.items():
        model = apps.get_model(RECORD_MODELS[object_type])
        for obj in model._default_manager.filter(practice=practice, pk__in=ids):
            names[(object_type, obj.pk)] = str(obj)
    return names
