"""Limit/offset paging for the API's list operations, in one place.

The numbers come straight from a query string, so they can be anything a client types: a
negative offset, or one past 2**63 that the database cannot even read ("datatype mismatch", a
500). Every list operation declares its paging with `limit_param`/`offset_param` (so OpenAPI
shows the valid range and a wrong value is a 422 naming the parameter) and slices with
`page_of`, which also clamps, so a caller that forgets the declaration is still safe.
"""

from __future__ import annotations

from ninja import Query

# Far beyond the rows any practice will have, far inside the database's 64-bit integers.
MAX_OFFSET = 1_000_000_000


def limit_param(default: int, maximum: int):
    return Query(default, ge=1, le=maximum, description=f"Rows per page, 1 to {maximum}")


def offset_param():
    return Query(0, ge=0, le=MAX_OFFSET, description=f"Rows to skip, 0 to {MAX_OFFSET}")


def page_of(queryset, *, limit: int, offset: int, maximum: int):
    """Rows `offset` to `offset + limit` of `queryset`, both numbers clamped to what is valid."""
    offset = min(max(offset, 0), MAX_OFFSET)
    limit = min(max(limit, 1), maximum)
    return queryset[offset : offset + limit]
