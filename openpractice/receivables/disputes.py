"""The insurer dispute list: every shortfall remittances judged an insurer underpayment (paid
below the contract price, `remittances.shortfall_kind`), with what to send the insurer, and the
dispute's steps: raised → sent to the insurer → resolved (the insurer paid / accepted as the
patient's, moved to the patient / written off, as an approved write-off in the ledger).

Reads (`dispute_page`, `dispute`, `dispute_letter`) and writes (`mark_sent`, `resolve_*`) of one
workflow, kept together; writes lock the insurer invoice first (billing's lock order), then the
dispute row.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.staticfiles import finders
from django.db import transaction
from django.db.models import CharField, F, QuerySet, Value
from django.db.models.functions import Coalesce
from django.template.loader import render_to_string
from django.utils import timezone

from openpractice.billing import services as billing
from openpractice.billing.pdf import static_only_fetcher
from openpractice.practices.tenancy import get_for_practice_or_404
from openpractice.receivables.errors import ReceivablesError
from openpractice.receivables.models import (
    OPEN_DISPUTE,
    DisputeStatus,
    InsurerDispute,
    WriteOff,
    WriteOffEntry,
    WriteOffStatus,
)
from openpractice.remittances import services as remittances
from openpractice.remittances.errors import RemittanceError
from openpractice.remittances.models import ShortfallVerdict
from openpractice.remittances.shortfall_kind import ShortfallKind

PAGE_SIZE = 50
STATUS_FILTERS = {
    "open": OPEN_DISPUTE,
    "resolved": (DisputeStatus.PAID, DisputeStatus.PATIENT, DisputeStatus.WRITTEN_OFF),
}


# -- reads ---------------------------------------------------------------------------------------
def underpayments(*, practice) -> QuerySet[ShortfallVerdict]:
    """The practice's insurer underpayments with their dispute's status ('raised' without a row)."""
    return (
        ShortfallVerdict.objects.for_practice(practice)
        .filter(kind=ShortfallKind.UNDERPAYMENT)
        .select_related(
            "invoice",
            "invoice__patient",
            "insurer_contact",
            "remittance_line__batch",
            "dispute",
            "overridden_by",
        )
        .annotate(
            dispute_status=Coalesce(F("dispute__status"), Value(DisputeStatus.RAISED.value), output_field=CharField())
        )
    )


@dataclasses.dataclass(frozen=True)
class DisputeRow:
    verdict: ShortfallVerdict
    status: str

    @property
    def status_label(self) -> str:
        return DisputeStatus(self.status).label

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_DISPUTE


@dataclasses.dataclass(frozen=True)
class DisputePage:
    rows: list[DisputeRow]
    next_after: int | None
    status: str
    insurer_id: int | None


def dispute_page(
    *, practice, status: str = "open", insurer_id: int | None = None, after: int | None = None, size: int = PAGE_SIZE
) -> DisputePage:
    """One page of the dispute list, newest first, keyset paged (`after`: the id of the last row
    shown; ids rise with time): one query."""
    # Typed plainly: `dispute_status` is an annotation the stubs do not know.
    found: Any = underpayments(practice=practice)
    if status in STATUS_FILTERS:
        found = found.filter(dispute_status__in=[s.value for s in STATUS_FILTERS[status]])
    if insurer_id:
        found = found.filter(insurer_contact_id=insurer_id)
    if after is not None:
        found = found.filter(id__lt=after)
    rows: list[Any] = list(found.order_by("-id")[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    return DisputePage(
        rows=[DisputeRow(v, v.dispute_status) for v in rows],
        next_after=rows[-1].pk if more else None,
        status=status,
        insurer_id=insurer_id,
    )


def dispute(*, practice, verdict_id) -> ShortfallVerdict:
    """One underpayment (another practice's, or a shortfall that is the patient's: a 404)."""
    return get_for_practice_or_404(underpayments(practice=practice), practice, pk=verdict_id)


def dispute_letter(*, verdict: ShortfallVerdict, practice_name: str) -> tuple[str, str]:
    """(subject, body) to send the insurer: the bill, the contract price, what was paid, the
    difference and the remittance reference. Plain text, to copy into an email or a letter."""
    invoice = verdict.invoice
    line = verdict.remittance_line
    batch = line.batch
    insurer = verdict.insurer_contact.name if verdict.insurer_contact else "Claims team"
    patient = invoice.patient
    paid_on = f" on {batch.payment_date:%-d %B %Y}" if batch.payment_date else ""
    subject = f"Underpayment of invoice {invoice.number}: £{verdict.difference:,.2f} below the agreed price"
    body = "\n".join(
        [
            f"Dear {insurer},",
            "",
            f"Invoice {invoice.number} for {patient.first_name} {patient.last_name}"
            + (f" (membership number {line.membership_number})" if line.membership_number else "")
            + f", dated {invoice.invoice_date:%-d %B %Y}, was paid below the price agreed in our contract.",
            "",
            f"  Billed:                £{verdict.billed:,.2f}",
            f"  Contract price:        £{(verdict.contract_price or verdict.paid + verdict.difference):,.2f}",
            f"  Paid:                  £{verdict.paid:,.2f}{paid_on}",
            f"  Difference owed:       £{verdict.difference:,.2f}",
            f"  Remittance reference:  {batch.payment_reference or batch.external_id}",
            *([f"  Your stated reason:    {line.shortfall_reason}"] if line.shortfall_reason else []),
            "",
            f"Please pay the difference of £{verdict.difference:,.2f}, or tell us why it was deducted.",
            "",
            "Yours faithfully,",
            practice_name,
        ]
    )
    return subject, body


def letter_pdf(*, verdict: ShortfallVerdict, practice) -> bytes:
    """The letter as a PDF on the practice's letterhead, printed like the invoice PDF (the app's
    print CSS, billing's static-only fetcher: rendering sends no request)."""
    from weasyprint import CSS, HTML  # heavy: loaded only when a letter is printed

    subject, body = dispute_letter(verdict=verdict, practice_name=practice.name)
    html = render_to_string(
        "receivables/dispute_letter_pdf.html",
        {"verdict": verdict, "practice": practice, "subject": subject, "body": body, "today": timezone.localdate()},
    )
    fetcher = static_only_fetcher()
    path = finders.find("css/invoice-print.css")
    stylesheets = [CSS(filename=path, url_fetcher=fetcher)] if path else []
    return HTML(string=html, base_url=str(Path(settings.BASE_DIR)), url_fetcher=fetcher).write_pdf(
        stylesheets=stylesheets
    )


# -- writes --------------------------------------------------------------------------------------
def _locked(verdict: ShortfallVerdict, *, allowed: tuple[str, ...], step: str):
    """The insurer invoice locked, then the underpayment and its dispute row (made if missing);
    refused unless the dispute is at one of `allowed`."""
    invoice = billing.lock_invoice(verdict.invoice_id, verdict.practice_id)
    verdict = ShortfallVerdict.objects.select_for_update().get(pk=verdict.pk)
    if verdict.kind != ShortfallKind.UNDERPAYMENT:
        raise ReceivablesError(
            "This shortfall is no longer an insurer underpayment.", field="status", code="wrong_status"
        )
    row, _ = InsurerDispute.objects.select_for_update().get_or_create(
        verdict=verdict, defaults={"practice_id": verdict.practice_id}
    )
    if row.status not in allowed:
        raise ReceivablesError(
            f"This dispute is {row.get_status_display().lower()} already: it cannot be {step}.",
            field="status",
            code="wrong_status",
        )
    return invoice, verdict, row


def _note(text: str, *, required: bool, label: str) -> str:
    text = (text or "").strip()
    if required and not text:
        raise ReceivablesError(f"{label}: write something.", field="note", code="required")
    return text[:300]


@transaction.atomic
def mark_sent(*, verdict: ShortfallVerdict, note: str = "", by=None) -> InsurerDispute:
    """The dispute went to the insurer (its letter or email)."""
    _, _, row = _locked(verdict, allowed=(DisputeStatus.RAISED,), step="sent")
    row.status, row.sent_at, row.sent_by = DisputeStatus.SENT, timezone.now(), by
    row.note = _note(note, required=False, label="Note") or row.note
    row.save(update_fields=["status", "sent_at", "sent_by", "note", "updated_at"])
    return row


def _resolve(row: InsurerDispute, status: str, note: str, by) -> InsurerDispute:
    row.status, row.resolved_at, row.resolved_by, row.note = status, timezone.now(), by, note
    row.save(update_fields=["status", "resolved_at", "resolved_by", "note", "updated_at"])
    return row


@transaction.atomic
def resolve_paid(*, verdict: ShortfallVerdict, note: str = "", by=None) -> InsurerDispute:
    """The insurer agreed and pays the difference (its payment arrives on a later remittance)."""
    _, _, row = _locked(verdict, allowed=OPEN_DISPUTE, step="resolved")
    return _resolve(row, DisputeStatus.PAID, _note(note, required=False, label="Note"), by)


@transaction.atomic
def resolve_as_patients(*, verdict: ShortfallVerdict, note: str, by=None):
    """The insurer showed the deduction is the patient's (an excess after all): the classification
    is overridden with the reason, and the shortfall moves to the patient. Returns the patient's
    invoice."""
    text = _note(note, required=True, label="Why it is the patient's")
    _, verdict, row = _locked(verdict, allowed=OPEN_DISPUTE, step="resolved")
    try:
        remittances.override_shortfall(
            line=verdict.remittance_line, kind=ShortfallKind.PATIENT, reason=f"Insurer dispute: {text}", user=by
        )
        patient_invoice = remittances.transfer_shortfall(line=verdict.remittance_line, user=by)
    except RemittanceError as exc:
        raise ReceivablesError(exc.message, field="note", code="wrong_status") from None
    _resolve(row, DisputeStatus.PATIENT, text, by)
    return patient_invoice


@transaction.atomic
def resolve_written_off(
    *, verdict: ShortfallVerdict, note: str, by=None, today: dt.date | None = None
) -> WriteOffEntry:
    """The practice gives up the difference: an approved write-off of it (at most what the insurer
    invoice still owes) entered in the write-off ledger, reversible the ledger way. The caller
    checks the user may approve write-offs."""
    text = _note(note, required=True, label="Reason")
    invoice, verdict, row = _locked(verdict, allowed=OPEN_DISPUTE, step="written off")
    amount: Decimal = min(verdict.difference, invoice.balance)
    if amount <= 0:
        raise ReceivablesError(
            f"Nothing is owed on invoice {invoice.number} any more: resolve it as paid.",
            field="note",
            code="wrong_status",
        )
    now = timezone.now()
    asked = WriteOff.objects.create(
        practice_id=invoice.practice_id,
        invoice=invoice,
        amount=amount,
        reason=f"Insurer underpayment: {text}"[:300],
        status=WriteOffStatus.APPROVED,
        requested_by=by,
        decided_by=by,
        decided_at=now,
    )
    entry = WriteOffEntry.objects.create(
        practice_id=invoice.practice_id,
        invoice=invoice,
        write_off=asked,
        amount=amount,
        reason=asked.reason,
        posted_on=today or timezone.localdate(),
        created_by=by,
    )
    billing.adjust_written_off(invoice=invoice, amount=amount, reason=f"Written off: {asked.reason}")
    _resolve(row, DisputeStatus.WRITTEN_OFF, text, by)
    return entry
