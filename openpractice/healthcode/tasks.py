"""Background work on the Django Tasks API (django-tasks-db; worker: manage.py db_worker).

The submission tasks are defined beside what they run (`submission/delivery.py`, `status.py`,
`bulk.py`), so the submission package enqueues them without importing this module. They are
named here too: a task row stores its task's import path, and rows queued before the package
existed say `openpractice.healthcode.tasks.<name>`."""

from __future__ import annotations

from django_tasks import task

from openpractice.healthcode import services
from openpractice.healthcode.stored_checks import recheck_due_bills  # noqa: F401 (defined beside what it runs)
from openpractice.healthcode.submission import (  # noqa: F401 (the stored task paths, see above)
    deliver_many,
    deliver_submission,
    queue_bulk_task,
    sync_statuses,
)
from openpractice.practices.models import Practice


@task(queue_name="healthcode")
def sync_code_sets(practice_id: int) -> dict:
    return services.sync_code_sets_from_clearing_house(practice=Practice.objects.get(pk=practice_id))
