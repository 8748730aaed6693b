"""Background work on the Django Tasks API (django-tasks-db; worker: manage.py db_worker)."""

from __future__ import annotations

from django_tasks import task


@task(queue_name="healthcode")
def deliver_submission(submission_id: int) -> str:
    from openpractice.healthcode.submission import deliver

    return deliver(submission_id)


@task(queue_name="healthcode")
def deliver_many(submission_ids: list[int]) -> dict:
    from openpractice.healthcode.submission import deliver_concurrently

    return deliver_concurrently(submission_ids)


@task(queue_name="healthcode")
def sync_statuses() -> dict:
    from openpractice.healthcode.submission import sync_due

    return sync_due()


@task(queue_name="healthcode")
def sync_code_sets(practice_id: int) -> dict:
    from openpractice.healthcode.services import sync_code_sets_from_clearing_house
    from openpractice.practices.models import Practice

    return sync_code_sets_from_clearing_house(practice=Practice.objects.get(pk=practice_id))


@task(queue_name="healthcode")
def queue_bulk_task(bulk_id: int, chunk: int = 50) -> int:
    """A big bulk run queued off the web request (its items were recorded first). Run again after
    a crash (the task lease) it carries on with the items not queued yet."""
    from openpractice.healthcode.models import BulkSubmission
    from openpractice.healthcode.submission import queue_bulk

    bulk = BulkSubmission.objects.select_related("practice", "created_by").get(pk=bulk_id)
    queue_bulk(bulk=bulk, user=bulk.created_by, chunk=chunk)
    return bulk.items.count()
