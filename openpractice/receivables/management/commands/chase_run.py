"""Decide what each open patient debt needs today: a chase run per practice, for a biller to
review and send (Collections > Chase runs). Nothing is sent by this command.

Run it daily (cron or a systemd timer), e.g.:
    0 6 * * *  cd /srv/openpractice && .venv/bin/python manage.py chase_run
It queues one task per practice for the worker; --now decides here."""

import datetime as dt

from django.core.management.base import BaseCommand, CommandError

from openpractice.practices.models import Practice
from openpractice.receivables import services
from openpractice.receivables.tasks import chase_all, chase_practice


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"--today: a date as YYYY-MM-DD, not {text!r}.") from None


class Command(BaseCommand):
    help = "Make today's chase run of every practice (what each overdue debt needs), for review."

    def add_arguments(self, parser):
        parser.add_argument("--now", action="store_true", help="Decide in this process instead of queueing tasks.")
        parser.add_argument("--today", help="Decide as of this date (YYYY-MM-DD); default today.")
        parser.add_argument("--practice", type=int, help="Only this practice (its id).")

    def handle(self, *args, now, today, practice, **options):
        day = _date(today) if today else None
        if not now and practice is not None:
            chase_practice.enqueue(practice, day.isoformat() if day else None)
            self.stdout.write(f"Queued the chase run of practice {practice}.")
            return
        if not now:
            chase_all.enqueue(day.isoformat() if day else None)
            self.stdout.write("Queued the chase run.")
            return
        practices = Practice.objects.all() if practice is None else Practice.objects.filter(pk=practice)
        for each in practices:
            run = services.create_chase_run(practice=each, today=day)
            self.stdout.write(f"{each.name}: {run.items.count()} to review ({run})")
