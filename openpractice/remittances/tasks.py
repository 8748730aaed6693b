"""Background work on the Django Tasks API (django-tasks-db; worker: manage.py db_worker)."""

from __future__ import annotations

from django_tasks import task

from openpractice.healthcode.models import HealthcodeIntegration
from openpractice.practices.models import Practice
from openpractice.remittances.fetching import fetch_remittances, run_fetch


@task(queue_name="healthcode")
def fetch_practice_remittances(practice_id: int, run_id: int | None = None) -> str:
    """A fetch for one practice: the schedule's (no run) or one a person asked for (its run
    records queued, running, done or failed for the remittances page)."""
    if run_id is not None:
        return run_fetch(run_id=run_id)
    return fetch_remittances(practice=Practice.objects.get(pk=practice_id)).message


@task(queue_name="healthcode")
def fetch_all_remittances() -> int:
    """Kept for task rows queued before the schedule queued FetchRuns (`jobs.queue_remittance_fetches`,
    which the schedule and `manage.py fetch_remittances` now use): one task per practice whose
    Healthcode connection works."""
    ids = list(HealthcodeIntegration.objects.filter(last_test_ok=True).values_list("practice_id", flat=True))
    for practice_id in ids:
        fetch_practice_remittances.enqueue(practice_id)
    return len(ids)
