"""`manage.py run_worker`: django-tasks-db's `db_worker` (same options), kept going through a lost
database or network, with a heartbeat and the task lease (openpractice/workers/runtime.py).

    manage.py run_worker --queue-name '*'            # every queue
    manage.py run_worker --queue-name healthcode --worker-id "$(hostname)-1"

Run as many as the machine and the database allow: on PostgreSQL they claim tasks with
SKIP LOCKED. Under a process supervisor see docs/deployment.md."""

from __future__ import annotations

import os

from django.core.management.base import CommandError
from django.utils.autoreload import DJANGO_AUTORELOAD_ENV, run_with_reloader
from django_tasks_db.management.commands.db_worker import Command as DbWorkerCommand

from openpractice.workers.runtime import Heartbeat, ResilientWorker


class Command(DbWorkerCommand):
    help = "Run a task worker that survives a lost database connection and takes up tasks of dead workers."

    def add_arguments(self, parser) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--max-reconnects",
            type=int,
            default=None,
            help="Give up after this many lost connections (default: never).",
        )

    def handle(
        self,
        *,
        verbosity,
        queue_name,
        interval,
        batch,
        backend_name,
        startup_delay,
        reload,
        max_tasks,
        worker_id,
        exclude_queues,
        max_reconnects=None,
        **options,
    ) -> None:
        self.configure_logging(verbosity)
        queue_names = queue_name.split(",")
        excluded = exclude_queues.split(",") if exclude_queues else []
        if excluded and "*" not in queue_names:
            raise CommandError("--exclude-queues can only be used with --queue-name=*")
        worker = ResilientWorker(
            queue_names=queue_names,
            interval=interval,
            batch=batch,
            backend_name=backend_name,
            startup_delay=startup_delay,
            max_tasks=max_tasks,
            worker_id=worker_id,
            excluded_queue_names=excluded,
            max_reconnects=max_reconnects,
        )

        def run() -> None:
            heartbeat = Heartbeat(worker_id)
            heartbeat.start()
            try:
                worker.run()
            finally:
                heartbeat.stop()

        if reload and not batch:
            if os.environ.get(DJANGO_AUTORELOAD_ENV) == "true":
                worker.configure_signals()
            run_with_reloader(run)
        else:
            worker.configure_signals()
            run()
