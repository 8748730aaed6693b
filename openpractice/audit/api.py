"""GET /api/v1/audit/reads: the read log, keyset paged newest first."""

from __future__ import annotations

import datetime as dt

from ninja import Query, Router, Schema
from pydantic import Field

from openpractice.audit import selectors
from openpractice.audit.models import ReadKind, ReadVia
from openpractice.audit.selectors import ReadFilters
from openpractice.practices.api_auth import auth_for
from openpractice.practices.roles import Capability

router = Router(tags=["audit"])


class ReadEventOut(Schema):
    id: int
    at: dt.datetime
    user_id: int
    user_email: str
    kind: ReadKind
    object_type: str
    object_id: int | None
    record: str = Field(description="What the record is called now; empty for exports")
    label: str = Field(description="The address that was opened")
    via: ReadVia


class ReadPageOut(Schema):
    results: list[ReadEventOut]
    next_cursor: int | None = Field(description="Pass as before= for older events")
    prev_cursor: int | None = Field(description="Pass as after= for newer events")


@router.get(
    "/audit/reads",
    response=ReadPageOut,
    auth=auth_for(Capability.VIEW_AUDIT),
    summary="Who opened which record, newest first",
)
def list_reads(
    request,
    user_id: int | None = None,
    kind: ReadKind | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
    object_type: str = "",
    object_id: int | None = None,
    before: int | None = None,
    after: int | None = None,
    limit: int = Query(50, ge=1, le=500),
):
    filters = ReadFilters(
        user_id=user_id, kind=kind or "", start=start, end=end, object_type=object_type, object_id=object_id
    )
    page = selectors.read_events(practice=request.practice, filters=filters, before=before, after=after, limit=limit)
    names = selectors.record_names(practice=request.practice, events=page.events)
    return {
        "results": [
            {
                "id": e.id,
                "at": e.at,
                "user_id": e.user_id,
                "user_email": e.user.email,
                "kind": e.kind,
                "object_type": e.object_type,
                "object_id": e.object_id,
                "record": names.get((e.object_type, e.object_id), ""),
                "label": e.label,
                "via": e.via,
            }
            for e in page.events
        ],
        "next_cursor": page.next_cursor,
        "prev_cursor": page.prev_cursor,
    }
