"""Background work for large imports (Django Tasks; enqueued on commit by services.py)."""

from django_tasks import task

from openpractice.coding import services


@task()
def check_import_task(import_id: int) -> None:
    services.check_import(import_id=import_id)


@task()
def apply_import_task(import_id: int) -> None:
    services.apply_import(import_id=import_id)
