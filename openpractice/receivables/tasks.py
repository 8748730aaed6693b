"""Background work on the Django Tasks API: the daily chase (a run per practice for review)."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django_tasks import task

from openpractice.practices.models import Practice
from openpractice.receivables import services


@task()
def chase_practice(practice_id: int, today: str | None = None) -> int:
    """Decide what one practice's open debts need (a ChaseRun for review); the number of items."""
    practice = Practice.objects.get(pk=practice_id)
    run = services.create_chase_run(practice=practice, today=dt.date.fromisoformat(today) if today else None)
    return run.items.count()


@task()
def chase_all(today: str | None = None) -> int:
    """The schedule's entry point: one task per practice."""
    ids = list(Practice.objects.values_list("pk", flat=True))
    for practice_id in ids:
        chase_practice.enqueue(practice_id, today)
    return len(ids)


def queue_chase_run(due_on: dt.date, now: dt.datetime) -> str:
    """The schedule's daily job (registered in apps.py, run by `manage.py run_schedule`): today's
    chase run of every practice, queued. Caught up after a day the schedule did not run, it is
    still today's run: a chase run decides what each debt needs on its own day, and a later run of
    the same day is the same run (services.create_chase_run)."""
    today = timezone.localdate(now)
    chase_all.enqueue(today.isoformat())
    return f"queued the chase run of {today.day} {today:%B %Y}"


@task()
def send_statements(run_id: int) -> int:
    """A many-patient statement run off the web request; taken up again it carries on."""
    # statements imports this module (it enqueues the task): read at call time, not at import.
    from openpractice.receivables.models import StatementRun
    from openpractice.receivables.statements import work_statement_run

    run = work_statement_run(run=StatementRun.objects.select_related("practice", "created_by").get(pk=run_id))
    return run.done
