"""Reading imports: a practice's recent runs, a run's sample rows for the column mapping page."""

from __future__ import annotations

from django.db.models import QuerySet

from openpractice.imports import values
from openpractice.imports.models import ColumnMapping, ImportRun


def recent_runs(*, practice, limit: int = 20) -> QuerySet[ImportRun]:
    return (
        ImportRun.objects.for_practice(practice)
        .defer("content", "problems")
        .select_related("created_by")
        .order_by("-created_at", "-id")[:limit]
    )


def sample_rows(*, run: ImportRun, count: int = 3) -> list[list[str]]:
    """The first rows of the file, to show beside the column choices."""
    _, rows = values.read_rows(run.content[:50_000])
    return rows[:count]


def remembered(*, run: ImportRun) -> bool:
    """Whether a mapping was remembered for this run's source and kind (from an earlier file)."""
    return ColumnMapping.objects.for_practice(run.practice).filter(source_name=run.source_name, kind=run.kind).exists()
