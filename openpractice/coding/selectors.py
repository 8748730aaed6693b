"""Reads: code search (type-ahead and API), the insurer directory, and the lookups billing uses."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.utils import timezone

from openpractice.coding.models import (
    AcceptedCode,
    Code,
    CodeImport,
    CodeSource,
    CodeSystem,
    CodeWord,
    Insurer,
)
from openpractice.coding.normalise import code_key, next_prefix, words
from openpractice.coding.search_index import MAX_WORD, STOPWORDS  # words too common to narrow a search

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
    return [w[:MAX_WORD] for w in words(query) if w not in STOPWORDS][:8]


def visible_codes(*, practice, system: str) -> QuerySet:
    """Codes a practice sees in one system: the global ones and its own. The public sample codes
    step aside once the practice has imported its own licensed copy of that system."""
    own = Code.objects.filter(practice=practice, system=system)
    return Code.objects.filter(system=system).filter(
        Q(practice=practice)
        | Q(practice__isnull=True) & (~Q(source=CodeSource.SAMPLE) | ~Exists(own))
    )


def _active_on(day: date) -> Q:
    return (Q(active_from__isnull=True) | Q(active_from__lte=day)) & (Q(active_to__isnull=True) | Q(active_to__gte=day))


def _word_match(word: str) -> Q:
    # A one-character word (a digit, mostly: "type 2") must match a whole word; longer ones match
    # as a prefix, so "arthro" finds "arthroscopy" while the user is still typing.
    if len(word) == 1:
        return Q(word=word)
    return Q(word__gte=word, word__lt=next_prefix(word))


_COLUMNS = ("code", "description", "system", "active_from", "active_to", "source")


def search_codes(
    *, practice, system: str, query: str, include_inactive: bool = False, on_date: date | None = None,
    limit: int = MAX_RESULTS,
) -> list[CodeMatch]:
    """Codes matching `query`, best first: the exact code, then codes starting with it, then codes
    whose description has every word of the query (as a word prefix). Within each group, in code
    order. Inactive codes (on `on_date`, default today) are hidden unless asked for.

    At most three indexed queries, each stopping at `limit` rows.
    """
    limit = max(1, min(limit, MAX_RESULTS))
    day = on_date or today()
    base = visible_codes(practice=practice, system=system)
    if not include_inactive:
        base = base.filter(_active_on(day))
    found: list[tuple[str, tuple]] = []
    seen: set[str] = set()

    def take(queryset, kind):
        for row in queryset.values_list("code_key", *_COLUMNS)[: limit - len(found)]:
            if row[0] not in seen:
                seen.add(row[0])
                found.append((kind, row[1:]))

    key = code_key(query)
    single_token = len(query.split()) == 1
    if key and single_token:
        take(base.filter(code_key=key).order_by(F("practice_id").asc(nulls_last=True)), MatchKind.EXACT)
        if len(found) < limit:
            take(base.filter(code_key__gt=key, code_key__lt=next_prefix(key)).order_by("code_key"), MatchKind.PREFIX)
    query_words = search_words(query)
    if query_words and len(found) < limit:
        # The longest word is usually the rarest: it drives the search, the others are checked
        # per candidate through the (code, word) index.
        query_words.sort(key=len, reverse=True)
        driver_word, *others = query_words
        driver = driver_word if len(driver_word) == 1 else (driver_word, next_prefix(driver_word))
        # Joined from the word index (not `id IN (...)`), so the planner starts from the matching
        # words instead of walking every code in code order.
        matches = base.filter(words__word__gte=driver[0], words__word__lt=driver[1]) if isinstance(driver, tuple) \
            else base.filter(words__word=driver)
        for word in others:
            matches = matches.filter(Exists(CodeWord.objects.filter(_word_match(word), code_id=OuterRef("pk"))))
        matches = matches.distinct()
        if seen:
            matches = matches.exclude(code_key__in=seen)
        take(matches.order_by("code_key"), MatchKind.WORDS)
    return [
        CodeMatch(
            code=row[0], description=row[1], system=row[2], active_from=row[3], active_to=row[4], source=row[5],
            match=kind,
            is_active=(row[3] is None or row[3] <= day) and (row[4] is None or day <= row[4]),
        )
        for kind, row in found
    ]


def get_code(*, practice, system: str, code: str) -> Code | None:
    """One code the practice can see (its own copy before a global one), or None."""
    return (
        visible_codes(practice=practice, system=system)
        .filter(code_key=code_key(code))
        .order_by(F("practice_id").asc(nulls_last=True))
        .first()
        if code_key(code) else None
    )


def is_code_active(*, practice, code_system: str, code: str, on_date: date) -> bool:
    """Is `code` a known code of `code_system`, active on `on_date`, for this practice? One query."""
    key = code_key(code)
    if not key:
        return False
    return visible_codes(practice=practice, system=code_system).filter(code_key=key).filter(_active_on(on_date)).exists()


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
        rows.append({
            "system": system,
            "label": system.label,
            "own": Code.objects.filter(practice=practice, system=system).count(),
            "visible": visible.count(),
            "samples": visible.filter(source=CodeSource.SAMPLE).count(),
        })
    return rows


def accepted_list_summary(*, practice) -> list[dict]:
    from django.db.models import Count

    return list(
        AcceptedCode.objects.filter(practice=practice)
        .values("insurer_id", "insurer__name", "system")
        .annotate(codes=Count("id"))
        .order_by("insurer__name", "system")
    )


def recent_imports(*, practice, limit: int = 10) -> QuerySet:
    return CodeImport.objects.for_practice(practice).select_related("insurer", "created_by").defer("content")[:limit]
