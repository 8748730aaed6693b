"""The schedule for an installation without cron: `manage.py run_schedule --loop 60` runs, each
time round, every job that is due. `make run` starts it; on several machines run it once in all
(docs/deployment.md).

A job belongs to the app that owns its work, which registers it from its AppConfig.ready (this
module is at the bottom of the layers and knows none of them): the daily chase run (receivables),
the monthly consultant reports (reports), the hourly remittance fetch (remittances). A job's
`run(due_on, now)` should only queue tasks for the worker, quickly: it runs inside the transaction
that records it.

- **Due**: a daily job from its hour (a setting, local time) each day, a monthly job from its hour
  on the 1st, an hourly job every N hours (a setting, a divisor of 24) from local midnight: its
  periods (slots) begin at 00:00, N:00, 2N:00... The period a job is due for is the latest that has
  begun: before today's hour that is yesterday (or last month's 1st), so a job missed while the
  machine was off runs when the schedule next starts, once (the latest period only, never once per
  missed day or hour). The night the clocks go back, the hour that comes twice is one slot.
- **Once per period**: each run is a `ScheduledJobRun` row, unique on (job, due_on, hour), inserted
  in the same transaction as the job's work (it queues tasks in this database). A second scheduler
  waits on the first's insert and then finds the period taken; a crash rolls back both the row and
  the queued tasks, so the period is still due and runs once at the next start; a restart finds the
  row.
- **Failure**: a job that raises is rolled back to its savepoint; its error is recorded on the row
  and logged, and the other jobs run. It is tried again RETRY_AFTER later, at most MAX_ATTEMPTS
  times in a period. A lost database is not a job's failure: it goes up to the loop
  (`runtime.keep_going`), which waits for the database as the workers do.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import time
from collections.abc import Callable, Iterable
from typing import Literal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from openpractice.workers.models import ScheduledJobRun
from openpractice.workers.runtime import is_connection_error

logger = logging.getLogger("openpractice.schedule")

HOURLY, DAILY, MONTHLY = "hourly", "daily", "monthly"
RETRY_AFTER = dt.timedelta(minutes=15)
MAX_ATTEMPTS = 5


@dataclasses.dataclass(frozen=True)
class Slot:
    """A period a job is due for: its first day and, for an hourly job, the local hour it begins
    (None for daily and monthly jobs; their rows hold 0)."""

    due_on: dt.date
    hour: int | None = None

    @property
    def key(self) -> tuple[dt.date, int]:
        """What the row is unique on, beside the job's name."""
        return (self.due_on, self.hour or 0)

    def __str__(self) -> str:
        return str(self.due_on) if self.hour is None else f"{self.due_on} {self.hour:02d}:00"


@dataclasses.dataclass(frozen=True)
class Job:
    name: str
    every: Literal["hourly", "daily", "monthly"]
    # Read when asked. Daily and monthly: the settings name of the hour (0-23, local time) from
    # which the job is due. Hourly: of the number of hours from one slot to the next (a divisor of 24).
    hour_setting: str
    # Queue the period's work; what it did, in a few words. `due_on` is the period's first day.
    run: Callable[[dt.date, dt.datetime], str]
    description: str = ""

    @property
    def hour(self) -> int:
        """The hour from which a daily or monthly job is due; an hourly job's hours between slots."""
        return int(getattr(settings, self.hour_setting))

    def slot(self, now: dt.datetime) -> Slot:
        """The latest period that has begun by `now` (see the module's words)."""
        local = timezone.localtime(now)
        if self.every == HOURLY:
            return Slot(local.date(), local.hour - local.hour % self.hour)
        return Slot(self.due_on(now))

    def due_on(self, now: dt.datetime) -> dt.date:
        """The first day of the latest period that has begun by `now` (see the module's words)."""
        local = timezone.localtime(now)
        if self.every == HOURLY:
            return local.date()
        started = local.hour >= self.hour
        if self.every == DAILY:
            return local.date() if started else local.date() - dt.timedelta(days=1)
        first = local.date().replace(day=1)
        if local.day > 1 or started:
            return first
        return (first - dt.timedelta(days=1)).replace(day=1)

    def slot_of(self, row: ScheduledJobRun) -> Slot:
        return Slot(row.due_on, row.hour if self.every == HOURLY else None)

    def when(self) -> str:
        if self.every == HOURLY:
            return "hourly" if self.hour == 1 else f"every {self.hour} hours from 00:00"
        if self.every == DAILY:
            return f"daily from {self.hour:02d}:00"
        return f"monthly from {self.hour:02d}:00 on the 1st"


JOBS: dict[str, Job] = {}


def register_job(job: Job) -> None:
    """Called from an app's AppConfig.ready; registering the same name again replaces it."""
    JOBS[job.name] = job


@dataclasses.dataclass(frozen=True)
class Outcome:
    job: str
    due_on: dt.date
    ran: bool  # False: taken by another scheduler meanwhile, or it failed (`error` says why)
    outcome: str = ""
    error: str = ""
    hour: int | None = None  # an hourly job's slot: the local hour it began

    @property
    def slot(self) -> Slot:
        return Slot(self.due_on, self.hour)


def run_due(*, now: dt.datetime | None = None, jobs: Iterable[Job] | None = None) -> list[Outcome]:
    """Run every job due at `now` whose period has not run (or failed and may be tried again);
    the outcome of each one that ran. One query when nothing is due."""
    now = now or timezone.now()
    chosen = list(JOBS.values() if jobs is None else jobs)
    periods = {job.name: job.slot(now) for job in chosen}
    done = {
        (row.job, (row.due_on, row.hour)): row
        for row in ScheduledJobRun.objects.filter(
            job__in=list(periods), due_on__in={slot.due_on for slot in periods.values()}
        )
    }
    outcomes = []
    for job in chosen:
        slot = periods[job.name]
        row = done.get((job.name, slot.key))
        if row is not None and not _may_retry(row, now):
            continue
        outcomes.append(run_job(job, due_on=slot.due_on, hour=slot.hour, now=now))
    return outcomes


def _may_retry(row: ScheduledJobRun, now: dt.datetime) -> bool:
    return (
        bool(row.error)
        and row.attempts < MAX_ATTEMPTS
        and row.finished_at is not None
        and (row.finished_at <= now - RETRY_AFTER)
    )


def run_job(job: Job, *, due_on: dt.date, now: dt.datetime, hour: int | None = None) -> Outcome:
    """Claim (job, due_on, hour) and run it in one transaction; see the module's words."""
    slot = Slot(due_on, hour)
    with transaction.atomic():
        claimed = _claim(job, slot=slot, now=now)
        if claimed is None:
            return Outcome(job.name, due_on, ran=False, hour=hour)
        error = said = ""
        began = time.monotonic()
        try:
            with transaction.atomic():
                said = job.run(due_on, now) or ""
        except Exception as exc:
            if is_connection_error(exc):
                raise  # the database went away: the loop waits for it; nothing was recorded
            error = f"{type(exc).__name__}: {exc}"
            logger.exception(
                "Scheduled job %s for %s failed (attempt %d of %d): %s",
                job.name,
                slot,
                claimed.attempts,
                MAX_ATTEMPTS,
                error,
            )
        ScheduledJobRun.objects.filter(pk=claimed.pk).update(
            # `now` and the time taken: the same clock as started_at, whatever `now` a test passes
            finished_at=now + dt.timedelta(seconds=time.monotonic() - began),
            outcome=said[:500],
            error=error,
        )
    if not error:
        logger.info("Scheduled job %s for %s: %s", job.name, slot, said or "done")
    return Outcome(job.name, due_on, ran=not error, outcome=said, error=error, hour=hour)


def _claim(job: Job, *, slot: Slot, now: dt.datetime) -> ScheduledJobRun | None:
    """The period's row, new or a failed one taken up again; None if it is done or taken."""
    try:
        with transaction.atomic():
            # A second scheduler's insert waits here until the first's transaction ends.
            return ScheduledJobRun.objects.create(job=job.name, due_on=slot.due_on, hour=slot.key[1], started_at=now)
    except IntegrityError:
        pass
    retry = ScheduledJobRun.objects.filter(
        job=job.name,
        due_on=slot.due_on,
        hour=slot.key[1],
        attempts__lt=MAX_ATTEMPTS,
        finished_at__lte=now - RETRY_AFTER,
    ).exclude(error="")
    # The update's conditions are checked again on the row as it is once another taker committed.
    if not retry.update(started_at=now, attempts=F("attempts") + 1):
        return None
    return ScheduledJobRun.objects.get(job=job.name, due_on=slot.due_on, hour=slot.key[1])


def last_runs(jobs: Iterable[Job] | None = None) -> dict[str, ScheduledJobRun | None]:
    """Each job's latest recorded run (for `run_schedule --list`; `Job.slot_of` names its slot)."""
    chosen = list(JOBS.values() if jobs is None else jobs)
    return {
        job.name: ScheduledJobRun.objects.filter(job=job.name).order_by("-due_on", "-hour").first() for job in chosen
    }
