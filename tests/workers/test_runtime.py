"""Workers that come back: a lost database does not end a worker (on PostgreSQL through a proxy
that really cuts the connections; anywhere by a query that fails as a lost connection does), and
a task row left "running" by a dead worker is taken up again once its lease expires."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import OperationalError, connection
from django.utils import timezone
from django_tasks_db.compat import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from openpractice.healthcode.tasks import deliver_submission
from openpractice.workers.models import WorkerHeartbeat
from openpractice.workers.runtime import Heartbeat, ResilientWorker, backoff_seconds, requeue_expired

REPO = Path(__file__).resolve().parent.parent.parent


@pytest.fixture(autouse=True)
def _keep_the_test_transactions_connection(monkeypatch):
    """In-process workers here run inside the test's transaction: the library's check for aged
    connections would close it (autocommit differs), which the worker never meets in production.
    The subprocess test below runs the real thing, closes and all."""
    import django_tasks_db.management.commands.db_worker as db_worker

    monkeypatch.setattr(db_worker, "close_old_connections", lambda: None)


def _worker(**extra) -> ResilientWorker:
    options = {
        "queue_names": ["healthcode"],
        "interval": 0,
        "batch": True,
        "backend_name": "default",
        "startup_delay": False,
        "max_tasks": None,
        "worker_id": "test-worker",
        "excluded_queue_names": [],
    }
    return ResilientWorker(**{**options, **extra})


def _task_row() -> DBTaskResult:
    result = deliver_submission.enqueue(987654)  # no such submission: the task answers "missing"
    return DBTaskResult.objects.get(pk=result.id)


def _leave_running(row: DBTaskResult, *, worker_id: str, minutes_ago: int) -> None:
    DBTaskResult.objects.filter(pk=row.pk).update(
        status=TaskResultStatus.RUNNING,
        worker_ids=[worker_id],
        started_at=timezone.now() - dt.timedelta(minutes=minutes_ago),
    )


@pytest.mark.django_db
def test_a_task_left_running_by_a_dead_worker_is_taken_up_after_the_lease():
    dead, alive, fresh = _task_row(), _task_row(), _task_row()
    _leave_running(dead, worker_id="killed-worker", minutes_ago=10)
    _leave_running(alive, worker_id="busy-worker", minutes_ago=10)  # long task, worker still beating
    _leave_running(fresh, worker_id="killed-worker", minutes_ago=0)  # within its lease
    WorkerHeartbeat.objects.create(worker_id="busy-worker", started_at=timezone.now(), seen_at=timezone.now())

    assert requeue_expired(lease_seconds=120) == 1
    statuses = dict(DBTaskResult.objects.values_list("pk", "status"))
    assert statuses == {
        dead.pk: TaskResultStatus.READY,
        alive.pk: TaskResultStatus.RUNNING,
        fresh.pk: TaskResultStatus.RUNNING,
    }
    assert requeue_expired(lease_seconds=120) == 0  # once

    _worker().run()  # the re-queued task runs to the end on a live worker
    dead.refresh_from_db()
    assert dead.status == TaskResultStatus.SUCCESSFUL
    assert dead.worker_ids == ["killed-worker", "test-worker"]


@pytest.mark.django_db
def test_the_heartbeat_says_alive_and_takes_up_dead_workers_tasks():
    row = _task_row()
    _leave_running(row, worker_id="killed-worker", minutes_ago=10)
    beat = Heartbeat("beating-worker", lease_seconds=120)
    beat.beat()
    assert WorkerHeartbeat.objects.get(worker_id="beating-worker").pid == os.getpid()
    row.refresh_from_db()
    assert row.status == TaskResultStatus.READY


def test_backoff_grows_is_capped_and_jittered():
    waits = [backoff_seconds(n, cap=8) for n in range(1, 12)]
    assert waits[0] <= 0.5 and max(waits) <= 8
    assert all(4 <= w <= 8 for w in waits[6:])
    assert len({round(backoff_seconds(9, cap=8), 6) for _ in range(20)}) > 1


@pytest.mark.django_db
def test_a_worker_carries_on_after_connection_errors(monkeypatch, caplog):
    """Anywhere (SQLite too): the first two looks for work fail as a dropped connection does."""
    import django_tasks_db.management.commands.db_worker as db_worker

    row = _task_row()
    real_ready = DBTaskResult.objects.ready
    failures = {"left": 2}

    def ready():
        if failures["left"]:
            failures["left"] -= 1
            raise OperationalError("server closed the connection unexpectedly")
        return real_ready()

    monkeypatch.setattr(db_worker.DBTaskResult.objects, "ready", ready)
    monkeypatch.setattr("openpractice.workers.runtime.backoff_seconds", lambda n, cap: 0.01)
    monkeypatch.setattr("openpractice.workers.runtime.close_connections", lambda: None)  # the test's transaction
    worker = _worker(max_reconnects=5)
    with caplog.at_level("WARNING", logger="openpractice.workers"):
        worker.run()
    row.refresh_from_db()
    assert row.status == TaskResultStatus.SUCCESSFUL
    assert worker.reconnects == 2
    assert "lost the database" in caplog.text and "database back" in caplog.text


@pytest.mark.django_db
def test_a_task_that_failed_on_a_lost_connection_is_queued_again(monkeypatch):
    row = _task_row()

    def lost(submission_id):
        raise OperationalError("terminating connection due to administrator command")

    from openpractice.healthcode.submission import delivery as submission  # where the task finds `deliver`

    real = submission.deliver
    monkeypatch.setattr(submission, "deliver", lost)
    _worker(max_tasks=1).run()
    row.refresh_from_db()
    assert row.status == TaskResultStatus.READY  # not failed for good: it runs again
    monkeypatch.setattr(submission, "deliver", real)
    _worker().run()
    row.refresh_from_db()
    assert row.status == TaskResultStatus.SUCCESSFUL


@pytest.mark.django_db(transaction=True)
def test_on_postgresql_a_worker_goes_on_after_its_connections_are_cut(tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (DATABASE_URL=postgresql://...): the proxy cuts real database connections")
    from bench.reliability_proxy import CuttableProxy

    settings_dict = connection.settings_dict
    with CuttableProxy(settings_dict["HOST"] or "127.0.0.1", int(settings_dict["PORT"] or 5432)) as proxy:
        user = settings_dict["USER"] or "postgres"
        password = f":{settings_dict['PASSWORD']}" if settings_dict["PASSWORD"] else ""
        url = f"postgresql://{user}{password}@127.0.0.1:{proxy.port}/{settings_dict['NAME']}"
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "WORKER_RECONNECT_MAX_SECONDS": "1",
            "LOG_LEVEL": "WARNING",
            "OPENPRACTICE_DATA_DIR": str(tmp_path),
        }
        log = open(tmp_path / "worker.log", "wb")
        worker = subprocess.Popen(
            [
                sys.executable,
                "manage.py",
                "run_worker",
                "--queue-name",
                "healthcode",
                "--interval",
                "0.1",
                "--no-startup-delay",
                "--worker-id",
                "proxied",
                "--no-reload",
            ],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            first = _task_row()
            _wait_for(first, worker, tmp_path)
            assert proxy.cut(seconds=3) >= 1  # the worker's connection (and its heartbeat's) dropped
            second = _task_row()  # queued while the database is out of the worker's reach
            time.sleep(1)
            assert worker.poll() is None, "the worker exited when its connection was cut"
            _wait_for(second, worker, tmp_path)
            text = (tmp_path / "worker.log").read_text()
            assert "lost the database" in text and "database back" in text, text
        finally:
            worker.terminate()
            worker.wait(15)


def _wait_for(row: DBTaskResult, worker, tmp_path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row.refresh_from_db()
        if row.status == TaskResultStatus.SUCCESSFUL:
            return
        assert worker.poll() is None, (tmp_path / "worker.log").read_text()
        time.sleep(0.2)
    raise AssertionError(f"task {row.pk} not run: {row.status}\n{(tmp_path / 'worker.log').read_text()}")
