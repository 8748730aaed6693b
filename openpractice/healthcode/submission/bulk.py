"""A bulk submission run: "Submit selected to Healthcode". The run and one item per invoice are
recorded first (`record_bulk`), then queued chunk by chunk (`queue_bulk`), in the request or from
the `queue_bulk_task` task for a big run; "Send the rest" (`send_rest`) queues what a stopped run
never did. Each chunk is queued by `queue._queue_chunk` and delivered by the `deliver_many` task."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django_tasks import task

from openpractice.billing.models import Invoice
from openpractice.healthcode.checking import DatabaseKnowledge, check_many, facts_for_queryset
from openpractice.healthcode.models import BulkSubmission, BulkSubmissionItem, Submission
from openpractice.healthcode.submission.queue import NO_SUCH_INVOICE, _queue_chunk_or_one_by_one

# A run this big is queued by a task (`queue_bulk_task`), so the request returns at once and a web
# process that dies loses nothing; smaller runs are queued in the request, as before.
BULK_IN_BACKGROUND_FROM = 200


@task(queue_name="healthcode")
def queue_bulk_task(bulk_id: int, chunk: int = 50) -> int:
    """A big bulk run queued off the web request (its items were recorded first). Run again after
    a crash (the task lease) it carries on with the items not queued yet."""
    bulk = BulkSubmission.objects.select_related("practice", "created_by").get(pk=bulk_id)
    queue_bulk(bulk=bulk, user=bulk.created_by, chunk=chunk)
    return bulk.items.count()


def enqueue_bulk_queueing(bulk_id: int, *, chunk: int = 50) -> None:
    queue_bulk_task.enqueue(bulk_id, chunk)


def submit_many(
    *, practice, invoice_ids: list[int], user=None, chunk: int = 50, background: bool | None = None
) -> BulkSubmission:
    """Record the run with every invoice asked for (`record_bulk`, one transaction, before
    anything is queued), then queue it (`queue_bulk`): in this call, or from a task enqueued when
    the record commits (`background`, by default for BULK_IN_BACKGROUND_FROM invoices or more).
    Whatever stops the queueing half-way, the run's page shows each invoice as queued, sent,
    answered or not sent, and "Send the rest" (`send_rest`) queues those never queued."""
    bulk = record_bulk(practice=practice, invoice_ids=invoice_ids, user=user)
    if background is None:
        background = len(invoice_ids) >= BULK_IN_BACKGROUND_FROM
    if background:
        transaction.on_commit(lambda: enqueue_bulk_queueing(bulk.pk, chunk=chunk))
        return bulk
    return queue_bulk(bulk=bulk, user=user, chunk=chunk)


@transaction.atomic
def record_bulk(*, practice, invoice_ids: list[int], user=None) -> BulkSubmission:
    """The run and one item per invoice of this practice asked for, in one transaction; ids of
    no invoice of the practice are listed as not sent at once."""
    wanted = sorted(set(invoice_ids))
    found: set[int] = set()
    for start in range(0, len(wanted), 2000):
        found.update(
            Invoice.objects.for_practice(practice)
            .filter(pk__in=wanted[start : start + 2000])
            .values_list("pk", flat=True)
        )
    bulk = BulkSubmission.objects.create(
        practice=practice,
        created_by=user,
        requested=len(wanted),
        queueing_seen_at=timezone.now(),
        skipped=[{"invoice_id": pk, "number": str(pk), "why": NO_SUCH_INVOICE} for pk in wanted if pk not in found],
    )
    BulkSubmissionItem.objects.bulk_create(
        [BulkSubmissionItem(bulk=bulk, invoice_id=pk) for pk in sorted(found)], batch_size=1000
    )
    return bulk


def queue_bulk(*, bulk: BulkSubmission, user=None, chunk: int = 50) -> BulkSubmission:
    """Queue every item of the run that has no submission of this run yet: the check in bulk per
    500 invoices, then `_queue_chunk` a chunk per transaction, each chunk's delivery enqueued when
    it commits (workers send the first bills while later ones are queued). Safe to run again at
    any time, also concurrently: an invoice already queued is refused by the guard under its row
    lock (one submission per invoice version), and an item with a submission is not retried."""
    practice = bulk.practice
    BulkSubmission.objects.filter(pk=bulk.pk).update(queueing_finished_at=None, queueing_seen_at=timezone.now())
    sent = set(Submission.objects.filter(bulk=bulk).values_list("invoice_id", flat=True))
    wanted = sorted(set(bulk.items.values_list("invoice_id", flat=True)) - sent)
    knowledge = DatabaseKnowledge(practice)
    for start in range(0, len(wanted), 500):
        batch = Invoice.objects.for_practice(practice).filter(pk__in=wanted[start : start + 500])
        facts_by_id = {f.invoice_id: f for f in facts_for_queryset(batch)}
        results = check_many(list(facts_by_id.values()), knowledge)
        held, passed = {}, []
        for invoice_id in sorted(facts_by_id):
            facts, result = facts_by_id[invoice_id], results[invoice_id]
            if not result.passed:
                first = result.errors[0]
                held[invoice_id] = f"{first.field}: {first.error}" + (
                    f" (and {len(result.errors) - 1} more)" if len(result.errors) > 1 else ""
                )
                continue
            passed.append(facts)
        _hold(bulk, held)
        for part in range(0, len(passed), chunk):
            refused = _queue_chunk_or_one_by_one(
                practice=practice, checked=passed[part : part + chunk], user=user, bulk=bulk
            )
            _hold(bulk, {s["invoice_id"]: s["why"] for s in refused})
            BulkSubmission.objects.filter(pk=bulk.pk).update(queueing_seen_at=timezone.now())
    sent = set(Submission.objects.filter(bulk=bulk).values_list("invoice_id", flat=True))
    items = {
        i.invoice_id: i
        for i in BulkSubmissionItem.objects.filter(bulk=bulk)
        .exclude(why="")
        .select_related("invoice")
        .only("invoice_id", "why", "invoice__number")
    }
    unknown = [s for s in bulk.skipped if s.get("why") == NO_SUCH_INVOICE]
    bulk.skipped = unknown + [
        {"invoice_id": pk, "number": item.invoice.number or f"Draft {pk}", "why": item.why}
        for pk, item in sorted(items.items())
        if pk not in sent
    ]
    bulk.queueing_finished_at = bulk.queueing_seen_at = timezone.now()
    bulk.save(update_fields=["skipped", "queueing_finished_at", "queueing_seen_at"])
    return bulk


def _hold(bulk: BulkSubmission, why_by_invoice: dict[int, str]) -> None:
    """Write why each of these invoices was not sent on its item."""
    items = list(BulkSubmissionItem.objects.filter(bulk=bulk, invoice_id__in=list(why_by_invoice)))
    for item in items:
        item.why = why_by_invoice[item.invoice_id][:500]
    BulkSubmissionItem.objects.bulk_update(items, ["why"], batch_size=500)


def send_rest(*, bulk: BulkSubmission, user=None, chunk: int = 50) -> BulkSubmission:
    """ "Send the rest": queue the items of the run that were never queued (and try again those held
    back, whose problem may have been fixed). Idempotent: queueing is one submission per invoice
    version under the invoice's lock, so a double click or a concurrent pass sends nothing twice."""
    if bulk.items.count() - Submission.objects.filter(bulk=bulk).count() >= BULK_IN_BACKGROUND_FROM:
        BulkSubmission.objects.filter(pk=bulk.pk).update(queueing_finished_at=None, queueing_seen_at=timezone.now())
        transaction.on_commit(lambda: enqueue_bulk_queueing(bulk.pk, chunk=chunk))
        return bulk
    return queue_bulk(bulk=bulk, user=user, chunk=chunk)
