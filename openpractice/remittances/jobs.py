"""The schedule's remittance fetch (registered in apps.py, run by `manage.py run_schedule` every
REMITTANCE_FETCH_EVERY_HOURS hours): each practice whose Healthcode connection passed its test gets
a fetch queued, as the Fetch now button queues one (`fetching.request_fetch`), so the remittances page
shows it and a practice whose fetch is still queued or running is not given a second."""

from __future__ import annotations

import datetime as dt

from openpractice.healthcode.models import HealthcodeIntegration
from openpractice.practices.models import Practice
from openpractice.remittances.fetching import active_run, request_fetch


def queue_remittance_fetches(due_on: dt.date, now: dt.datetime) -> str:
    """One fetch queued per tested practice (on commit of the schedule's transaction), none for a
    practice with one still under way; what it did, in a few words."""
    queued = busy = 0
    practices = Practice.objects.filter(
        pk__in=HealthcodeIntegration.objects.filter(last_test_ok=True).values("practice_id")
    ).order_by("pk")
    for practice in practices:
        if active_run(practice=practice) is not None:
            busy += 1
            continue
        request_fetch(practice=practice)
        queued += 1
    said = f"queued the remittance fetch of {queued} practice{'' if queued == 1 else 's'}"
    return said + (f"; {busy} still fetching" if busy else "")
