"""openpractice.db.bulk and .arrays on whichever database the run uses (SQLite, or PostgreSQL with
DATABASE_URL): what is written is what is read back, through the ORM."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openpractice.db import arrays, bulk, sql
from openpractice.workers.models import WorkerHeartbeat

pytestmark = pytest.mark.django_db

TABLE = WorkerHeartbeat._meta.db_table
COLUMNS = ("worker_id", "hostname", "pid", "started_at", "seen_at")
WHEN = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
TRICKY = [
    'say "hi"',
    "back\\slash",
    "a,b",
    "{braces}",
    "NULL",
    "tab\there",
    "new\nline",
    "  spaced ",
    "O'Brien",
    "",
    "café ✓",
]


def heartbeat_rows(count: int, *, start: int = 0, ids: list[int] | None = None) -> list[tuple]:
    when = sql.datetime_value(WHEN)
    rows = [(f"w{n}", f"host {n}", n, when, when) for n in range(start, start + count)]
    return [(pk, *row) for pk, row in zip(ids, rows)] if ids else rows


def stored() -> dict[str, tuple]:
    return {
        w: tuple(rest) for w, *rest in WorkerHeartbeat.objects.values_list("worker_id", "hostname", "pid", "seen_at")
    }


def test_insert_rows_writes_every_row_as_given():
    bulk.insert_rows(TABLE, COLUMNS, heartbeat_rows(3))
    bulk.insert_rows(TABLE, COLUMNS, [])  # nothing to write: no statement
    assert stored() == {f"w{n}": (f"host {n}", n, WHEN) for n in range(3)}


def test_insert_rows_keeps_text_exactly():
    when = sql.datetime_value(WHEN)
    bulk.insert_rows(TABLE, COLUMNS, [(f"w{n}", text, n, when, when) for n, text in enumerate(TRICKY)])
    assert [stored()[f"w{n}"][0] for n in range(len(TRICKY))] == TRICKY


def test_update_rows_sets_each_row_and_the_constant_columns():
    bulk.insert_rows(TABLE, COLUMNS, heartbeat_rows(5))
    ids = dict(WorkerHeartbeat.objects.values_list("worker_id", "pk"))
    later = WHEN + timedelta(hours=2)
    bulk.update_rows(
        TABLE,
        (("hostname", "text"), ("pid", "integer")),
        [(f"moved {n}", 100 + n, ids[f"w{n}"]) for n in (1, 3)],
        constant={"seen_at": sql.datetime_value(later)},
    )
    bulk.update_rows(TABLE, (("hostname", "text"),), [])  # nothing to update
    assert stored() == {
        "w0": ("host 0", 0, WHEN),
        "w1": ("moved 1", 101, later),
        "w2": ("host 2", 2, WHEN),
        "w3": ("moved 3", 103, later),
        "w4": ("host 4", 4, WHEN),
    }


def test_update_rows_across_chunks(monkeypatch):
    monkeypatch.setattr(arrays, "ANYOF_CHUNK", 3)  # PostgreSQL: one statement per 3 rows
    bulk.insert_rows(TABLE, COLUMNS, heartbeat_rows(10))
    ids = dict(WorkerHeartbeat.objects.values_list("worker_id", "pk"))
    bulk.update_rows(TABLE, (("pid", "integer"),), [(100 + n, ids[f"w{n}"]) for n in range(10)])
    assert sorted(WorkerHeartbeat.objects.values_list("pid", flat=True)) == list(range(100, 110))


@pytest.fixture
def ten_workers(db):
    bulk.insert_rows(TABLE, COLUMNS, heartbeat_rows(10))
    return list(WorkerHeartbeat.objects.order_by("pk").values_list("pk", flat=True))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    changes=st.dictionaries(
        st.integers(min_value=0, max_value=9),
        st.tuples(
            st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\x00"), max_size=30),
            st.integers(min_value=0, max_value=2**31 - 1),
        ),
    )
)
def test_update_rows_then_read_back_equals_the_input(ten_workers, changes):
    """For any rows (any text but NUL, which PostgreSQL cannot store; any int), what update_rows
    wrote is what the ORM reads; rows not named keep what they had."""
    before = dict(WorkerHeartbeat.objects.values_list("pk", "hostname"))
    rows = [(text, pid, ten_workers[n]) for n, (text, pid) in changes.items()]
    bulk.update_rows(TABLE, (("hostname", "text"), ("pid", "integer")), rows)
    after = {pk: (hostname, pid) for pk, hostname, pid in WorkerHeartbeat.objects.values_list("pk", "hostname", "pid")}
    for n, pk in enumerate(ten_workers):
        if n in changes:
            assert after[pk] == changes[n]
        else:
            assert after[pk][0] == before[pk]


def test_update_fields_saves_the_named_fields_through_their_own_preparation():
    bulk.insert_rows(TABLE, COLUMNS, heartbeat_rows(3))
    workers = list(WorkerHeartbeat.objects.order_by("worker_id"))
    later = WHEN + timedelta(days=1, seconds=7)
    for worker in workers[:2]:
        worker.seen_at = later  # an aware datetime: SQLite stores it as text, PostgreSQL as timestamptz
        worker.hostname = "changed"
        worker.pid = 99  # not saved: not named
    bulk.update_fields(workers[:2], ["seen_at", "hostname"])
    bulk.update_fields([], ["seen_at"])
    assert stored() == {"w0": ("changed", 0, later), "w1": ("changed", 1, later), "w2": ("host 2", 2, WHEN)}


def test_anyof_matches_more_than_a_thousand_values_in_one_parameter():
    bulk.insert_rows(TABLE, COLUMNS, heartbeat_rows(1500))
    ids = list(WorkerHeartbeat.objects.values_list("pk", flat=True))
    wanted = ids[::2] + [10**12]  # 750 of them and one that is not there
    queryset = WorkerHeartbeat.objects.filter(pk__anyof=wanted)
    assert queryset.count() == 750
    _, params = queryset.query.sql_with_params()
    assert len(params) == 1  # the whole list is one parameter (Django's __in would bind 751)
    names = [f"w{n}" for n in range(0, 1500, 3)] + ["nobody"]
    assert WorkerHeartbeat.objects.filter(worker_id__anyof=arrays.Values(names)).count() == 500
    found = 0
    for chunk in bulk.chunks(names, 170):
        assert len(chunk) <= 170
        found += WorkerHeartbeat.objects.filter(worker_id__anyof=chunk).count()
    assert found == 500


def test_anyof_with_no_values_or_only_none_matches_nothing():
    bulk.insert_rows(TABLE, COLUMNS, heartbeat_rows(2))
    assert not WorkerHeartbeat.objects.filter(pk__anyof=[]).exists()
    assert not WorkerHeartbeat.objects.filter(worker_id__anyof=[None]).exists()
    assert set(WorkerHeartbeat.objects.filter(worker_id__anyof=["w1", None]).values_list("worker_id", flat=True)) == {
        "w1"
    }


def test_anyof_keeps_text_exactly():
    when = sql.datetime_value(WHEN)
    bulk.insert_rows(TABLE, COLUMNS, [(text or "empty", text, n, when, when) for n, text in enumerate(TRICKY)])
    found = set(WorkerHeartbeat.objects.filter(hostname__anyof=TRICKY).values_list("hostname", flat=True))
    assert found == set(TRICKY)


def test_chunks_cover_every_value_once_in_order():
    values = list(range(45))
    parts = list(bulk.chunks(values, 10))
    assert [len(p) for p in parts] == [10, 10, 10, 10, 5]
    assert [v for p in parts for v in p] == values
    assert list(bulk.chunks([], 10)) == []


def test_array_literal_quotes_text_and_leaves_numbers():
    assert arrays.array_literal([1, 2, 3]) == "{1,2,3}"
    assert arrays.array_literal(['a"b', "c\\d", None]) == '{"a\\"b","c\\\\d",NULL}'


@pytest.mark.skipif("sql.vendor() != 'postgresql'")
def test_reserve_ids_gives_the_ids_the_rows_are_then_written_with():
    ids = bulk.reserve_ids(WorkerHeartbeat, 4)
    assert len(ids) == len(set(ids)) == 4 and ids == sorted(ids)
    bulk.insert_rows(TABLE, ("id", *COLUMNS), heartbeat_rows(4, ids=ids))
    assert sorted(WorkerHeartbeat.objects.values_list("pk", flat=True)) == ids
    later = WorkerHeartbeat.objects.create(worker_id="after", started_at=WHEN, seen_at=WHEN)
    assert later.pk > max(ids)  # the sequence moved past them
    assert bulk.reserve_ids(WorkerHeartbeat, 0) is None


@pytest.mark.skipif("sql.vendor() == 'postgresql'")
def test_reserve_ids_is_none_on_sqlite():
    assert bulk.reserve_ids(WorkerHeartbeat, 4) is None


@pytest.mark.skipif("sql.vendor() != 'postgresql'")
def test_copy_lines_takes_text_formatted_by_copy_text():
    when = WHEN.isoformat()
    lines = "".join(f"w{n}\t{bulk.copy_text(text)}\t{n}\t{when}\t{when}\n" for n, text in enumerate(TRICKY))
    bulk.copy_lines(TABLE, COLUMNS, iter([lines[:1], lines[1:]]))  # chunks may split a line
    assert [stored()[f"w{n}"][0] for n in range(len(TRICKY))] == TRICKY


@pytest.mark.skipif("sql.vendor() != 'postgresql'")
def test_meanwhile_runs_statements_in_the_same_transaction():
    bulk.insert_rows(TABLE, COLUMNS, heartbeat_rows(3))
    ids = sorted(WorkerHeartbeat.objects.values_list("pk", flat=True))
    waiting = bulk.Meanwhile(bulk.update_statements(TABLE, (("pid", "integer"),), [(7, pk) for pk in ids]))
    waiting.wait()
    assert set(WorkerHeartbeat.objects.values_list("pid", flat=True)) == {7}


@pytest.mark.skipif("sql.vendor() != 'sqlite'")
def test_triggers_dropped_are_back_at_the_end_even_after_a_failure():
    sql.execute(
        f"CREATE TRIGGER db_test_trigger AFTER INSERT ON {TABLE} BEGIN "
        f"UPDATE {TABLE} SET pid = 42 WHERE id = new.id; END"
    )
    with bulk.triggers_dropped("db_test_trigger", "no_such_trigger"):
        bulk.insert_rows(TABLE, COLUMNS, heartbeat_rows(1))
    bulk.insert_rows(TABLE, COLUMNS, heartbeat_rows(1, start=1))
    assert dict(WorkerHeartbeat.objects.values_list("worker_id", "pid")) == {"w0": 0, "w1": 42}
    with pytest.raises(RuntimeError), transaction.atomic():
        with bulk.triggers_dropped("db_test_trigger"):
            raise RuntimeError("import failed")
    assert sql.fetch_one(
        "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name = %s", ["db_test_trigger"]
    ) == ("db_test_trigger",)
