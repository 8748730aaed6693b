"""Fetch pending remittances for every practice set up with Healthcode.

`manage.py run_schedule` (which `make run` starts) already does this every
REMITTANCE_FETCH_EVERY_HOURS hours. Where cron runs the schedule instead, e.g. hourly:
    0 * * * *  cd /srv/openpractice && .venv/bin/python manage.py fetch_remittances
It queues each practice's fetch as the schedule and the Fetch now button do (jobs.
queue_remittance_fetches: a FetchRun the remittances page follows, none for a practice still
fetching) for the worker (`manage.py run_worker`); --now fetches here instead."""

import time

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from openpractice.healthcode.models import HealthcodeIntegration
from openpractice.practices.models import Practice
from openpractice.remittances.fetching import fetch_remittances
from openpractice.remittances.jobs import queue_remittance_fetches


class Command(BaseCommand):
    help = "Fetch, store, post and acknowledge pending Healthcode remittances."

    def add_arguments(self, parser):
        parser.add_argument("--now", action="store_true", help="Fetch in this process instead of queueing tasks.")
        parser.add_argument("--loop", type=int, default=0, help="Repeat every N seconds (0: once).")

    def handle(self, *args, now, loop, **options):
        while True:
            if now:
                for practice in Practice.objects.filter(
                    pk__in=HealthcodeIntegration.objects.filter(last_test_ok=True).values("practice_id")
                ):
                    self.stdout.write(f"{practice.name}: {fetch_remittances(practice=practice).message}")
            else:
                with transaction.atomic():  # the tasks are queued when it commits
                    said = queue_remittance_fetches(timezone.localdate(), timezone.now())
                self.stdout.write(said[0].upper() + said[1:] + ".")
            if not loop:
                return
            time.sleep(loop)
