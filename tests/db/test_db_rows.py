"""openpractice.db.rows, .sql and .reconnect: hand-read rows are the instances the ORM would
build, and openpractice.db sits at the bottom (it imports no openpractice app)."""

from __future__ import annotations

import ast
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.contrib.sessions.models import Session

from openpractice.accounts.sessions import SessionStore
from openpractice.db import reconnect, rows, sql
from openpractice.workers.models import WorkerHeartbeat

pytestmark = pytest.mark.django_db

WHEN = datetime(2026, 3, 1, 9, 30, 15, 250000, tzinfo=UTC)
TABLE = WorkerHeartbeat._meta.db_table


def test_first_reads_one_instance_per_model_as_the_orm_does():
    a = WorkerHeartbeat.objects.create(worker_id="a", hostname="alpha", pid=1, started_at=WHEN, seen_at=WHEN)
    b = WorkerHeartbeat.objects.create(worker_id="b", hostname="beta", pid=2, started_at=WHEN, seen_at=WHEN)
    found = rows.first(
        f"SELECT {rows.columns(WorkerHeartbeat, 'x')}, {rows.columns(WorkerHeartbeat, 'y')} "
        f"FROM {TABLE} x JOIN {TABLE} y ON y.pid = x.pid + 1 WHERE x.worker_id = %s",
        ["a"],
        WorkerHeartbeat,
        WorkerHeartbeat,
    )
    first, second = found
    for hand, orm in ((first, a), (second, b)):
        orm.refresh_from_db()
        assert {f.attname: getattr(hand, f.attname) for f in WorkerHeartbeat._meta.concrete_fields} == {
            f.attname: getattr(orm, f.attname) for f in WorkerHeartbeat._meta.concrete_fields
        }
        assert hand.seen_at == WHEN and hand.seen_at.tzinfo is not None  # converters ran (SQLite: text)
        assert hand._state.adding is False and hand._state.db == "default"
    assert (
        rows.first(f"SELECT {rows.columns(WorkerHeartbeat, 'x')} FROM {TABLE} x WHERE x.id = %s", [-1], WorkerHeartbeat)
        is None
    )


def test_a_session_is_read_by_hand_with_its_expiry_rule():
    store = SessionStore()
    store["hello"] = "world"
    store.create()
    assert SessionStore(store.session_key).load() == {"hello": "world"}
    Session.objects.filter(session_key=store.session_key).update(expire_date=datetime(2000, 1, 1, tzinfo=UTC))
    stale = SessionStore(store.session_key)
    assert stale.load() == {} and stale.session_key is None


def test_insert_row_writes_one_row():
    values = ["solo", "host", 3, sql.datetime_value(WHEN), sql.datetime_value(WHEN)]
    rows.insert_row(TABLE, ("worker_id", "hostname", "pid", "started_at", "seen_at"), values)
    rows.insert_row(TABLE, ("worker_id", "hostname", "pid", "started_at", "seen_at"), ["two", *values[1:]])
    assert list(WorkerHeartbeat.objects.order_by("worker_id").values_list("worker_id", "pid", "seen_at")) == [
        ("solo", 3, WHEN),
        ("two", 3, WHEN),
    ]


def test_sql_runs_statements_and_adapts_values():
    sql.execute(
        f"INSERT INTO {TABLE} (worker_id, hostname, pid, started_at, seen_at) VALUES (%s, %s, %s, %s, %s)",
        ["w", "h", 5, sql.datetime_value(WHEN), sql.datetime_value(WHEN)],
    )
    assert sql.fetch_one(f"SELECT worker_id, pid FROM {TABLE}") == ("w", 5)
    assert sql.fetch_all(f"SELECT pid FROM {TABLE} WHERE pid > %s", [9]) == []
    assert sql.vendor() in ("sqlite", "postgresql") and sql.is_postgresql() == (sql.vendor() == "postgresql")
    assert str(sql.date_value(WHEN.date())) == "2026-03-01"


def test_the_database_answers():
    assert reconnect.database_answers() is True


def test_db_imports_no_openpractice_app():
    """The bottom layer: Django, psycopg and the standard library only."""
    package = Path(rows.__file__).parent
    for path in package.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom) and not node.level
                else []
            )
            for name in names:
                top = name.split(".")[0]
                assert (
                    top in {"django", "psycopg", "__future__"}
                    or name.startswith("openpractice.db")
                    or top in sys.stdlib_module_names
                ), f"{path.name} imports {name}"


def test_every_reads_each_row_as_instances():
    for worker, pid in (("a", 1), ("b", 2)):
        WorkerHeartbeat.objects.create(worker_id=worker, hostname="h", pid=pid, started_at=WHEN, seen_at=WHEN)
    found = rows.every(
        f"SELECT {rows.columns(WorkerHeartbeat, 'x')} FROM {TABLE} x ORDER BY x.pid", [], WorkerHeartbeat
    )
    assert [(w.worker_id, w.pid, w.seen_at) for (w,) in found] == [("a", 1, WHEN), ("b", 2, WHEN)]
    assert (
        rows.every(f"SELECT {rows.columns(WorkerHeartbeat, 'x')} FROM {TABLE} x WHERE x.pid < 0", [], WorkerHeartbeat)
        == []
    )


@pytest.mark.django_db(transaction=True)
def test_insert_row_without_waiting_for_the_disk_commits_the_row_and_only_it():
    """Outside a transaction the row is committed in its own (asynchronously on PostgreSQL);
    inside one it is an ordinary INSERT and the caller's commit is left as it was."""
    from django.db import connection, transaction

    names = ("worker_id", "hostname", "pid", "started_at", "seen_at")
    at = sql.datetime_value(WHEN)
    rows.insert_row(TABLE, names, ["quick", "h", 7, at, at], wait_for_disk=False)
    assert WorkerHeartbeat.objects.filter(worker_id="quick").exists()
    assert not connection.in_atomic_block
    with transaction.atomic():
        rows.insert_row(TABLE, names, ["inner", "h", 8, at, at], wait_for_disk=False)
        if connection.vendor == "postgresql":
            assert sql.fetch_one("SHOW synchronous_commit")[0] == "on"
        transaction.set_rollback(True)
    assert not WorkerHeartbeat.objects.filter(worker_id="inner").exists()
    if connection.vendor == "postgresql":
        assert sql.fetch_one("SHOW synchronous_commit")[0] == "on"  # SET LOCAL ended with its transaction


def test_only_reads_the_fields_named_and_defers_the_rest(django_assert_num_queries):
    made = WorkerHeartbeat.objects.create(worker_id="a", hostname="alpha", pid=7, started_at=WHEN, seen_at=WHEN)
    some = rows.Only(WorkerHeartbeat, ("pid", "id", "worker_id"))  # any order: the model's is used
    assert [c.strip().split(".")[1].strip('"`') for c in rows.columns(some, "x").split(",")] == [
        "id",
        "worker_id",
        "pid",
    ]
    ((found,),) = rows.every(f"SELECT {rows.columns(some, 'x')} FROM {TABLE} x", [], some)
    assert (found.pk, found.worker_id, found.pid) == (made.pk, "a", 7)
    assert found.get_deferred_fields() == {f.attname for f in WorkerHeartbeat._meta.concrete_fields} - set(some.names)
    with django_assert_num_queries(1):  # a deferred field is read when touched
        assert found.hostname == "alpha"


def test_values_converts_each_column_as_its_field_and_leaves_the_rest():
    WorkerHeartbeat.objects.create(worker_id="a", hostname="alpha", pid=1, started_at=WHEN, seen_at=WHEN)
    later = WHEN.replace(hour=11)
    WorkerHeartbeat.objects.create(worker_id="b", hostname="alpha", pid=2, started_at=WHEN, seen_at=later)
    seen_at = WorkerHeartbeat._meta.get_field("seen_at")
    found = rows.values(
        f"SELECT x.hostname, COUNT(*), MAX(x.seen_at) FROM {TABLE} x GROUP BY x.hostname", [], None, None, seen_at
    )
    assert found == [("alpha", 2, later)]  # MAX of a datetime column comes back a datetime (SQLite: text)
    assert rows.values(f"SELECT x.pid FROM {TABLE} x WHERE x.pid > %s", [5], None) == []
