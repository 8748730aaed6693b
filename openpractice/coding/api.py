"""/api/v1/codes/... and /api/v1/insurers: the same searches and lookups as the pages."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.http import Http404
from ninja import Query, Router, Schema
from pydantic import Field

from openpractice.coding import selectors
from openpractice.coding.models import CodeSystem
from openpractice.practices.api_auth import auth_for
from openpractice.practices.roles import Capability

router = Router(tags=["coding"])


class CodeOut(Schema):
    system: CodeSystem
    code: str
    description: str
    active_from: date | None
    active_to: date | None
    is_active: bool
    is_sample: bool
    source: str
    match: str | None = Field(None, description="exact, prefix or words (search only)")


class SearchParams(Schema):
    q: str = Field(..., min_length=1, max_length=100, description="a code, the start of a code, or words")
    include_inactive: bool = False
    on_date: date | None = Field(None, description="activity is judged on this day (default today)")
    limit: int = Field(selectors.MAX_RESULTS, ge=1, le=selectors.MAX_RESULTS)


class AcceptanceOut(Schema):
    insurer_id: int
    system: CodeSystem
    code: str
    on_date: date
    accepted: bool
    max_fee: Decimal | None


class InsurerOut(Schema):
    id: int
    name: str
    healthcode_identifier: str
    member_check: str
    find_member_fields: list[str]
    is_published: bool


@router.get("/codes/{system}/search", response=list[CodeOut], auth=auth_for(Capability.VIEW_RECORDS))
def search_codes(request, system: CodeSystem, params: Query[SearchParams]):
    """Best first: the exact code, codes starting with the query, then every word in the description."""
    matches = selectors.search_codes(
        practice=request.practice,
        system=system,
        query=params.q,
        include_inactive=params.include_inactive,
        on_date=params.on_date,
        limit=params.limit,
    )
    return [{**m.__dict__, "is_sample": m.is_sample} for m in matches]


@router.get("/codes/{system}/{code}", response=CodeOut, auth=auth_for(Capability.VIEW_RECORDS))
def get_code(request, system: CodeSystem, code: str, on_date: date | None = None):
    found = selectors.get_code(practice=request.practice, system=system, code=code)
    if found is None:
        raise Http404("No such code.")
    day = on_date or selectors.today()
    return {
        "system": found.system,
        "code": found.code,
        "description": found.description,
        "active_from": found.active_from,
        "active_to": found.active_to,
        "is_active": found.is_active_on(day),
        "is_sample": found.is_sample,
        "source": found.source,
    }


@router.get(
    "/insurers/{insurer_id}/accepted-codes/{system}/{code}",
    response=AcceptanceOut,
    auth=auth_for(Capability.VIEW_RECORDS),
)
def acceptance(request, insurer_id: int, system: CodeSystem, code: str, on_date: date | None = None):
    """Does this insurer accept the code from this practice on the day, and up to what fee?"""
    insurer = selectors.get_insurer(practice=request.practice, insurer_id=insurer_id)
    if insurer is None:
        raise Http404("No such insurer.")
    day = on_date or selectors.today()
    return {
        "insurer_id": insurer.pk,
        "system": system,
        "code": code,
        "on_date": day,
        "accepted": selectors.is_code_accepted(
            practice=request.practice, insurer=insurer, code=code, on_date=day, code_system=system
        ),
        "max_fee": selectors.max_fee(
            practice=request.practice, insurer=insurer, code=code, on_date=day, code_system=system
        ),
    }


@router.get("/insurers", response=list[InsurerOut], auth=auth_for(Capability.VIEW_RECORDS))
def list_insurers(request, q: str = Query("", max_length=100)):
    insurers = selectors.search_insurers(practice=request.practice, query=q, limit=200)
    return [
        {
            "id": i.pk,
            "name": i.name,
            "healthcode_identifier": i.healthcode_identifier,
            "member_check": i.member_check,
            "find_member_fields": i.find_member_fields,
            "is_published": i.is_published,
        }
        for i in insurers
    ]
