"""Aged debt by practice, kept: the combined page shows what each practice is owed without adding
up every owing invoice of every practice on each request.

Counting afresh reads every owing invoice of the bureau's practices (reports.selectors.
owed_by_practice: about 160 ms for 480,000 of them on PostgreSQL, more under load), which alone
would use most of the page's time on every tab. So the count is kept per practice and payer
(`PracticeDebtSummary`) and the page reads those rows (one query):

- a practice never counted, or last counted before today (its age bands have moved), is counted
  in the request that needs it, so the page is never wrong by a day;
- a count older than FRESH_SECONDS is shown with its time ("as of 14:02") and counted again by
  the worker (`tasks.refresh_debt_summaries`, queued on commit, once per practice per window);
- "Count again now" counts the person's practices in the request.

One practice alone (the practice filter) is counted afresh: one practice's owing invoices are few.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from django_tasks import task

from openpractice.billing.models import BillTo
from openpractice.bureaus.models import PracticeDebtSummary
from openpractice.practices.models import Practice
from openpractice.reports.selectors import BUCKETS, ZERO, PayerDebt, owed_by_practice

FRESH_SECONDS = 120  # a kept count older than this is shown, and counted again off the request


# -- read ---------------------------------------------------------------------------------------
@dataclasses.dataclass
class Kept:
    debts: list[PayerDebt]
    counted_at: dt.datetime | None  # the oldest count shown (None: nothing kept)
    stale: list[int]  # practices whose count is older than FRESH_SECONDS
    missing: list[int]  # practices never counted, or counted before today


def kept(*, practice_ids: list[int], today: dt.date | None = None, now: dt.datetime | None = None) -> Kept:
    """The kept counts of these practices: one query."""
    today = today or timezone.localdate()
    now = now or timezone.now()
    rows = PracticeDebtSummary.objects.filter(practice_id__in=practice_ids, as_of=today).order_by("practice_id")
    debts: list[PayerDebt] = []
    counted: dict[int, dt.datetime] = {}
    for row in rows:
        debts.append(PayerDebt(row.practice_id, row.bill_to, row.insurer, row.bands, row.invoices))
        counted[row.practice_id] = min(row.counted_at, counted.get(row.practice_id, row.counted_at))
    old = now - dt.timedelta(seconds=FRESH_SECONDS)
    return Kept(
        debts=debts,
        counted_at=min(counted.values(), default=None),
        stale=[pid for pid, at in counted.items() if at < old],
        missing=[pid for pid in practice_ids if pid not in counted],
    )


# -- write --------------------------------------------------------------------------------------
def refresh(*, practice_ids: list[int], today: dt.date | None = None) -> int:
    """Count these practices' debts afresh and keep the count (replacing the last): how many
    practices. The practices are locked in id order while their rows are replaced, so two
    counts of the same practice never interleave."""
    ids = sorted({int(pid) for pid in practice_ids})
    if not ids:
        return 0
    today = today or timezone.localdate()
    debts = owed_by_practice(practice_ids=ids, today=today)
    counted_at = timezone.now()
    rows = {pid: [PayerDebt(pid, BillTo.PATIENT, "", [ZERO] * len(BUCKETS), 0)] for pid in ids}
    for debt in debts:
        if debt.bill_to == BillTo.PATIENT:
            rows[debt.practice_id][0] = debt
        else:
            rows[debt.practice_id].append(debt)
    with transaction.atomic():
        found = list(
            Practice.objects.select_for_update().filter(pk__in=ids).order_by("pk").values_list("pk", flat=True)
        )
        PracticeDebtSummary.objects.filter(practice_id__in=found).delete()
        PracticeDebtSummary.objects.bulk_create(
            PracticeDebtSummary(
                practice_id=d.practice_id,
                bill_to=d.bill_to,
                insurer=d.insurer,
                band_0=d.bands[0],
                band_1=d.bands[1],
                band_2=d.bands[2],
                band_3=d.bands[3],
                invoices=d.invoices,
                as_of=today,
                counted_at=counted_at,
            )
            for pid in found
            for d in rows[pid]
        )
    return len(found)


def queue_refresh(*, practice_ids: list[int]) -> list[int]:
    """Queue a fresh count of these practices for the worker, on commit, at most once per
    FRESH_SECONDS for the same practices (the page is opened far more often than that): one
    cache key for the set, as the practices of a bureau go stale together. The practices queued."""
    ids = sorted({int(pid) for pid in practice_ids})
    digest = hashlib.sha1(",".join(map(str, ids)).encode()).hexdigest()[:16]
    if not ids or not cache.add(f"bureaus:debt-count-queued:{digest}", True, FRESH_SECONDS):
        return []
    transaction.on_commit(lambda: refresh_debt_summaries.enqueue(ids))
    return ids


@task()
def refresh_debt_summaries(practice_ids: list[int]) -> int:
    """The worker's fresh count of these practices (queued by queue_refresh)."""
    return refresh(practice_ids=practice_ids)
