"""Follow every bill not yet settled, recover submissions a crashed worker left behind, sync
each practice's insurer directory from the clearing house's insurer list once a day, and queue the
recheck of stored pre-submission checks that may be out of date (stored_checks.py).

Run it on a schedule (cron or a systemd timer, every few minutes), e.g.:
    */5 * * * *  cd /srv/openpractice && .venv/bin/python manage.py sync_healthcode
or with --loop SECONDS as a long-running process next to the worker."""

import time

from django.core.management.base import BaseCommand

from openpractice.healthcode.directory import sync_due_directories
from openpractice.healthcode.stored_checks import queue_due_rechecks
from openpractice.healthcode.submission import sync_due
from openpractice.workers.runtime import keep_going, requeue_expired


class Command(BaseCommand):
    help = (
        "Refresh the Healthcode status of open bills; re-send submissions stuck by a crash; sync insurer "
        "directories not synced for a day; queue the recheck of stored checks that may be out of date."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--stale-after",
            type=int,
            default=120,
            help="Seconds a queued/sending submission may sit untouched before it is sent again.",
        )
        parser.add_argument(
            "--recover-only", action="store_true", help="Only re-send stuck submissions; do not ask for statuses."
        )
        parser.add_argument("--loop", type=int, default=0, help="Repeat every N seconds (0: once).")

    def handle(self, *args, stale_after, loop, recover_only, **options):
        def once() -> bool:
            counts = sync_due(stale_after_seconds=stale_after, refresh=not recover_only)
            counts["tasks taken up"] = requeue_expired()  # of workers that died (the task lease)
            directories = sync_due_directories() if not recover_only else {}
            counts["practices with bills to check again"] = queue_due_rechecks() if not recover_only else 0
            if any(counts.values()) or any(directories.values()) or not loop:
                self.stdout.write(
                    f"refreshed {counts['refreshed']}, not refreshed {counts['failed']}, "
                    f"re-sent {counts['recovered']}, tasks of dead workers queued again "
                    f"{counts['tasks taken up']}, practices with bills to check again "
                    f"{counts['practices with bills to check again']}"
                    + "".join(f", {what} {n}" for what, n in directories.items())
                )
            if not loop:
                return False
            time.sleep(loop)
            return True

        if loop:  # a long-running schedule waits through a lost database, as the workers do
            keep_going(once, what="The Healthcode schedule")
        else:
            once()
