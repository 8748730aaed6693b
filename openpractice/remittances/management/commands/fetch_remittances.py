"""Fetch pending remittances for every practice set up with Healthcode.

Run it on a schedule (cron or a systemd timer), e.g. hourly:
    0 * * * *  cd /srv/openpractice && .venv/bin/python manage.py fetch_remittances
It queues one task per practice for the worker (`manage.py db_worker`); --now runs them here."""

import time

from django.core.management.base import BaseCommand

from openpractice.healthcode.models import HealthcodeIntegration
from openpractice.practices.models import Practice
from openpractice.remittances.fetching import fetch_remittances
from openpractice.remittances.tasks import fetch_all_remittances


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
                fetch_all_remittances.enqueue()
                self.stdout.write("Queued the remittance fetch.")
            if not loop:
                return
            time.sleep(loop)
