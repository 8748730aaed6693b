"""The monthly consultant reports on the Django Tasks API: `manage.py send_consultant_reports` (run on
the 1st of each month by cron) and the schedule's `queue_consultant_reports` (`manage.py
run_schedule`) queue `send_all_consultant_reports`, which queues one task a practice."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django_tasks import task

from openpractice.practices.models import Practice
from openpractice.reports import consultant, consultant_services
from openpractice.reports.consultant_errors import ConsultantReportError


@task()
def send_consultant_report(practice_id: int, month: str) -> str:
    """Save and send one practice's report for `month` ('YYYY-MM-DD'); a sent month is not sent twice."""
    practice = Practice.objects.get(pk=practice_id)
    try:
        report = consultant_services.send_report(practice=practice, month=dt.date.fromisoformat(month))
    except ConsultantReportError as refused:  # sent meanwhile, or the address was removed: nothing to retry
        return f"not sent: {refused.message}"
    return f"sent to {report.sent_to}"


def queue_consultant_reports(due_on: dt.date, now: dt.datetime) -> str:
    """The schedule's monthly job (registered in apps.py, run by `manage.py run_schedule` from the
    1st): the month before `due_on`'s, queued for every practice that sends one."""
    month = consultant.previous_month(due_on)
    send_all_consultant_reports.enqueue(month.isoformat())
    return f"queued the {month:%B %Y} consultant reports"


@task()
def send_all_consultant_reports(month: str | None = None) -> int:
    """The schedule's entry point: last month's report (or `month`'s) for every practice due one."""
    chosen = dt.date.fromisoformat(month) if month else consultant.previous_month(timezone.localdate())
    ids = consultant_services.practices_due(month=chosen)
    for practice_id in ids:
        send_consultant_report.enqueue(practice_id, chosen.isoformat())
    return len(ids)
