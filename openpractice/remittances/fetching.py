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

from openpractice.billing.models import HealthcodeStatus
from openpractice.healthcode import submission as hc
from openpractice.healthcode.client import HealthcodeError
from openpractice.healthcode.errors import HealthcodeSetupError, SubmissionError
from openpractice.healthcode.models import Submission
from openpractice.healthcode.services import require_tested
from openpractice.remittances import parsing, services
from openpractice.remittances.errors import RemittanceError
from openpractice.remittances.models import BatchSource, BatchStatus, RemittanceBatch

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
    failed: list[str] = dataclasses.field(default_factory=list)

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
        return report
    with context as client:
        try:
            ids = pending_ids(client)
            report.pending = len(ids)
            for remittance_id in ids:
                _one(practice, client, remittance_id, report)
        except HealthcodeError as exc:
            report.failed.append(exc.message)
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


def request_fetch(*, practice) -> None:
    """On demand (the Fetch now button, the API): queued for the worker once the request's
    transaction commits."""
    # Here, not at the top: the tasks module imports this one (its task runs fetch_remittances).
    from openpractice.remittances.tasks import fetch_practice_remittances

    transaction.on_commit(lambda: fetch_practice_remittances.enqueue(practice.pk))
