"""Send each practice its monthly consultant report (last month's, by default) to the addresses set in
Reports > Consultant report > Settings; a month already sent is not sent again.

Run it monthly (cron or a systemd timer), e.g. on the 1st at 07:00:
    0 7 1 * *  cd /srv/openpractice && .venv/bin/python manage.py send_consultant_reports
It queues one task per practice for the worker; --now sends from this process."""

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from openpractice.practices.models import Practice
from openpractice.reports import consultant, consultant_services
from openpractice.reports.consultant_errors import ConsultantReportError
from openpractice.reports.consultant_tasks import send_all_consultant_reports, send_consultant_report


class Command(BaseCommand):
    help = "Send last month's consultant report of every practice that has one due (queued for the worker)."

    def add_arguments(self, parser):
        parser.add_argument("--month", help="The month to send (YYYY-MM); default last month.")
        parser.add_argument("--practice", type=int, help="Only this practice (its id).")
        parser.add_argument("--now", action="store_true", help="Send from this process instead of queueing tasks.")

    def handle(self, *args, month, practice, now, **options):
        chosen = consultant.parse_month(month) if month else consultant.previous_month(timezone.localdate())
        if chosen is None:
            raise CommandError(f"--month: a month as YYYY-MM, not {month!r}.")
        ids = [practice] if practice is not None else consultant_services.practices_due(month=chosen)
        if not now:
            if practice is None:
                send_all_consultant_reports.enqueue(chosen.isoformat())
                self.stdout.write(f"Queued the {chosen:%B %Y} consultant reports.")
            else:
                send_consultant_report.enqueue(practice, chosen.isoformat())
                self.stdout.write(f"Queued the {chosen:%B %Y} report of practice {practice}.")
            return
        for each in Practice.objects.filter(pk__in=ids).order_by("pk"):
            try:
                report = consultant_services.send_report(practice=each, month=chosen)
            except ConsultantReportError as refused:
                self.stdout.write(f"{each.name}: not sent ({refused.message})")
                continue
            self.stdout.write(f"{each.name}: sent to {report.sent_to}")
