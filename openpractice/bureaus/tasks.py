"""Background work of the bureau on the Django Tasks API: counting aged debt by practice again."""

from __future__ import annotations

from django_tasks import task

from openpractice.bureaus import debt_summaries


@task()
def refresh_debt_summaries(practice_ids: list[int]) -> int:
    """Count these practices' debts afresh for the combined page (debt_summaries.refresh)."""
    return debt_summaries.refresh(practice_ids=practice_ids)
