"""The schedule's remittance fetch (remittances/jobs.py, run by `manage.py run_schedule` every
REMITTANCE_FETCH_EVERY_HOURS hours): a fetch queued for each practice whose Healthcode connection
passed its test, as the Fetch now button queues one, and none for a practice still fetching."""

from __future__ import annotations

import datetime as dt
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django_tasks_db.models import DBTaskResult

from openpractice.healthcode.models import HealthcodeIntegration
from openpractice.remittances.models import FetchRun, FetchRunStatus
from openpractice.workers import scheduler
from openpractice.workers.models import ScheduledJobRun
from openpractice.workers.scheduler import HOURLY

LONDON = ZoneInfo("Europe/London")
FETCH_TASK = "openpractice.remittances.tasks.fetch_practice_remittances"


def at(day, hour=0, minute=0) -> dt.datetime:
    return dt.datetime(2026, 3, day, hour, minute, tzinfo=LONDON)


def connect(practice, *, tested):
    HealthcodeIntegration.objects.create(
        practice=practice,
        discovery_url="https://sandbox.example.test/.well-known/discovery-document.json",
        site_id="ZZ001",
        api_key_id="key-id",
        last_test_ok=tested,
    )


@pytest.fixture
def three(make_practice):
    """Two practices whose connection passed its test, one whose test failed, one never set up."""
    tested_a, tested_b, failed = make_practice("Tested A"), make_practice("Tested B"), make_practice("Failed")
    make_practice("Not set up")
    connect(tested_a, tested=True)
    connect(tested_b, tested=True)
    connect(failed, tested=False)
    return tested_a, tested_b


def fetch_job() -> scheduler.Job:
    return scheduler.JOBS["fetch_remittances"]


def queued_practices() -> list[int]:
    return sorted(row.args_kwargs["args"][0] for row in DBTaskResult.objects.filter(task_path=FETCH_TASK))


def test_the_remittances_app_registers_an_hourly_fetch(settings):
    settings.REMITTANCE_FETCH_EVERY_HOURS = 1
    job = fetch_job()
    assert job.every == HOURLY and job.hour_setting == "REMITTANCE_FETCH_EVERY_HOURS"
    assert job.when() == "hourly"


@pytest.mark.django_db
def test_the_job_queues_a_fetch_for_each_tested_practice_only(three, django_capture_on_commit_callbacks):
    tested_a, tested_b = three
    with django_capture_on_commit_callbacks(execute=True):
        [outcome] = scheduler.run_due(now=at(10, 9, 5), jobs=[fetch_job()])
    assert outcome.ran and outcome.outcome == "queued the remittance fetch of 2 practices"
    assert str(outcome.slot) == "2026-03-10 09:00"
    assert queued_practices() == sorted([tested_a.pk, tested_b.pk])
    runs = FetchRun.objects.all()
    assert sorted(run.practice_id for run in runs) == sorted([tested_a.pk, tested_b.pk])
    assert all(run.status == FetchRunStatus.QUEUED and run.requested_by is None for run in runs)
    # each task carries its run, so the remittances page follows it as it does a button's fetch
    assert sorted(row.args_kwargs["args"][1] for row in DBTaskResult.objects.all()) == sorted(r.pk for r in runs)


@pytest.mark.django_db
def test_no_second_fetch_for_a_practice_whose_fetch_is_still_under_way(three, django_capture_on_commit_callbacks):
    tested_a, tested_b = three
    with django_capture_on_commit_callbacks(execute=True):
        scheduler.run_due(now=at(10, 9), jobs=[fetch_job()])
        # within the hour: not due again
        assert scheduler.run_due(now=at(10, 9, 59), jobs=[fetch_job()]) == []
    FetchRun.objects.filter(practice=tested_a).update(status=FetchRunStatus.RUNNING)  # A's is slow
    FetchRun.objects.filter(practice=tested_b).update(status=FetchRunStatus.DONE)
    with django_capture_on_commit_callbacks(execute=True):
        [outcome] = scheduler.run_due(now=at(10, 10), jobs=[fetch_job()])
    assert outcome.outcome == "queued the remittance fetch of 1 practice; 1 still fetching"
    assert FetchRun.objects.filter(practice=tested_a).count() == 1
    assert FetchRun.objects.filter(practice=tested_b).count() == 2
    assert queued_practices() == sorted([tested_a.pk, tested_b.pk, tested_b.pk])


@pytest.mark.django_db
def test_nothing_queued_when_the_schedules_transaction_is_rolled_back(three, django_capture_on_commit_callbacks):
    """The fetches are queued once the schedule's row is committed: a job that fails after asking
    leaves no run and no task behind."""

    def ask_then_fail(due_on, now):
        from openpractice.remittances.jobs import queue_remittance_fetches

        queue_remittance_fetches(due_on, now)
        raise ValueError("something after")

    job = scheduler.Job("fetch_remittances", HOURLY, "REMITTANCE_FETCH_EVERY_HOURS", ask_then_fail)
    with django_capture_on_commit_callbacks(execute=True):
        [outcome] = scheduler.run_due(now=at(10, 9), jobs=[job])
    assert outcome.error == "ValueError: something after"
    assert not FetchRun.objects.exists() and not DBTaskResult.objects.exists()


@pytest.mark.django_db
def test_the_command_lists_and_runs_the_fetch(three, settings, django_capture_on_commit_callbacks):
    settings.REMITTANCE_FETCH_EVERY_HOURS = 1
    with django_capture_on_commit_callbacks(execute=True):
        out = StringIO()
        call_command("run_schedule", "--once", stdout=out)
    assert "fetch_remittances for " in out.getvalue() and "queued the remittance fetch of 2 practices" in out.getvalue()
    assert FetchRun.objects.count() == 2
    out = StringIO()
    call_command("run_schedule", "--list", stdout=out)
    [line] = [line for line in out.getvalue().splitlines() if line.startswith("fetch_remittances:")]
    assert line.startswith("fetch_remittances: hourly; due now for ")
    assert "last for " in line and ":00: queued the remittance fetch of 2 practices" in line
    assert ScheduledJobRun.objects.filter(job="fetch_remittances").count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_cron_command_queues_the_same_fetches_as_the_schedule(three, settings):
    """`manage.py fetch_remittances` (cron, where run_schedule is not run): a FetchRun per tested
    practice the page follows, and none for a practice still fetching."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default", "healthcode"]}}
    tested_a, tested_b = three
    out = StringIO()
    call_command("fetch_remittances", stdout=out)
    assert "Queued the remittance fetch of 2 practices." in out.getvalue()
    assert sorted(FetchRun.objects.values_list("practice_id", flat=True)) == sorted([tested_a.pk, tested_b.pk])
    assert queued_practices() == sorted([tested_a.pk, tested_b.pk])
    out = StringIO()
    call_command("fetch_remittances", stdout=out)  # both still queued: no second fetch
    assert "of 0 practices; 2 still fetching" in out.getvalue()
    assert FetchRun.objects.count() == 2
