"""The stored pre-submission check: each bill that could go to Healthcode keeps the answer of its
last check (models.InvoiceCheck, with its blocking problems), so the "Not ready to submit" view
and the dashboard read rows instead of checking every bill on every request.

- `record_checks` / `record_check`: check bills (checking.check_many, in batches) and store the
  answers, one upsert and one COPY of problems per batch.
- A stored check is *due* when there is none, it is stale (receivers.py marks it when something
  the check reads changes; `coding.signals.reference_changed` marks a practice's), the invoice was
  saved after it was checked, or the calendar reached its `recheck_on`.
- `refresh`: what a page does first: a few *pending* bills (stale, or at their recheck day: read
  from the checks' own indexes) are checked inline, more go to the recheck task (queued on commit,
  once a minute at most per practice); the page says how many are being checked again.
  `queue_due_rechecks` is the schedule's (sync_healthcode): it walks every candidate for `due`.

The submission itself always checks the bill afresh: a stored answer only decides what a list shows.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from django.core.cache import cache
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone
from django_tasks import task

from openpractice.billing import selectors as billing_selectors
from openpractice.billing.models import BillTo, HealthcodeStatus, Invoice, RecordStatus
from openpractice.db import bulk
from openpractice.healthcode import rules
from openpractice.healthcode.checking import DatabaseKnowledge, check_many, facts_for_queryset
from openpractice.healthcode.models import InvoiceCheck, InvoiceCheckProblem
from openpractice.practices.models import Practice

BATCH = 900  # invoices per check and write (SQLite allows 999 parameters in one IN)
INLINE_LIMIT = 200  # a page checks this many due bills itself; more go to the recheck task
QUEUED_FOR_SECONDS = 60  # a practice's recheck task is queued at most once in this long

_PROBLEM_COLUMNS = (
    "stored_check_id",
    "position",
    "code",
    "field",
    "message",
    "fix",
    "line",
    "suggestion",
    "blocks",
)


SUBMITTABLE_STATUSES = (HealthcodeStatus.NOT_SUBMITTED, HealthcodeStatus.FAILED)
# A stored check's invoice is a candidate: billing_selectors.submittable_candidates, as a filter on
# the join (the "Not ready" view walks the checks' own index; tests hold the two equal).
CANDIDATE_CHECK = (
    Q(invoice__bill_to=BillTo.INSURER)
    & ~Q(invoice__record_status=RecordStatus.VOID)
    & Q(invoice__healthcode_status__in=SUBMITTABLE_STATUSES)
)


def is_candidate(invoice: Invoice) -> bool:
    """The same test on one invoice in memory."""
    return (
        invoice.bill_to == BillTo.INSURER
        and invoice.record_status != RecordStatus.VOID
        and invoice.healthcode_status in SUBMITTABLE_STATUSES
    )


def candidates(*, practice, practitioner_id: int | None = None) -> QuerySet[Invoice]:
    """What could go to Healthcode now (insurer invoices not sent, or failed): what is checked."""
    found = billing_selectors.submittable_candidates(practice=practice)
    return found.filter(practitioner_id=practitioner_id) if practitioner_id else found


def due(*, practice, practitioner_id: int | None = None, today: dt.date | None = None) -> QuerySet[Invoice]:
    """Candidates whose stored check is missing or may no longer be true."""
    today = today or timezone.localdate()
    return candidates(practice=practice, practitioner_id=practitioner_id).filter(
        Q(stored_check__isnull=True)
        | Q(stored_check__stale=True)
        | Q(stored_check__recheck_on__lte=today)
        | Q(updated_at__gt=F("stored_check__checked_at"))
    )


def record_checks(*, practice, queryset, knowledge: DatabaseKnowledge | None = None) -> int:
    """Check the practice's invoices of `queryset` and store the answers; how many were checked."""
    ids = list(queryset.filter(practice=practice).order_by("pk").values_list("pk", flat=True))
    knowledge = knowledge or DatabaseKnowledge(practice)
    for start in range(0, len(ids), BATCH):
        _record_batch(practice, ids[start : start + BATCH], knowledge)
    return len(ids)


def record_check(*, invoice: Invoice) -> None:
    record_checks(practice=invoice.practice, queryset=Invoice.objects.filter(pk=invoice.pk))


def _record_batch(practice, ids: list[int], knowledge: DatabaseKnowledge) -> None:
    started = timezone.now()  # before the facts are read: a change after this keeps the check due
    today = timezone.localdate()
    facts = facts_for_queryset(Invoice.objects.filter(practice=practice, pk__in=ids))
    results = check_many(facts, knowledge, today)
    checks, problems = [], []
    for bill in facts:
        result = results[bill.invoice_id]
        errors = result.errors
        checks.append(
            InvoiceCheck(
                invoice_id=bill.invoice_id,
                practice_id=practice.pk,
                passed=not errors,
                error_count=len(errors),
                invoice_date=bill.invoice_date or today,  # always set: read from a saved invoice
                checked_at=started,
                stale=False,
                recheck_on=rules.result_changes_on(bill, knowledge.insurer(bill.insurer_identifier), today),
            )
        )
        # Every problem, advice too (the invoice page shows it): `blocks` tells them apart.
        problems += [
            (bill.invoice_id, position, p.rule, p.field, p.error[:500], p.fix, p.line, p.suggestion[:500], p.blocks)
            for position, p in enumerate(result.problems)
        ]
    with transaction.atomic():
        # The upsert first: it holds the checks' rows (ascending ids) until commit, so two writers
        # of the same bills take turns and never leave both sets of problems.
        InvoiceCheck.objects.bulk_create(
            checks,
            update_conflicts=True,
            unique_fields=["invoice"],
            update_fields=["passed", "error_count", "invoice_date", "checked_at", "stale", "recheck_on"],
        )
        # Marked stale by a change made while these bills were being checked: still stale.
        InvoiceCheck.objects.filter(pk__in=ids, stale_at__gt=started).update(stale=True)
        InvoiceCheckProblem.objects.filter(stored_check_id__in=ids).delete()
        bulk.insert_rows(InvoiceCheckProblem._meta.db_table, _PROBLEM_COLUMNS, problems)


def recheck_all(*, practice, batch: int = BATCH) -> int:
    """Check every candidate bill of the practice again."""
    return _recheck(practice, candidates(practice=practice), batch)


def recheck_due(*, practice, batch: int = BATCH) -> int:
    """Check the practice's due bills again."""
    return _recheck(practice, due(practice=practice), batch)


def _recheck(practice, queryset, batch: int) -> int:
    knowledge = DatabaseKnowledge(practice)  # one practice's knowledge serves every batch
    ids = list(queryset.order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(ids), batch):
        record_checks(
            practice=practice, queryset=Invoice.objects.filter(pk__in=ids[start : start + batch]), knowledge=knowledge
        )
    return len(ids)


@task(queue_name="healthcode")
def recheck_due_bills(practice_id: int) -> int:
    practice = Practice.objects.filter(pk=practice_id).first()
    return recheck_due(practice=practice) if practice is not None else 0


def queue_recheck(*, practice) -> bool:
    """Queue the practice's recheck task on commit, unless one was queued in the last minute."""
    if not cache.add(f"healthcode:recheck-queued:{practice.pk}", True, timeout=QUEUED_FOR_SECONDS):
        return False
    transaction.on_commit(lambda: recheck_due_bills.enqueue(practice.pk))
    return True


def pending(*, practice, practitioner_id: int | None = None, today: dt.date | None = None) -> QuerySet[InvoiceCheck]:
    """The stored checks of candidates marked stale or at their recheck day: what a page checks
    again, read from the checks' own indexes (never a walk over every candidate). A candidate
    saved gets a stale check row (receivers.invoice_saved); one that became a candidate without a
    save, or an invoice changed with update(), is found by `due`, on the schedule."""
    today = today or timezone.localdate()
    checks = InvoiceCheck.objects.filter(CANDIDATE_CHECK, practice=practice).filter(
        Q(stale=True) | Q(recheck_on__lte=today)
    )
    return checks.filter(invoice__practitioner_id=practitioner_id) if practitioner_id else checks


def refresh(*, practice, practitioner_id: int | None = None) -> int:
    """Bring the stored checks a page is about to read up to date: up to INLINE_LIMIT pending bills
    are checked now; beyond that the recheck task is queued. How many remain to be checked. A
    practice with no stored check yet (just upgraded) has every candidate due."""
    scope: QuerySet  # of invoice ids
    if InvoiceCheck.objects.filter(practice=practice).exists():
        scope = pending(practice=practice, practitioner_id=practitioner_id).values_list("invoice_id", flat=True)
    else:
        scope = due(practice=practice, practitioner_id=practitioner_id).values_list("pk", flat=True)
    ids = list(scope.order_by()[: INLINE_LIMIT + 1])
    if not ids:
        return 0
    if len(ids) <= INLINE_LIMIT:
        record_checks(practice=practice, queryset=Invoice.objects.filter(pk__in=ids))
        return 0
    queue_recheck(practice=practice)
    return scope.count()


@dataclasses.dataclass
class StoredResult:
    """One bill's stored check, read as checking.CheckResult reads (the invoice page's panel)."""

    invoice_id: int
    problems: list[InvoiceCheckProblem]  # advice too, in the check's order

    @property
    def errors(self) -> list[InvoiceCheckProblem]:
        return [p for p in self.problems if p.blocks]

    @property
    def warnings(self) -> list[InvoiceCheckProblem]:
        return [p for p in self.problems if not p.blocks]

    @property
    def passed(self) -> bool:
        return not self.errors


def _is_due(check: InvoiceCheck | None, invoice: Invoice, today: dt.date) -> bool:
    """`due` for one invoice in memory."""
    return (
        check is None
        or check.stale
        or (check.recheck_on is not None and check.recheck_on <= today)
        or (invoice.updated_at is not None and invoice.updated_at > check.checked_at)
    )


def stored_result(*, invoice: Invoice) -> StoredResult:
    """The candidate's stored check, checked again first when due (one bill: as `refresh` does for
    few); two queries when it is up to date, where checking afresh reads the bill and everything
    the rules know about it."""
    check = InvoiceCheck.objects.filter(invoice_id=invoice.pk).first()
    if _is_due(check, invoice, timezone.localdate()):
        record_check(invoice=invoice)
    problems = list(InvoiceCheckProblem.objects.filter(stored_check_id=invoice.pk).order_by("position"))
    return StoredResult(invoice_id=invoice.pk, problems=problems)


def queue_due_rechecks() -> int:
    """The schedule's part: queue the recheck task of every practice with due bills."""
    queued = 0
    for practice in Practice.objects.order_by("pk"):
        if due(practice=practice).exists() and queue_recheck(practice=practice):
            queued += 1
    return queued


# -- marking stale (receivers.py and coding.signals.reference_changed) --------------------------
def mark_stale(checks: QuerySet[InvoiceCheck]) -> int:
    return checks.update(stale=True, stale_at=timezone.now())


def invoice_saved(invoice: Invoice) -> None:
    """An invoice was saved: its check is stale. A candidate without a check gets a stale row, so
    pages find it through `pending` (one upsert); any other invoice, one UPDATE."""
    if not is_candidate(invoice):
        mark_stale(InvoiceCheck.objects.filter(invoice_id=invoice.pk))
        return
    now = timezone.now()
    InvoiceCheck.objects.bulk_create(
        [
            InvoiceCheck(
                invoice_id=invoice.pk,
                practice_id=invoice.practice_id,
                passed=False,
                invoice_date=invoice.invoice_date,
                checked_at=now,
                stale=True,
                stale_at=now,
            )
        ],
        update_conflicts=True,
        unique_fields=["invoice"],
        update_fields=["stale", "stale_at"],
    )


def mark_invoices_stale(invoices: QuerySet[Invoice]) -> int:
    """One UPDATE: the stored checks of these invoices (a subquery, never a list of ids). Checks
    already stale are updated too, on purpose: the new `stale_at` is what keeps a recheck that read
    the facts before this change from marking them fresh (`record_checks`)."""
    return mark_stale(InvoiceCheck.objects.filter(invoice_id__in=invoices.values("pk")))


def mark_practice_stale(*, practice=None) -> int:
    """Every stored check of a practice (of every practice when None): reference data changed."""
    checks = InvoiceCheck.objects.all() if practice is None else InvoiceCheck.objects.filter(practice=practice)
    return mark_stale(checks.filter(stale=False))
