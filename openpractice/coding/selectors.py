"""Reads: code search (type-ahead and API), the insurer directory, and the lookups billing uses."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import Count, Exists, F, Q, QuerySet
from django.utils import timezone

from openpractice.coding.models import (
    AcceptedCode,
    Code,
    CodeImport,
    CodeSource,
    CodeSystem,
    Insurer,
)
from openpractice.coding.normalise import code_key, next_prefix, words
from openpractice.coding.search_index import query_words, words_branches
from openpractice.db import sql

MAX_RESULTS = 20


class MatchKind:
    EXACT = "exact"
    PREFIX = "prefix"
    WORDS = "words"


@dataclass(frozen=True)
class CodeMatch:
    code: str
    description: str
    system: str
    active_from: date | None
    active_to: date | None
    source: str
    match: str  # MatchKind
    is_active: bool

    @property
    def is_sample(self) -> bool:
        return self.source == CodeSource.SAMPLE


def today() -> date:
    return timezone.localdate()


def search_words(query: str) -> list[str]:
    return query_words(query)


def visible_codes(*, practice, system: str) -> QuerySet:
    """Codes a practice sees in one system: the global ones and its own. The public sample codes
    step aside once the practice has imported its own licensed copy of that system.
    (search_codes spells the same rule in SQL: _VISIBLE.)"""
    own = Code.objects.filter(practice=practice, system=system)
    return Code.objects.filter(system=system).filter(
        Q(practice=practice) | Q(practice__isnull=True) & (~Q(source=CodeSource.SAMPLE) | ~Exists(own))
    )


def _active_on(day: date) -> Q:
    return (Q(active_from__isnull=True) | Q(active_from__lte=day)) & (Q(active_to__isnull=True) | Q(active_to__gte=day))


# The type-ahead search, in hand-written SQL: it runs on every keystroke, and building the same
# three queries through the ORM cost more than running them. One statement, three groups (exact
# code, code prefix, words), each stopping at its own LIMIT; Python orders and de-duplicates.
_TABLE = Code._meta.db_table
_COLUMNS = "c.code_key, c.practice_id IS NULL, c.code, c.description, c.system, c.active_from, c.active_to, c.source"
# visible_codes() in SQL. Params: system, practice id, practice id, system. ("Has the practice
# codes of its own" as min() IS NULL: one index probe on both databases, where PostgreSQL planned
# NOT EXISTS as a sequential scan.)
_VISIBLE = (
    "c.system = %s AND (c.practice_id = %s OR c.practice_id IS NULL AND (c.source <> 'sample' OR ("
    f"SELECT min(o.code_key) FROM {_TABLE} o WHERE o.practice_id = %s AND o.system = %s) IS NULL))"
)
_ACTIVE = " AND (c.active_from IS NULL OR c.active_from <= %s) AND (c.active_to IS NULL OR c.active_to >= %s)"
# A group may hold a global and the practice's own row for the same code (only one is kept), so
# each group fetches twice the limit: always enough for `limit` distinct codes.
_GROUPS = {MatchKind.EXACT: 0, MatchKind.PREFIX: 1, MatchKind.WORDS: 2}


def search_sql(
    *,
    practice,
    system: str,
    query: str,
    include_inactive: bool = False,
    on_date: date | None = None,
    limit: int = MAX_RESULTS,
    using: str = "default",
) -> tuple[str, list] | None:
    """The one SQL statement (and params) search_codes runs, or None when the query cannot match."""
    limit = max(1, min(limit, MAX_RESULTS))
    day = sql.date_value(on_date or today(), using=using)
    practice_id = practice.pk if practice is not None else None
    where = _VISIBLE + ("" if include_inactive else _ACTIVE)
    where_params = [system, practice_id, practice_id, system] + ([] if include_inactive else [day, day])
    parts, params = [], []

    def group(kind, condition, condition_params, order, guard=""):
        rows = f"CASE WHEN {guard} THEN {2 * limit} ELSE 0 END" if guard else f"{2 * limit}"
        parts.append(
            f"SELECT * FROM (SELECT {_GROUPS[kind]} AS grp, {_COLUMNS} FROM {_TABLE} c "
            f"WHERE {where} AND {condition} ORDER BY {order} LIMIT {rows}) AS g{len(parts)}"
        )
        params.extend(where_params + condition_params)

    key = code_key(query)
    in_range, cte = [], ""
    if key and len(query.split()) == 1:
        group(MatchKind.EXACT, "c.code_key = %s", [key], "c.practice_id IS NULL")
        in_range = [key, next_prefix(key)]
        group(MatchKind.PREFIX, "c.code_key > %s AND c.code_key < %s", in_range, "c.code_key, c.practice_id IS NULL")
    terms = query_words(query)
    if terms:
        # Codes in the exact/prefix range are already in those groups (all of them, or the groups
        # fill the limit on their own).
        exclude = " AND NOT (c.code_key >= %s AND c.code_key < %s)" if in_range else ""
        (cte, cte_params), branches = words_branches(sql.vendor(using), terms)
        for condition, condition_params, guard in branches:
            group(
                MatchKind.WORDS,
                condition + exclude,
                condition_params + in_range,
                "c.code_key, c.practice_id IS NULL",
                guard,
            )
    if not parts:
        return None
    if cte:
        return f"WITH {cte} " + " UNION ALL ".join(parts), cte_params + params
    return " UNION ALL ".join(parts), params


def search_codes(
    *,
    practice,
    system: str,
    query: str,
    include_inactive: bool = False,
    on_date: date | None = None,
    limit: int = MAX_RESULTS,
) -> list[CodeMatch]:
    """Codes matching `query`, best first: the exact code, then codes starting with it, then codes
    whose description has every word of the query (as a word prefix). Within each group, in code
    order (the practice's own copy of a code before a global one). Inactive codes (on `on_date`,
    default today) are hidden unless asked for.

    One indexed query (search_sql); each group stops at the limit.
    """
    limit = max(1, min(limit, MAX_RESULTS))
    day = on_date or today()
    statement = search_sql(
        practice=practice, system=system, query=query, include_inactive=include_inactive, on_date=day, limit=limit
    )
    if statement is None:
        return []
    rows = sql.fetch_all(*statement)
    rows.sort(key=lambda row: (row[0], row[1], row[2]))  # group, code order, own before global
    kinds = (MatchKind.EXACT, MatchKind.PREFIX, MatchKind.WORDS)
    found: list[CodeMatch] = []
    seen: set[str] = set()
    for grp, key, _, code, description, system_, active_from, active_to, source in rows:
        if key in seen:
            continue
        seen.add(key)
        if isinstance(active_from, str):  # SQLite through a raw cursor
            active_from = date.fromisoformat(active_from)
        if isinstance(active_to, str):
            active_to = date.fromisoformat(active_to)
        found.append(
            CodeMatch(
                code=code,
                description=description,
                system=system_,
                active_from=active_from,
                active_to=active_to,
                source=source,
                match=kinds[grp],
                is_active=(active_from is None or active_from <= day) and (active_to is None or day <= active_to),
            )
        )
        if len(found) == limit:
            break
    return found


def get_code(*, practice, system: str, code: str) -> Code | None:
    """One code the practice can see (its own copy before a global one), or None."""
    return (
        visible_codes(practice=practice, system=system)
        .filter(code_key=code_key(code))
        .order_by(F("practice_id").asc(nulls_last=True))
        .first()
        if code_key(code)
        else None
    )


def is_code_active(*, practice, code_system: str, code: str, on_date: date) -> bool:
    """Is `code` a known code of `code_system`, active on `on_date`, for this practice? One query."""
    key = code_key(code)
    if not key:
        return False
    return (
        visible_codes(practice=practice, system=code_system).filter(code_key=key).filter(_active_on(on_date)).exists()
    )


def _accepted_rows(*, practice, insurer, code_system: str) -> QuerySet:
    return AcceptedCode.objects.filter(practice=practice, insurer=insurer, system=code_system)


def is_code_accepted(*, practice, insurer, code: str, on_date: date, code_system: str = CodeSystem.CCSD) -> bool:
    """Does `insurer` accept `code` from this practice on `on_date`? One query.

    An insurer with no accepted-code list for that system (none imported) accepts any code: we
    only know a code is refused when the contracts team's list leaves it out.
    """
    key = code_key(code)
    rows = _accepted_rows(practice=practice, insurer=insurer, code_system=code_system)
    result = (
        Insurer.objects.filter(pk=insurer.pk)
        .annotate(
            has_list=Exists(rows),
            listed=Exists(rows.filter(code_key=key).filter(_active_on(on_date))),
        )
        .values_list("has_list", "listed")
        .first()
    )
    if result is None:
        return False
    has_list, listed = result
    return bool(listed or not has_list)


def max_fee(*, practice, insurer, code: str, on_date: date, code_system: str = CodeSystem.CCSD) -> Decimal | None:
    """The maximum fee `insurer` pays this practice for `code` on `on_date`, or None if the list
    sets none (or the code is not on it). One query."""
    return (
        _accepted_rows(practice=practice, insurer=insurer, code_system=code_system)
        .filter(code_key=code_key(code))
        .filter(_active_on(on_date))
        .values_list("max_fee", flat=True)
        .first()
    )


# The insurer directory -------------------------------------------------------------------------


def insurers_for_practice(*, practice, include_inactive: bool = False) -> QuerySet:
    """The directory as this practice sees it: its own entries plus the published ones it has not
    replaced with its own version."""
    overridden = Insurer.objects.filter(practice=practice, based_on__isnull=False).values("based_on_id")
    qs = Insurer.objects.filter(Q(practice=practice) | Q(practice__isnull=True) & ~Q(pk__in=overridden))
    if not include_inactive:
        qs = qs.filter(is_active=True)
    return qs.order_by("name")


def get_insurer(*, practice, insurer_id) -> Insurer | None:
    return insurers_for_practice(practice=practice, include_inactive=True).filter(pk=insurer_id).first()


def find_insurer(*, practice, healthcode_identifier: str) -> Insurer | None:
    return insurers_for_practice(practice=practice).filter(healthcode_identifier=healthcode_identifier.lower()).first()


def search_insurers(*, practice, query: str, limit: int = MAX_RESULTS) -> list[Insurer]:
    """Insurers whose identifier is the query, then whose name has every word of the query."""
    qs = insurers_for_practice(practice=practice)
    query = query.strip()
    if not query:
        return list(qs[:limit])
    exact = list(qs.filter(healthcode_identifier=query.lower()))
    named = qs.exclude(pk__in=[i.pk for i in exact])
    for word in words(query):
        named = named.filter(name__icontains=word)
    return (exact + list(named))[:limit]


# Counts and history for the Settings > Coding page ---------------------------------------------


def code_set_summary(*, practice) -> list[dict]:
    rows = []
    for system in CodeSystem:
        visible = visible_codes(practice=practice, system=system)
        rows.append(
            {
                "system": system,
                "label": system.label,
                "own": Code.objects.filter(practice=practice, system=system).count(),
                "visible": visible.count(),
                "samples": visible.filter(source=CodeSource.SAMPLE).count(),
            }
        )
    return rows


def accepted_list_summary(*, practice) -> list[dict]:
    return list(
        AcceptedCode.objects.filter(practice=practice)
        .values("insurer_id", "insurer__name", "system")
        .annotate(codes=Count("id"))
        .order_by("insurer__name", "system")
    )


def recent_imports(*, practice, limit: int = 10) -> QuerySet:
    return CodeImport.objects.for_practice(practice).select_related("insurer", "created_by").defer("content")[:limit]
