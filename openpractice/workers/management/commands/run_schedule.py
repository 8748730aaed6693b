"""Run the schedule's jobs that are due (workers/scheduler.py): the daily chase run from
CHASE_RUN_HOUR, the monthly consultant reports from CONSULTANT_REPORTS_HOUR on the 1st, the
remittance fetch every REMITTANCE_FETCH_EVERY_HOURS hours. Each job runs once per hour, day or month
however often this is run, and one missed while nothing ran runs (once) at the next start. The jobs
only queue tasks: a worker (`manage.py run_worker`) does the work.

`make run` starts it with --loop 60. On several machines run it once in all (or use cron with the
jobs' own commands, `chase_run`, `send_consultant_reports` and `fetch_remittances`;
docs/deployment.md)."""

import time

from django.core.management.base import BaseCommand
from django.utils import timezone

from openpractice.workers import scheduler
from openpractice.workers.runtime import keep_going


class Command(BaseCommand):
    help = (
        "Run the scheduled jobs that are due (the daily chase run, the monthly consultant reports, "
        "the hourly remittance fetch)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--loop", type=int, default=0, help="Look again every N seconds (0: once).")
        parser.add_argument("--once", action="store_true", help="Run what is due now and exit (the default).")
        parser.add_argument(
            "--list", action="store_true", dest="show_list", help="List the jobs, when each is due and its last run."
        )

    def handle(self, *args, loop, once, show_list, **options):
        if show_list:
            self._list()
            return
        if once:
            loop = 0

        def step() -> bool:
            outcomes = scheduler.run_due()  # each one that ran or failed is logged there too
            if not loop:
                for each in outcomes:
                    if each.error:
                        self.stderr.write(f"{each.job} for {each.slot}: failed ({each.error})")
                    elif each.ran:
                        self.stdout.write(f"{each.job} for {each.slot}: {each.outcome or 'done'}")
                if not outcomes:
                    self.stdout.write("Nothing due.")
                return False
            time.sleep(loop)
            return True

        if loop:  # a long-running schedule waits through a lost database, as the workers do
            self.stdout.write(
                "Schedule: " + "; ".join(f"{job.name} {job.when()}" for job in scheduler.JOBS.values()) + "."
            )
            keep_going(step, what="The schedule")
        else:
            step()

    def _list(self) -> None:
        now = timezone.now()
        last = scheduler.last_runs()
        for job in scheduler.JOBS.values():
            row = last[job.name]
            if row is None:
                seen = "never run"
            else:
                last_slot = job.slot_of(row)
                if row.error:
                    seen = f"last for {last_slot}: failed ({row.error}), attempt {row.attempts}"
                else:
                    seen = f"last for {last_slot}: {row.outcome or 'done'}"
            self.stdout.write(f"{job.name}: {job.when()}; due now for {job.slot(now)}; {seen}")
