"""Task workers that come back: django-tasks-db's worker loop, kept going through a lost database
or network, with a heartbeat and a lease so a task left "running" by a dead worker is run again.

- A connection error (OperationalError / InterfaceError, other than SQLite's "database is
  locked", which the library already waits out) no longer ends the worker: every connection is
  closed, the worker waits (exponential backoff, capped at WORKER_RECONNECT_MAX_SECONDS, with
  jitter so a room full of workers does not reconnect in step), says so in its log, and carries on
  once a `SELECT 1` answers. A task whose result could not be written because the database went
  away, or which itself failed on a lost connection, is put back to "ready" rather than failed.
- Each worker writes a `WorkerHeartbeat` every TASK_LEASE_SECONDS / 4 from a thread of its own
  (so a long task does not stop it). A task row "running" for longer than the lease whose worker
  has not been seen for the lease is put back to "ready" (`requeue_expired`), by any live worker.

Running a task twice is safe here by design: delivery is keyed by invoice version (the clearing
house replays the same bill) and every write happens under a row lock after a status guard;
remittance posting takes the batch lock and skips a posted batch.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import random
import socket
import threading
import time

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.utils import timezone
from django_tasks_db.compat import TaskResultStatus
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult
from django_tasks_db.utils import is_locked_database_exception

from openpractice.db.reconnect import close_connections, database_answers
from openpractice.workers.models import WorkerHeartbeat

logger = logging.getLogger("openpractice.workers")

# A task that failed on one of these is put back to "ready" (at most this many claims in all).
CONNECTION_ERROR_PATHS = {"django.db.utils.OperationalError", "django.db.utils.InterfaceError"}
MAX_CLAIMS = 10


def is_connection_error(exc: BaseException) -> bool:
    if isinstance(exc, InterfaceError):
        return True
    # SQLite's "database is locked" is an OperationalError the library waits out itself; the
    # library's test reads args[0], so an error without arguments is taken as a lost connection.
    return isinstance(exc, OperationalError) and not (exc.args and is_locked_database_exception(exc))


def backoff_seconds(failures: int, *, cap: float, base: float = 0.5) -> float:
    """Exponential from `base`, capped, with 'equal jitter' (between half and all of it)."""
    ceiling = min(cap, base * 2 ** max(0, failures - 1))
    return ceiling / 2 + random.random() * ceiling / 2


# -- the lease ---------------------------------------------------------------------------------
def requeue_expired(*, lease_seconds: int | None = None, now=None) -> int:
    """Put back to "ready" every task row "running" for longer than the lease whose worker has not
    been seen (no heartbeat) for the lease. Safe from many workers at once: each row is updated
    only while it is still the same claim (status and started_at unchanged)."""
    lease = lease_seconds if lease_seconds is not None else settings.TASK_LEASE_SECONDS
    now = now or timezone.now()
    cutoff = now - dt.timedelta(seconds=lease)
    rows = list(
        DBTaskResult.objects.filter(status=TaskResultStatus.RUNNING, started_at__lt=cutoff).values_list(
            "pk", "started_at", "worker_ids"
        )[:1000]
    )
    if not rows:
        return 0
    alive = set(WorkerHeartbeat.objects.filter(seen_at__gte=cutoff).values_list("worker_id", flat=True))
    requeued = 0
    for pk, started_at, worker_ids in rows:
        owner = worker_ids[-1] if worker_ids else ""
        if owner in alive:
            continue  # a long task on a live worker
        requeued += DBTaskResult.objects.filter(pk=pk, status=TaskResultStatus.RUNNING, started_at=started_at).update(
            status=TaskResultStatus.READY
        )
        logger.warning(
            "Task %s was left running by worker %s (not seen for %d s): queued again", pk, owner or "?", lease
        )
    return requeued


class Heartbeat(threading.Thread):
    """Says "alive" for a worker every lease / 4 and takes up tasks of workers that are not."""

    def __init__(self, worker_id: str, *, lease_seconds: int | None = None):
        super().__init__(name=f"heartbeat-{worker_id}", daemon=True)
        self.worker_id = worker_id
        self.lease = lease_seconds if lease_seconds is not None else settings.TASK_LEASE_SECONDS
        self.stopping = threading.Event()
        self.started_at = timezone.now()
        self.beats = 0

    def beat(self) -> None:
        now = timezone.now()
        WorkerHeartbeat.objects.update_or_create(
            worker_id=self.worker_id,
            defaults={
                "hostname": socket.gethostname()[:255],
                "pid": os.getpid(),
                "started_at": self.started_at,
                "seen_at": now,
            },
        )
        requeue_expired(lease_seconds=self.lease, now=now)
        self.beats += 1

    def run(self) -> None:
        failures = 0
        while not self.stopping.is_set():
            try:
                self.beat()
                failures = 0
            except Exception as exc:  # the database may be away; the worker's own loop says so too
                failures += 1
                close_connections()
                if failures == 1:
                    logger.warning("Heartbeat of worker %s not written: %s", self.worker_id, exc)
            self.stopping.wait(max(0.5, self.lease / 4))
        close_connections()

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=10)
        try:
            WorkerHeartbeat.objects.filter(worker_id=self.worker_id).delete()
        except Exception:  # leaving: an old row only expires
            close_connections()


# -- the worker --------------------------------------------------------------------------------
class ResilientWorker(Worker):
    """django-tasks-db's Worker, carried on through connection errors (see the module's words)."""

    def __init__(self, *args, reconnect_max_seconds: float | None = None, max_reconnects: int | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.reconnect_max = reconnect_max_seconds or settings.WORKER_RECONNECT_MAX_SECONDS
        self.max_reconnects = max_reconnects  # None: for ever (tests bound it)
        self.reconnects = 0
        self._unrecorded: list = []

    def run(self) -> None:
        while self.running:
            try:
                super().run()
                return  # --batch or --max-tasks finished
            except Exception as exc:
                if not is_connection_error(exc):
                    raise
                self.startup_delay = False
                self._wait_for_database(exc)

    def _wait_for_database(self, exc: BaseException) -> None:
        close_connections()
        failures, lost_at = 0, time.monotonic()
        while self.running:
            failures += 1
            if self.max_reconnects is not None and self.reconnects >= self.max_reconnects:
                raise exc
            delay = backoff_seconds(failures, cap=self.reconnect_max)
            logger.warning(
                "Worker %s lost the database (%s); connections closed, trying again in %.1f s (attempt %d)",
                self.worker_id,
                str(exc).strip().splitlines()[0] if str(exc) else type(exc).__name__,
                delay,
                failures,
            )
            time.sleep(delay)
            if database_answers():
                self.reconnects += 1
                logger.warning(
                    "Worker %s: database back after %.1f s; carrying on", self.worker_id, time.monotonic() - lost_at
                )
                self._requeue_unrecorded()
                return

    def _requeue_unrecorded(self) -> None:
        """A task whose outcome could not be written when the database went away runs again."""
        for pk in self._unrecorded:
            DBTaskResult.objects.filter(pk=pk, status=TaskResultStatus.RUNNING).update(status=TaskResultStatus.READY)
            logger.warning("Task %s: its result was not recorded (database lost); queued again", pk)
        self._unrecorded = []

    def run_task(self, db_task_result: DBTaskResult) -> None:
        try:
            super().run_task(db_task_result)
        except Exception as exc:
            if is_connection_error(exc):
                self._unrecorded.append(db_task_result.pk)
            raise
        if (
            db_task_result.status == TaskResultStatus.FAILED
            and db_task_result.exception_class_path in CONNECTION_ERROR_PATHS
            and len(db_task_result.worker_ids) < MAX_CLAIMS
        ):
            # The task failed because the database went away under it, not because of its input.
            DBTaskResult.objects.filter(pk=db_task_result.pk, status=TaskResultStatus.FAILED).update(
                status=TaskResultStatus.READY, finished_at=None
            )
            logger.warning("Task %s failed on a lost database connection; queued again", db_task_result.pk)


def keep_going(step, *, what: str, cap: float | None = None, stop=lambda: False) -> None:
    """Run `step()` until it returns False (or `stop()`), waiting through connection errors with
    the same backoff and log lines as the worker: for long-running loops such as the schedule."""
    cap = cap or settings.WORKER_RECONNECT_MAX_SECONDS
    failures = 0
    while not stop():
        try:
            if step() is False:
                return
            failures = 0
        except Exception as exc:
            if not is_connection_error(exc):
                raise
            failures += 1
            close_connections()
            delay = backoff_seconds(failures, cap=cap)
            logger.warning(
                "%s lost the database (%s); trying again in %.1f s (attempt %d)",
                what,
                str(exc).strip().splitlines()[0] if str(exc) else type(exc).__name__,
                delay,
                failures,
            )
            time.sleep(delay)
