"""Fetching remittances from the clearing house: list pending → fetch → store → post → acknowledge.

The order is what makes it safe. A batch is acknowledged only after its raw Bundle is committed
to the inbox, so a crash anywhere loses nothing: the batch stays pending and the next run finds
it again. A batch already in the inbox (fetched before, delivered twice, or stored just before a
crash) is not fetched or posted again — it is only acknowledged. Posting itself runs once per
batch under the batch's row lock. No transaction is held while the clearing house is called.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging

from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from openpractice.billing.models import HealthcodeStatus
from openpractice.healthcode import submission as hc
from openpractice.healthcode.client import HealthcodeError
from openpractice.healthcode.errors import HealthcodeSetupError, SubmissionError
from openpractice.healthcode.models import Submission
from openpractice.healthcode.services import require_tested
from openpractice.remittances import parsing, services
from openpractice.remittances.errors import Code, RemittanceError
from openpractice.remittances.models import (
    BatchSource,
    BatchStatus,
    FetchRun,
    FetchRunStatus,
    LineStatus,
    RemittanceBatch,
    RemittanceLine,
)

logger = logging.getLogger("openpractice.remittances")
PAGE = 100
MAX_PAGES = 50


@dataclasses.dataclass
class FetchReport:
    pending: int = 0
    stored: int = 0  # new batches kept in the inbox
    posted: int = 0
    already_had: int = 0  # seen before: acknowledged again, nothing posted
    acknowledged: int = 0
    matched: int = 0  # lines of the batches posted now that were matched to an invoice
    to_review: int = 0  # ... and those left for a person to match
    failed: list[str] = dataclasses.field(default_factory=list)
    # Why the run as a whole stopped (not set up, the pending list unreadable): the fetch failed.
    stopped: str = ""

    @property
    def message(self) -> str:
        text = (
            f"{self.pending} pending at Healthcode: {self.stored} new, {self.already_had} received before, "
            f"{self.posted} posted, {self.acknowledged} acknowledged."
        )
        return text + (" Problems: " + "; ".join(self.failed) if self.failed else "")


def _client(practice):
    return hc.client_for_practice(practice)


def pending_ids(client) -> list[str]:
    """Every pending remittance id, page by page."""
    ids: list[str] = []
    for page in range(1, MAX_PAGES + 1):
        answer = client.list_pending_remittances(page=page, count=PAGE)
        if answer.status_code != 200:
            raise HealthcodeError(
                f"The pending remittances list answered HTTP {answer.status_code}.", status=answer.status_code
            )
        try:
            body = parsing.load_json(answer.text)
        except RemittanceError as exc:
            raise HealthcodeError(f"The pending remittances list is unreadable: {exc.message}") from None
        if body.get("resourceType") != "Bundle":
            raise HealthcodeError("The pending remittances list is not a FHIR Bundle.")
        entries = [e.get("resource") or {} for e in body.get("entry") or [] if isinstance(e, dict)]
        found = [str(r.get("id")) for r in entries if r.get("resourceType") == "PaymentReconciliation" and r.get("id")]
        ids.extend(found)
        total = body.get("total")
        if len(found) < PAGE or (isinstance(total, int) and len(ids) >= total):
            break
    return list(dict.fromkeys(ids))


def fetch_remittances(*, practice, client=None) -> FetchReport:
    report = FetchReport()
    try:
        # Nothing is asked of the clearing house for credentials that have not passed the test,
        # even with a client handed in.
        require_tested(practice=practice)
        # The healthcode app hands out its per-thread client as a context manager (kept open).
        context = contextlib.nullcontext(client) if client is not None else _client(practice)
    except HealthcodeSetupError as exc:
        report.failed.append(exc.message)
        report.stopped = exc.message
        return report
    with context as client:
        try:
            ids = pending_ids(client)
            report.pending = len(ids)
            for remittance_id in ids:
                _one(practice, client, remittance_id, report)
        except HealthcodeError as exc:
            report.failed.append(exc.message)
            report.stopped = exc.message
    logger.info("Remittances for practice %s: %s", practice.pk, report.message)
    return report


def _one(practice, client, remittance_id: str, report: FetchReport) -> None:
    batch = RemittanceBatch.objects.filter(practice=practice, external_id=remittance_id).first()
    if batch is None:
        try:
            answer = client.get_remittance_details(remittance_id=remittance_id)
        except HealthcodeError as exc:
            report.failed.append(f"{remittance_id}: {exc.message}")
            return
        if answer.status_code != 200:
            report.failed.append(f"{remittance_id}: details answered HTTP {answer.status_code}")
            return
        summary = None
        try:
            summary = parsing.parse_bundle(parsing.load_json(answer.text))
        except RemittanceError:
            pass  # kept raw; posting marks it failed with the problems, for support to see
        batch, created = services.store_batch(
            practice=practice,
            source=BatchSource.CLEARING_HOUSE,
            external_id=remittance_id,
            raw_payload=answer.text,
            summary=summary,
        )
        report.stored += created
        report.already_had += not created
    else:
        report.already_had += 1
    if batch.status == BatchStatus.RECEIVED:
        try:
            services.post_batch(batch_id=batch.pk)
            report.posted += 1
            _count_lines(batch, report)
        except RemittanceError as exc:
            report.failed.append(f"{remittance_id}: {exc.message}")
        else:
            _refresh_bill_statuses(practice, batch)
    # Only now, with the batch safely in the inbox, tell the clearing house we have it.
    try:
        answer = client.acknowledge_remittance(remittance_id=remittance_id)
    except HealthcodeError as exc:
        report.failed.append(f"{remittance_id}: not acknowledged ({exc.message}); it will be acknowledged next time")
        return
    if answer.status_code >= 400:
        report.failed.append(f"{remittance_id}: acknowledgement answered HTTP {answer.status_code}")
        return
    if batch.external_id == remittance_id:  # not a file that said the same remittance before it arrived
        services.mark_acknowledged(batch=batch)
    report.acknowledged += 1


def _count_lines(batch, report: FetchReport) -> None:
    by_status = dict(
        RemittanceLine.objects.filter(practice_id=batch.practice_id, batch=batch)
        .values_list("status")
        .annotate(n=Count("id"))
        .order_by()
    )
    report.matched += by_status.get(LineStatus.ALLOCATED, 0)
    report.to_review += by_status.get(LineStatus.REVIEW, 0)


STATUS_REFRESH_LIMIT = 50  # the rest catch up through sync_healthcode


def _refresh_bill_statuses(practice, batch) -> None:
    """A remitted bill was collected: bring its Healthcode status up to date now (through the
    healthcode app's own status sync) so the invoice says Collected next to Paid."""
    stale = (
        Submission.objects.filter(practice=practice, invoice__remittance_lines__batch=batch)
        .exclude(bill_id="")
        .exclude(healthcode_status__in=[HealthcodeStatus.COLLECTED, HealthcodeStatus.CANCELLED])
        .distinct()[:STATUS_REFRESH_LIMIT]
    )
    for submission in stale:
        try:
            hc.refresh_status(submission=submission)
        except SubmissionError as exc:
            logger.info("Status of bill %s not refreshed: %s", submission.bill_id, exc.message)


# -- a fetch asked for by a person: its run, queued, running, done or failed --------------------
def active_run(*, practice) -> FetchRun | None:
    """The practice's newest run still queued or running, unless it is stale (FetchRun.is_stale:
    its task ended without finishing it). A fetch waiting behind other work, or running long, is
    still the practice's one fetch: the hourly schedule does not start a second beside it."""
    run = (
        FetchRun.objects.for_practice(practice)
        .filter(status__in=(FetchRunStatus.QUEUED, FetchRunStatus.RUNNING))
        .first()
    )
    return None if run is None or run.is_stale else run


@transaction.atomic
def request_fetch(*, practice, user=None) -> FetchRun:
    """On demand (the Fetch now button, the API): a run queued for the worker once the request's
    transaction commits. A run already queued or running is the answer to a second press (one
    fetch at a time is enough); one left behind by a dead worker is closed as failed first."""
    # Here, not at the top: the tasks module imports this one (its task runs run_fetch).
    from openpractice.remittances.tasks import fetch_practice_remittances

    running = active_run(practice=practice)
    if running is not None:
        return running
    FetchRun.objects.for_practice(practice).filter(status__in=(FetchRunStatus.QUEUED, FetchRunStatus.RUNNING)).update(
        status=FetchRunStatus.FAILED,
        error="It did not finish (the worker stopped); fetched again.",
        finished_at=timezone.now(),
    )
    run = FetchRun.objects.create(practice=practice, requested_by=user)

    def enqueue() -> None:
        queued = fetch_practice_remittances.enqueue(practice.pk, run.pk)
        # kept so a later request can tell a fetch still waiting for a worker from a lost one
        FetchRun.objects.filter(pk=run.pk, task_id="").update(task_id=str(queued.id)[:64])

    transaction.on_commit(enqueue)
    return run


@transaction.atomic
def start_run(*, run_id: int) -> FetchRun | None:
    """Queued -> running. None when the run has finished already (a task run twice does nothing
    the second time); a running run may start again (its worker died and the task was requeued)."""
    run = FetchRun.objects.select_for_update().filter(pk=run_id).first()
    if run is None or not run.is_active:
        return None
    run.status = FetchRunStatus.RUNNING
    run.started_at = timezone.now()
    run.save(update_fields=["status", "started_at"])
    return run


@transaction.atomic
def finish_run(*, run: FetchRun, report: FetchReport) -> FetchRun:
    """Running -> done (with what it found and any problem with one remittance) or failed (the
    fetch as a whole could not run: the reason)."""
    run = FetchRun.objects.select_for_update().get(pk=run.pk)
    if run.status != FetchRunStatus.RUNNING:
        raise RemittanceError(
            f"This fetch is {run.get_status_display().lower()}, not running.", field="status", code=Code.WRONG_STATUS
        )
    run.status = FetchRunStatus.FAILED if report.stopped else FetchRunStatus.DONE
    run.error = report.stopped
    run.fetched, run.matched, run.to_review = report.stored, report.matched, report.to_review
    run.problems = [p for p in report.failed if p != report.stopped][:50]
    run.finished_at = timezone.now()
    run.save()
    return run


@transaction.atomic
def fail_run(*, run_id: int, reason: str) -> None:
    """Any run not finished yet -> failed, with the reason (an unexpected error in the worker)."""
    FetchRun.objects.filter(pk=run_id, status__in=(FetchRunStatus.QUEUED, FetchRunStatus.RUNNING)).update(
        status=FetchRunStatus.FAILED, error=reason[:2000], finished_at=timezone.now()
    )


def run_fetch(*, run_id: int) -> str:
    """The worker's side of a requested fetch: start the run, fetch, record the outcome."""
    run = start_run(run_id=run_id)
    if run is None:
        return f"Fetch run {run_id} has finished already."
    try:
        report = fetch_remittances(practice=run.practice)
    except Exception as exc:
        fail_run(
            run_id=run.pk, reason=f"An unexpected error stopped the fetch ({type(exc).__name__}); nothing was lost."
        )
        raise
    finish_run(run=run, report=report)
    return report.message
