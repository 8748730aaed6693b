"""Check bills that could go to Healthcode again and store the answers (stored_checks.py): after
an upgrade that changes the rules, or to fill the stored checks of an existing database at once
rather than page by page. The schedule (sync_healthcode) queues the due ones by itself."""

from django.core.management.base import BaseCommand, CommandError

from openpractice.healthcode import stored_checks
from openpractice.practices.models import Practice


class Command(BaseCommand):
    help = "Run the pre-submission check again over bills that could go to Healthcode, and store the answers."

    def add_arguments(self, parser):
        parser.add_argument("--practice", type=int, help="Only this practice (its id); every practice when left out.")
        parser.add_argument(
            "--batch", type=int, default=stored_checks.BATCH, help="Bills checked and written at a time."
        )
        parser.add_argument(
            "--due-only",
            action="store_true",
            help="Only bills never checked or whose check may be out of date (what the schedule does).",
        )

    def handle(self, *args, practice=None, batch, due_only, **options):
        if batch < 1:
            raise CommandError("--batch must be 1 or more.")
        practices = Practice.objects.order_by("pk")
        if practice is not None:
            practices = practices.filter(pk=practice)
            if not practices.exists():
                raise CommandError(f"No practice with id {practice}.")
        recheck = stored_checks.recheck_due if due_only else stored_checks.recheck_all
        for each in practices:
            checked = recheck(practice=each, batch=batch)
            self.stdout.write(f"{each.name}: {checked} bill{'s' if checked != 1 else ''} checked")
