"""The schedule without cron (`manage.py run_schedule`, workers/scheduler.py): a job is due from its
hour, local time, each day or on the 1st; it runs once per period however often the schedule looks,
after a restart, and with two schedulers at once (PostgreSQL); a period missed while nothing ran
runs once at the next start; a failing job records and logs its error, the others still run, and
it is tried again later; an hourly job is due each hour (or every N) from local midnight, once per
slot; the registered jobs queue the chase run, the consultant reports and the remittance fetch
(its own tests: tests/remittances/test_fetch_schedule.py)."""

from __future__ import annotations

import datetime as dt
import importlib.util
import sys
import threading
import time
from io import StringIO
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.db import OperationalError, connection, connections
from django_tasks_db.models import DBTaskResult

from openpractice.env import ConfigurationError, env_int
from openpractice.workers import scheduler
from openpractice.workers.models import ScheduledJobRun, WorkerHeartbeat
from openpractice.workers.scheduler import DAILY, HOURLY, MONTHLY, Job, Slot

LONDON = ZoneInfo("Europe/London")
REPO = Path(__file__).resolve().parent.parent.parent


def at(year, month, day, hour=0, minute=0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=LONDON)


class Recorder:
    """A job's work: remembers each call; fails while `failing`."""

    def __init__(self, failing: bool = False):
        self.calls: list[dt.date] = []
        self.failing = failing

    def __call__(self, due_on: dt.date, now: dt.datetime) -> str:
        self.calls.append(due_on)
        if self.failing:
            raise ValueError("the mail server said no")
        return f"did {due_on}"


@pytest.fixture
def hours(settings):
    settings.CHASE_RUN_HOUR = 6
    settings.CONSULTANT_REPORTS_HOUR = 7
    settings.REMITTANCE_FETCH_EVERY_HOURS = 1


def daily(work, name="daily") -> Job:
    return Job(name, DAILY, "CHASE_RUN_HOUR", work)


def monthly(work, name="monthly") -> Job:
    return Job(name, MONTHLY, "CONSULTANT_REPORTS_HOUR", work)


def hourly(work, name="hourly") -> Job:
    return Job(name, HOURLY, "REMITTANCE_FETCH_EVERY_HOURS", work)


# -- when a job is due -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("now", "due_on"),
    [
        (at(2026, 3, 10, 5, 59), dt.date(2026, 3, 9)),  # before the hour: yesterday's period
        (at(2026, 3, 10, 6, 0), dt.date(2026, 3, 10)),
        (at(2026, 3, 10, 23, 59), dt.date(2026, 3, 10)),
        (at(2026, 3, 1, 0, 30), dt.date(2026, 2, 28)),
        # local time: 05:30 UTC in July is 06:30 in London
        (dt.datetime(2026, 7, 10, 5, 30, tzinfo=dt.UTC), dt.date(2026, 7, 10)),
    ],
)
def test_a_daily_job_is_due_from_its_hour_local_time(hours, now, due_on):
    assert daily(Recorder()).due_on(now) == due_on


@pytest.mark.parametrize(
    ("now", "due_on"),
    [
        (at(2026, 3, 1, 6, 59), dt.date(2026, 2, 1)),  # the 1st before the hour: last month's
        (at(2026, 3, 1, 7, 0), dt.date(2026, 3, 1)),
        (at(2026, 3, 2, 3, 0), dt.date(2026, 3, 1)),
        (at(2026, 3, 31, 23, 0), dt.date(2026, 3, 1)),
        (at(2026, 1, 1, 0, 0), dt.date(2025, 12, 1)),
    ],
)
def test_a_monthly_job_is_due_from_its_hour_on_the_first(hours, now, due_on):
    assert monthly(Recorder()).due_on(now) == due_on


@pytest.mark.parametrize(
    ("every", "now", "slot"),
    [
        (1, at(2026, 3, 10, 9, 0), Slot(dt.date(2026, 3, 10), 9)),
        (1, at(2026, 3, 10, 9, 59), Slot(dt.date(2026, 3, 10), 9)),
        (1, at(2026, 3, 10, 0, 0), Slot(dt.date(2026, 3, 10), 0)),
        (1, at(2026, 3, 9, 23, 59), Slot(dt.date(2026, 3, 9), 23)),
        (3, at(2026, 3, 10, 8, 59), Slot(dt.date(2026, 3, 10), 6)),
        (3, at(2026, 3, 10, 9, 0), Slot(dt.date(2026, 3, 10), 9)),
        (24, at(2026, 3, 10, 23, 0), Slot(dt.date(2026, 3, 10), 0)),
        # local time: 08:30 UTC in July is 09:30 in London
        (1, dt.datetime(2026, 7, 10, 8, 30, tzinfo=dt.UTC), Slot(dt.date(2026, 7, 10), 9)),
    ],
)
def test_an_hourly_job_is_due_from_each_hour_or_every_n_from_midnight(settings, every, now, slot):
    settings.REMITTANCE_FETCH_EVERY_HOURS = every
    assert hourly(Recorder()).slot(now) == slot


def test_a_slot_says_its_hour_only_for_an_hourly_job(settings):
    settings.REMITTANCE_FETCH_EVERY_HOURS = 1
    assert str(hourly(Recorder()).slot(at(2026, 3, 10, 0, 30))) == "2026-03-10 00:00"
    assert str(Slot(dt.date(2026, 3, 10))) == "2026-03-10"
    assert hourly(Recorder()).when() == "hourly"
    settings.REMITTANCE_FETCH_EVERY_HOURS = 6
    assert hourly(Recorder()).when() == "every 6 hours from 00:00"


@pytest.mark.parametrize(("value", "hours"), [("", 1), ("1", 1), ("6", 6), (" 24 ", 24)])
def test_the_fetch_interval_is_a_divisor_of_the_day(monkeypatch, value, hours):
    from openpractice.env import env_choice

    monkeypatch.setenv("REMITTANCE_FETCH_EVERY_HOURS", value)
    assert int(env_choice("REMITTANCE_FETCH_EVERY_HOURS", "1", ("1", "2", "3", "4", "6", "8", "12", "24"))) == hours


@pytest.mark.parametrize("value", ["5", "0", "48", "half", "-1"])
def test_a_fetch_interval_that_does_not_divide_the_day_stops_start_up_naming_the_setting(value):
    """settings.py as it starts: the message names the setting and the hours that would do."""
    import subprocess

    result = subprocess.run(
        [sys.executable, "-c", "import openpractice.settings"],
        cwd=REPO,
        env={"PATH": "/usr/bin:/bin", "REMITTANCE_FETCH_EVERY_HOURS": value, "DJANGO_DEBUG": "1"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert f"REMITTANCE_FETCH_EVERY_HOURS='{value}' is not one of 1, 2, 3, 4, 6, 8, 12, 24." in result.stderr


def test_the_hour_is_read_from_the_settings_when_asked(settings):
    job = daily(Recorder())
    settings.CHASE_RUN_HOUR = 22
    assert job.due_on(at(2026, 3, 10, 21)) == dt.date(2026, 3, 9)
    assert job.when() == "daily from 22:00"


def test_an_hour_outside_the_day_stops_start_up_naming_the_setting(monkeypatch):
    monkeypatch.setenv("CHASE_RUN_HOUR", "24")
    with pytest.raises(ConfigurationError, match="CHASE_RUN_HOUR=24 must be at most 23"):
        env_int("CHASE_RUN_HOUR", 6, minimum=0, maximum=23)
    monkeypatch.setenv("CHASE_RUN_HOUR", "7")
    assert env_int("CHASE_RUN_HOUR", 6, minimum=0, maximum=23) == 7


# -- once per period ---------------------------------------------------------------------------
@pytest.mark.django_db
def test_a_daily_job_runs_once_a_day_however_often_the_schedule_looks(hours):
    work = Recorder()
    job = daily(work)
    assert scheduler.run_due(now=at(2026, 3, 10, 5, 0), jobs=[job])[0].due_on == dt.date(2026, 3, 9)
    assert scheduler.run_due(now=at(2026, 3, 10, 5, 59), jobs=[job]) == []
    for minute in range(0, 60, 10):
        scheduler.run_due(now=at(2026, 3, 10, 6, minute), jobs=[job])
    scheduler.run_due(now=at(2026, 3, 10, 23, 0), jobs=[job])
    scheduler.run_due(now=at(2026, 3, 11, 6, 1), jobs=[job])
    assert work.calls == [dt.date(2026, 3, 9), dt.date(2026, 3, 10), dt.date(2026, 3, 11)]
    row = ScheduledJobRun.objects.get(job="daily", due_on=dt.date(2026, 3, 10))
    assert row.outcome == "did 2026-03-10" and row.error == "" and row.attempts == 1
    assert row.started_at == at(2026, 3, 10, 6, 0) and row.finished_at >= row.started_at


@pytest.mark.django_db
def test_a_monthly_job_runs_once_a_month(hours):
    work = Recorder()
    job = monthly(work)
    for now in (at(2026, 3, 1, 7, 0), at(2026, 3, 1, 7, 1), at(2026, 3, 15), at(2026, 3, 31, 23), at(2026, 4, 1, 6)):
        scheduler.run_due(now=now, jobs=[job])
    assert work.calls == [dt.date(2026, 3, 1)]
    scheduler.run_due(now=at(2026, 4, 1, 7), jobs=[job])
    assert work.calls == [dt.date(2026, 3, 1), dt.date(2026, 4, 1)]


@pytest.mark.django_db
def test_a_missed_period_runs_once_when_the_schedule_next_starts(hours):
    """Off from the 10th to the 14th: on the 14th at 10:00 the day's run happens once, not once per
    missed day; the monthly job missed over the 1st runs once on the 5th."""
    work_daily, work_monthly = Recorder(), Recorder()
    jobs = [daily(work_daily), monthly(work_monthly)]
    scheduler.run_due(now=at(2026, 2, 10, 9), jobs=jobs)
    scheduler.run_due(now=at(2026, 2, 14, 10), jobs=jobs)
    scheduler.run_due(now=at(2026, 2, 14, 10, 1), jobs=jobs)
    assert work_daily.calls == [dt.date(2026, 2, 10), dt.date(2026, 2, 14)]
    assert work_monthly.calls == [dt.date(2026, 2, 1)]
    scheduler.run_due(now=at(2026, 3, 5, 12), jobs=jobs)  # off over the 1st
    scheduler.run_due(now=at(2026, 3, 5, 12, 1), jobs=jobs)
    assert work_monthly.calls == [dt.date(2026, 2, 1), dt.date(2026, 3, 1)]


@pytest.mark.django_db
def test_a_start_before_the_hour_catches_up_yesterday_and_runs_today_at_the_hour(hours):
    work = Recorder()
    job = daily(work)
    scheduler.run_due(now=at(2026, 2, 10, 9), jobs=[job])
    scheduler.run_due(now=at(2026, 2, 13, 5), jobs=[job])  # off on the 11th and 12th
    scheduler.run_due(now=at(2026, 2, 13, 5, 30), jobs=[job])
    scheduler.run_due(now=at(2026, 2, 13, 6), jobs=[job])
    assert work.calls == [dt.date(2026, 2, 10), dt.date(2026, 2, 12), dt.date(2026, 2, 13)]


@pytest.mark.django_db
def test_a_restart_finds_the_period_done(hours):
    """What a new process knows is the database: the same call from a fresh scheduler runs nothing."""
    first, second = Recorder(), Recorder()
    scheduler.run_due(now=at(2026, 3, 10, 8), jobs=[daily(first)])
    assert scheduler.run_due(now=at(2026, 3, 10, 8, 5), jobs=[daily(second)]) == []
    assert first.calls == [dt.date(2026, 3, 10)] and second.calls == []


@pytest.mark.django_db
def test_a_crash_in_the_middle_leaves_the_period_due(hours):
    """The database went away while the job queued its work: nothing was recorded, so the loop's
    wait for the database is followed by the run, once."""

    def lost(due_on, now):
        WorkerHeartbeat.objects.create(worker_id="half-done", started_at=now, seen_at=now)
        raise OperationalError("server closed the connection unexpectedly")

    with pytest.raises(OperationalError):
        scheduler.run_due(now=at(2026, 3, 10, 8), jobs=[daily(lost)])
    assert not ScheduledJobRun.objects.exists() and not WorkerHeartbeat.objects.exists()
    work = Recorder()
    scheduler.run_due(now=at(2026, 3, 10, 8, 1), jobs=[daily(work)])
    assert work.calls == [dt.date(2026, 3, 10)]


@pytest.mark.django_db
def test_an_hourly_job_runs_once_an_hour_however_often_the_schedule_looks(hours):
    work = Recorder()
    job = hourly(work)
    for minute in range(0, 60, 5):
        scheduler.run_due(now=at(2026, 3, 10, 9, minute), jobs=[job])
    assert len(work.calls) == 1
    [outcome] = scheduler.run_due(now=at(2026, 3, 10, 10, 0), jobs=[job])
    assert outcome.ran and outcome.slot == Slot(dt.date(2026, 3, 10), 10)
    assert scheduler.run_due(now=at(2026, 3, 10, 10, 59), jobs=[job]) == []
    scheduler.run_due(now=at(2026, 3, 11, 0, 1), jobs=[job])  # midnight begins the next day's first
    assert work.calls == [dt.date(2026, 3, 10)] * 2 + [dt.date(2026, 3, 11)]
    rows = ScheduledJobRun.objects.filter(job="hourly").order_by("due_on", "hour")
    assert [(row.due_on, row.hour) for row in rows] == [
        (dt.date(2026, 3, 10), 9),
        (dt.date(2026, 3, 10), 10),
        (dt.date(2026, 3, 11), 0),
    ]


@pytest.mark.django_db
def test_every_n_hours_runs_once_per_n_hours(hours, settings):
    settings.REMITTANCE_FETCH_EVERY_HOURS = 4
    work = Recorder()
    job = hourly(work)
    for hour in range(0, 24):
        for minute in (0, 30):
            scheduler.run_due(now=at(2026, 3, 10, hour, minute), jobs=[job])
    assert len(work.calls) == 6
    assert sorted(ScheduledJobRun.objects.values_list("hour", flat=True)) == [0, 4, 8, 12, 16, 20]


@pytest.mark.django_db
def test_missed_hours_run_once_when_the_schedule_next_starts(hours):
    """Off from 09:00 to 14:20: one run at 14:20 for the 14:00 slot, not one per missed hour."""
    work = Recorder()
    job = hourly(work)
    scheduler.run_due(now=at(2026, 3, 10, 8, 30), jobs=[job])
    [outcome] = scheduler.run_due(now=at(2026, 3, 10, 14, 20), jobs=[job])
    assert str(outcome.slot) == "2026-03-10 14:00"
    scheduler.run_due(now=at(2026, 3, 10, 14, 21), jobs=[job])
    assert len(work.calls) == 2
    assert ScheduledJobRun.objects.filter(job="hourly").count() == 2


@pytest.mark.django_db
def test_the_hour_that_comes_twice_when_the_clocks_go_back_is_one_slot(hours):
    """25 October 2026: 01:00-01:59 London is first BST (00:00 UTC), then GMT (01:00 UTC)."""
    work = Recorder()
    job = hourly(work)
    for utc_hour in (0, 1, 2):
        scheduler.run_due(now=dt.datetime(2026, 10, 25, utc_hour, 10, tzinfo=dt.UTC), jobs=[job])
    rows = ScheduledJobRun.objects.filter(job="hourly").order_by("hour")
    assert [row.hour for row in rows] == [1, 2] and len(work.calls) == 2


@pytest.mark.django_db
def test_an_hourly_and_a_daily_job_of_the_same_day_do_not_share_a_row(hours):
    daily_work, hourly_work = Recorder(), Recorder()
    jobs = [daily(daily_work, name="both"), hourly(hourly_work, name="hourly")]
    scheduler.run_due(now=at(2026, 3, 10, 0, 10), jobs=jobs)
    assert len(daily_work.calls) == 1 and len(hourly_work.calls) == 1


@pytest.mark.django_db
def test_a_failed_hourly_slot_is_tried_again_and_the_next_hour_afresh(hours):
    work = Recorder(failing=True)
    job = hourly(work)
    start = at(2026, 3, 10, 9, 0)
    scheduler.run_due(now=start, jobs=[job])
    scheduler.run_due(now=start + dt.timedelta(minutes=5), jobs=[job])  # too soon
    scheduler.run_due(now=start + scheduler.RETRY_AFTER + dt.timedelta(seconds=1), jobs=[job])
    row = ScheduledJobRun.objects.get(job="hourly", hour=9)
    assert len(work.calls) == 2 and row.attempts == 2
    work.failing = False
    [outcome] = scheduler.run_due(now=at(2026, 3, 10, 10, 0), jobs=[job])
    assert outcome.ran and str(outcome.slot) == "2026-03-10 10:00"
    assert ScheduledJobRun.objects.get(job="hourly", hour=10).attempts == 1


# -- failures ----------------------------------------------------------------------------------
@pytest.mark.django_db
def test_a_failing_job_records_its_error_and_the_other_still_runs(hours, caplog):
    def half_then_fail(due_on, now):
        WorkerHeartbeat.objects.create(worker_id="half-done", started_at=now, seen_at=now)
        raise ValueError("the mail server said no")

    good = Recorder()
    outcomes = scheduler.run_due(now=at(2026, 3, 1, 8), jobs=[daily(half_then_fail), monthly(good)])
    assert [(o.job, o.ran, o.error) for o in outcomes] == [
        ("daily", False, "ValueError: the mail server said no"),
        ("monthly", True, ""),
    ]
    assert good.calls == [dt.date(2026, 3, 1)]
    failed = ScheduledJobRun.objects.get(job="daily")
    assert failed.error == "ValueError: the mail server said no" and failed.finished_at is not None
    assert not WorkerHeartbeat.objects.exists()  # what the failed job did was rolled back
    assert "Scheduled job daily for 2026-03-01 failed (attempt 1 of 5)" in caplog.text


@pytest.mark.django_db
def test_a_failed_job_is_tried_again_later_a_few_times(hours):
    work = Recorder(failing=True)
    job = daily(work)
    start = at(2026, 3, 10, 8)
    scheduler.run_due(now=start, jobs=[job])
    scheduler.run_due(now=start + dt.timedelta(minutes=10), jobs=[job])  # too soon
    assert len(work.calls) == 1
    for n in range(1, 10):
        scheduler.run_due(now=start + n * scheduler.RETRY_AFTER + dt.timedelta(seconds=1), jobs=[job])
    assert len(work.calls) == scheduler.MAX_ATTEMPTS
    row = ScheduledJobRun.objects.get(job="daily")
    assert row.attempts == scheduler.MAX_ATTEMPTS and row.error
    scheduler.run_due(now=at(2026, 3, 11, 8), jobs=[job])  # a new day is tried afresh
    assert len(work.calls) == scheduler.MAX_ATTEMPTS + 1


@pytest.mark.django_db
def test_a_retry_that_works_clears_the_error(hours):
    work = Recorder(failing=True)
    job = daily(work)
    scheduler.run_due(now=at(2026, 3, 10, 8), jobs=[job])
    work.failing = False
    [outcome] = scheduler.run_due(now=at(2026, 3, 10, 9), jobs=[job])
    assert outcome.ran and outcome.outcome == "did 2026-03-10"
    row = ScheduledJobRun.objects.get(job="daily")
    assert row.error == "" and row.attempts == 2 and row.outcome == "did 2026-03-10"
    assert scheduler.run_due(now=at(2026, 3, 10, 10), jobs=[job]) == []


# -- two schedulers at once ----------------------------------------------------------------------
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent writers need PostgreSQL")
def test_two_schedulers_at_the_same_moment_run_the_job_once(hours):
    """Each on its own connection, both past the "done already?" read (run_job is what run_due
    calls for a period it found not done); the job holds its transaction a while, so the second's
    insert waits on the first's row and then finds it taken."""
    calls: list[str] = []

    def slow(due_on, now):
        calls.append(threading.current_thread().name)
        time.sleep(0.5)
        return "done"

    job = daily(slow)
    barrier = threading.Barrier(2)
    outcomes: list = []
    errors: list[BaseException] = []

    def schedule():
        try:
            barrier.wait(10)
            outcomes.append(scheduler.run_job(job, due_on=dt.date(2026, 3, 10), now=at(2026, 3, 10, 8)))
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=schedule, name=f"scheduler-{n}") for n in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors
    assert len(calls) == 1
    assert sorted(o.ran for o in outcomes) == [False, True]
    assert ScheduledJobRun.objects.filter(job="daily").count() == 1


# -- the registered jobs and the command ----------------------------------------------------------
def test_the_apps_register_the_chase_run_the_consultant_reports_and_the_remittance_fetch():
    assert {"fetch_remittances", "chase_run", "consultant_reports"} <= set(scheduler.JOBS)
    assert scheduler.JOBS["fetch_remittances"].every == HOURLY
    assert scheduler.JOBS["chase_run"].every == DAILY
    assert scheduler.JOBS["chase_run"].hour_setting == "CHASE_RUN_HOUR"
    assert scheduler.JOBS["consultant_reports"].every == MONTHLY
    assert scheduler.JOBS["consultant_reports"].hour_setting == "CONSULTANT_REPORTS_HOUR"


@pytest.mark.django_db
def test_the_registered_jobs_queue_the_chase_run_and_last_months_reports(hours):
    outcomes = scheduler.run_due(now=at(2026, 3, 5, 5))  # before 06:00: yesterday's chase period
    assert {(o.job, str(o.slot), o.outcome) for o in outcomes} == {
        ("chase_run", "2026-03-04", "queued the chase run of 5 March 2026"),
        ("consultant_reports", "2026-03-01", "queued the February 2026 consultant reports"),
        ("fetch_remittances", "2026-03-05 05:00", "queued the remittance fetch of 0 practices"),
    }
    queued = {row.task_path: row.args_kwargs["args"] for row in DBTaskResult.objects.all()}
    assert queued == {
        "openpractice.receivables.tasks.chase_all": ["2026-03-05"],  # the run of the day it runs
        "openpractice.reports.consultant_tasks.send_all_consultant_reports": ["2026-02-01"],
    }


@pytest.mark.django_db
def test_the_command_runs_what_is_due_once(hours):
    out = StringIO()
    call_command("run_schedule", "--once", stdout=out)
    text = out.getvalue()
    assert "chase_run for " in text and "queued the chase run of" in text
    assert "consultant_reports for " in text and "consultant reports" in text
    assert DBTaskResult.objects.count() == 2
    out = StringIO()
    call_command("run_schedule", stdout=out)  # once is the default
    assert out.getvalue().strip() == "Nothing due."
    assert DBTaskResult.objects.count() == 2
    out = StringIO()
    call_command("run_schedule", "--list", stdout=out)
    assert "chase_run: daily from 06:00" in out.getvalue()
    assert "consultant_reports: monthly from 07:00 on the 1st" in out.getvalue()
    assert "fetch_remittances: hourly; due now for " in out.getvalue()
    assert "last for " in out.getvalue()


@pytest.mark.django_db
def test_a_failing_job_makes_the_command_say_so_and_the_other_still_runs(hours, monkeypatch):
    broken = Job("chase_run", DAILY, "CHASE_RUN_HOUR", Recorder(failing=True))
    monkeypatch.setitem(scheduler.JOBS, "chase_run", broken)
    out, err = StringIO(), StringIO()
    call_command("run_schedule", "--once", stdout=out, stderr=err)
    assert "chase_run for " in err.getvalue() and "failed (ValueError: the mail server said no)" in err.getvalue()
    assert "consultant_reports for " in out.getvalue()


def test_make_run_starts_the_schedule_beside_the_healthcode_sync():
    spec = importlib.util.spec_from_file_location("openpractice_run_script_schedule", REPO / "scripts" / "run.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    commands = {child.name: child.command[1:] for child in module.children()}
    assert commands["schedule"] == ["manage.py", "run_schedule", "--loop", "60"]
    assert commands["healthcode-sync"] == ["manage.py", "sync_healthcode", "--loop", "60"]


def test_the_loop_looks_again_each_round_and_waits_through_a_lost_database(hours, monkeypatch):
    """`--loop`: run_due each round, a pause between; a lost database is waited out (keep_going), not
    the end of the schedule. (No database here: run_due stands in.)"""
    answers = [OperationalError("server closed the connection unexpectedly"), [], []]
    rounds: list[int] = []

    def run_due():
        rounds.append(1)
        answer = answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return answer

    def sleep(seconds):
        if not answers:
            raise KeyboardInterrupt  # stop the test's loop
        assert seconds <= 60

    monkeypatch.setattr(scheduler, "run_due", run_due)
    monkeypatch.setattr(time, "sleep", sleep)
    out = StringIO()
    with pytest.raises(KeyboardInterrupt):
        call_command("run_schedule", "--loop", "60", stdout=out)
    assert len(rounds) == 3
    assert out.getvalue().startswith(
        "Schedule: fetch_remittances hourly; chase_run daily from 06:00; consultant_reports monthly"
    )
