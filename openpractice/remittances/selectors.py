"""Reads: the inbox, a batch with its lines, the review queue with suggestions, the ledger."""

from __future__ import annotations

import functools
from decimal import Decimal

from django.db import connections
from django.db.models import Exists, OuterRef, Q, QuerySet, Sum

from openpractice.billing.models import BillTo, Invoice, RecordStatus
from openpractice.db import rows
from openpractice.patients.keys import registration_key
from openpractice.practices.tenancy import get_for_practice_or_404
from openpractice.remittances.models import (
    Allocation,
    AllocationKind,
    FetchRun,
    LineStatus,
    RemittanceBatch,
    RemittanceLine,
    RemittanceSettings,
    ShortfallRule,
    ShortfallVerdict,
)

ZERO = Decimal("0.00")


def allocated_total(invoice) -> Decimal:
    """Everything the ledger applied to an invoice (billing's SETTLEMENT_SOURCES hook)."""
    total = Allocation.objects.filter(invoice_id=invoice.pk).aggregate(s=Sum("amount"))["s"]
    return Decimal(str(total or 0)).quantize(Decimal("0.01"))


def batches(*, practice) -> QuerySet[RemittanceBatch]:
    return RemittanceBatch.objects.for_practice(practice).defer("raw_payload")


def batch(*, practice, batch_id) -> RemittanceBatch:
    return get_for_practice_or_404(batches(practice=practice), practice, pk=batch_id)


def lines_of(*, batch: RemittanceBatch) -> QuerySet[RemittanceLine]:
    return RemittanceLine.objects.filter(practice_id=batch.practice_id, batch=batch).select_related(
        "invoice", "verdict"
    )


def line(*, practice, line_id) -> RemittanceLine:
    qs = RemittanceLine.objects.for_practice(practice).select_related("batch", "invoice", "invoice__patient")
    return get_for_practice_or_404(qs, practice, pk=line_id)


def review_queue(*, practice) -> QuerySet[RemittanceLine]:
    return (
        RemittanceLine.objects.for_practice(practice)
        .filter(status=LineStatus.REVIEW)
        .select_related("batch")
        .order_by("batch__payment_date", "batch_id", "sequence")
    )


def open_transfers(*, practice, practitioner_id: int | None = None) -> QuerySet[RemittanceLine]:
    """Allocated lines with a shortfall not yet moved to the patient (on one practitioner's bills when given)."""
    moved = Allocation.objects.filter(
        remittance_line=OuterRef("pk"), kind=AllocationKind.SHORTFALL_TRANSFER, reversed_by__isnull=True
    )
    found = (
        RemittanceLine.objects.for_practice(practice)
        .filter(status=LineStatus.ALLOCATED, shortfall__gt=0)
        .filter(~Exists(moved))
        .select_related("invoice", "invoice__patient", "batch", "verdict")
    )
    return found.filter(invoice__practitioner_id=practitioner_id) if practitioner_id else found


def transfer_of(*, line: RemittanceLine) -> Allocation | None:
    return (
        Allocation.objects.filter(
            remittance_line=line, kind=AllocationKind.SHORTFALL_TRANSFER, reversed_by__isnull=True
        )
        .select_related("patient_invoice")
        .first()
    )


def allocations(*, practice, invoice_id: int | None = None, batch_id: int | None = None) -> QuerySet[Allocation]:
    qs = Allocation.objects.for_practice(practice).select_related(
        "invoice", "invoice_line", "remittance_line__batch", "patient_invoice", "reverses"
    )
    if invoice_id:
        qs = qs.filter(invoice_id=invoice_id)
    if batch_id:
        qs = qs.filter(remittance_line__batch_id=batch_id)
    return qs.order_by("created_at", "id")


def allocation(*, practice, allocation_id) -> Allocation:
    return get_for_practice_or_404(allocations(practice=practice), practice, pk=allocation_id)


def remittance_for_invoice(*, practice, invoice) -> list[RemittanceLine]:
    """The remittance lines posted to an invoice (newest first), each with its batch and verdict
    (None when it has none)."""
    return [line for line, _ in remittance_with_transfers(practice=practice, invoice=invoice)]


def remittance_with_transfers(*, practice, invoice) -> list[tuple[RemittanceLine, Allocation | None]]:
    """The invoice page's remittance panel: each line posted to the invoice (newest first) with its
    batch and verdict (None when it has none), and its shortfall moved to the patient
    (`transfer_of`, with the patient's invoice: its id and number only), the transfers of all the
    lines read in one statement, and only when there are lines. Read by hand (openpractice.db.rows),
    as this and payments_for_invoice run on every view of an invoice, nearly always to find a line
    or two, and the ORM took 1-2 ms each to build them, and a query more per line for its transfer
    (issue 18)."""
    sql = _statements(connections["default"].vendor)
    lines = []
    for line, batch, verdict in rows.every(
        sql["lines"], [practice.pk, invoice.pk], RemittanceLine, RemittanceBatch, ShortfallVerdict
    ):
        _BATCH.set_cached_value(line, batch)
        verdict = rows.joined(verdict)
        _VERDICT.remote_field.set_cached_value(line, verdict)
        if verdict is not None:
            _VERDICT.set_cached_value(verdict, line)
        lines.append(line)
    if not lines:
        return []
    transfers: dict[int, Allocation] = {}
    ids = [line.pk for line in lines]
    for transfer, patient_invoice in rows.every(
        _transfers_sql(connections["default"].vendor, len(ids)),
        [*ids, AllocationKind.SHORTFALL_TRANSFER.value],
        Allocation,
        _INVOICE_NUMBER,
    ):
        _PATIENT_INVOICE.set_cached_value(transfer, rows.joined(patient_invoice))
        transfers.setdefault(transfer.remittance_line_id, transfer)  # the first, as transfer_of's first()
    return [(line, transfers.get(line.pk)) for line in lines]


def shortfalls_carried(*, practice, invoice) -> list[Allocation]:
    """The shortfalls a patient's invoice carries (the transfers that billed them to the patient),
    each with the insurer's invoice (its id and number only), in the order moved; read by hand, as
    remittance_with_transfers."""
    found = []
    for allocation, insurer_invoice in rows.every(
        _statements(connections["default"].vendor)["carried"], [practice.pk, invoice.pk], Allocation, _INVOICE_NUMBER
    ):
        _ALLOCATION_INVOICE.set_cached_value(allocation, insurer_invoice)
        found.append(allocation)
    return found


def payments_for_invoice(*, practice, invoice) -> list[dict]:
    """What the ledger applied to an invoice, one row per remittance line and kind, for the
    invoice's payments panel: an insurer's payment, a shortfall moved to the patient. Reversed rows
    and their reversals cancel and are left out, as are lines that paid nothing (a rejection), so
    the rows add up to what the ledger counts in the invoice's paid total. Read by hand, as
    remittance_for_invoice."""
    found = rows.values(
        _statements(connections["default"].vendor)["payments"],
        [practice.pk, invoice.pk, AllocationKind.REVERSAL.value],
        None,
        None,
        None,
        None,
        None,
        None,
        _AMOUNT,
        _POSTED_ON,
    )
    return [
        {
            "kind": kind,
            "posted_on": posted_on,
            "amount": amount,
            "batch_id": batch_id,
            "reference": reference,
            "insurer": insurer,
            "patient_invoice_id": patient_invoice_id,
            "patient_invoice_number": patient_invoice_number,
        }
        for kind, batch_id, reference, insurer, patient_invoice_id, patient_invoice_number, amount, posted_on in found
        if amount
    ]


_BATCH = RemittanceLine._meta.get_field("batch")
_VERDICT = ShortfallVerdict._meta.get_field("remittance_line")
_AMOUNT = Allocation._meta.get_field("amount")
_PATIENT_INVOICE = Allocation._meta.get_field("patient_invoice")
_ALLOCATION_INVOICE = Allocation._meta.get_field("invoice")
# An invoice as the panel names it: its number, linked by id.
_INVOICE_NUMBER = rows.Only(Invoice, ("id", "number"))
_POSTED_ON = Allocation._meta.get_field("posted_on")


@functools.cache
def _transfers_sql(vendor: str, count: int) -> str:
    """The shortfall moves not reversed of `count` remittance lines, in transfer_of's order."""
    table, invoices = rows.table(Allocation), rows.table(Invoice)
    return (
        f"SELECT {rows.columns(Allocation, 't')}, {rows.columns(_INVOICE_NUMBER, 'ti')} "
        f"FROM {table} t LEFT JOIN {invoices} ti ON ti.id = t.patient_invoice_id "
        f"WHERE t.remittance_line_id IN ({', '.join(['%s'] * count)}) AND t.kind = %s "
        f"AND NOT EXISTS (SELECT 1 FROM {table} r WHERE r.reverses_id = t.id) "
        "ORDER BY t.created_at, t.id"
    )


@functools.cache
def _statements(vendor: str) -> dict[str, str]:
    """The invoice page's statements, built once per database vendor (the quoting differs)."""
    return {
        "lines": (
            f"SELECT {rows.columns(RemittanceLine, 'l')}, {rows.columns(RemittanceBatch, 'b')}, "
            f"{rows.columns(ShortfallVerdict, 'v')} "
            f"FROM {rows.table(RemittanceLine)} l JOIN {rows.table(RemittanceBatch)} b ON b.id = l.batch_id "
            f"LEFT JOIN {rows.table(ShortfallVerdict)} v ON v.remittance_line_id = l.id "
            "WHERE l.practice_id = %s AND l.invoice_id = %s ORDER BY b.payment_date DESC, l.id DESC"
        ),
        "carried": (
            f"SELECT {rows.columns(Allocation, 'a')}, {rows.columns(_INVOICE_NUMBER, 'i')} "
            f"FROM {rows.table(Allocation)} a JOIN {rows.table(Invoice)} i ON i.id = a.invoice_id "
            "WHERE a.practice_id = %s AND a.patient_invoice_id = %s ORDER BY a.created_at, a.id"
        ),
        # Grouped by remittance line and kind (the line's batch and the patient's invoice follow
        # from them); a row that a later one reverses, and the reversals, left out.
        "payments": (
            "SELECT a.kind, l.batch_id, b.payment_reference, b.insurer_name, a.patient_invoice_id, pi.number, "
            "CAST(SUM(a.amount) AS NUMERIC), MAX(a.posted_on) "
            f"FROM {rows.table(Allocation)} a "
            f"LEFT JOIN {rows.table(RemittanceLine)} l ON l.id = a.remittance_line_id "
            f"LEFT JOIN {rows.table(RemittanceBatch)} b ON b.id = l.batch_id "
            f"LEFT JOIN {rows.table(Invoice)} pi ON pi.id = a.patient_invoice_id "
            "WHERE a.practice_id = %s AND a.invoice_id = %s AND a.kind <> %s "
            f"AND NOT EXISTS (SELECT 1 FROM {rows.table(Allocation)} r WHERE r.reverses_id = a.id) "
            "GROUP BY a.remittance_line_id, a.kind, l.batch_id, b.payment_reference, b.insurer_name, "
            "a.patient_invoice_id, pi.number "
            "ORDER BY MAX(a.posted_on), MIN(a.id)"
        ),
    }


def latest_fetch_run(*, practice) -> FetchRun | None:
    """The practice's most recent "Fetch from Healthcode now", for the remittances page."""
    return FetchRun.objects.for_practice(practice).first()


def fetch_run(*, practice, run_id) -> FetchRun:
    return get_for_practice_or_404(FetchRun, practice, pk=run_id)


def settings_for(*, practice) -> RemittanceSettings:
    found = RemittanceSettings.objects.filter(practice=practice).first()
    return found or RemittanceSettings(practice=practice, shortfall_rule=ShortfallRule.BY_HAND)


def owed_invoices(*, practice) -> QuerySet[Invoice]:
    return (
        Invoice.objects.for_practice(practice)
        .filter(record_status=RecordStatus.ISSUED, bill_to=BillTo.INSURER)
        .filter(total__gt=0)
    )


def suggestions(*, line: RemittanceLine, limit: int = 5) -> list[tuple[Invoice, int, list[str]]]:
    """Invoices a biller might mean for an unmatched line, best first: (invoice, score, why)."""
    return suggestions_for(practice=line.practice, lines=[line], limit=limit)[line.pk]


# Each line considers at most this many candidates, newest first.
CANDIDATES_PER_LINE = 50


def _clues(line: RemittanceLine) -> tuple[list[str], str]:
    words = [w for w in line.patient_name.replace(",", " ").split() if len(w) > 1]
    key = registration_key(line.membership_number) if line.membership_number else ""
    return words, key


def _criteria(line: RemittanceLine) -> Q:
    words, key = _clues(line)
    criteria = Q(total=line.amount_invoiced)
    if line.invoice_number:
        criteria |= Q(number__iexact=line.invoice_number) | Q(number__icontains=line.invoice_number[-4:])
    if key:
        criteria |= Q(insurance__registration_key=key)
    for word in words:
        criteria |= Q(patient__last_name__iexact=word)
    return criteria


def _matches(line: RemittanceLine, invoice: Invoice) -> bool:
    """_criteria(line), asked of an invoice already read."""
    words, key = _clues(line)
    number = line.invoice_number
    return (
        invoice.total == line.amount_invoiced
        or bool(number and (invoice.number.upper() == number.upper() or number[-4:].upper() in invoice.number.upper()))
        or bool(key and invoice.insurance is not None and invoice.insurance.registration_key == key)
        or any(w.lower() == invoice.patient.last_name.lower() for w in words)
    )


def suggestions_for(
    *, practice, lines: list[RemittanceLine], limit: int = 5
) -> dict[int, list[tuple[Invoice, int, list[str]]]]:
    """Suggestions for each of `lines` (a page of the review queue), from ONE query: the invoices
    that could match any of them (newest first, CANDIDATES_PER_LINE for each line at most), then
    each line's own, scored here."""
    if not lines:
        return {}
    criteria = Q()
    for line in lines:
        criteria |= _criteria(line)
    candidates = list(
        owed_invoices(practice=practice)
        .filter(criteria)
        .select_related("patient", "insurance", "insurer_contact__insurer")
        .order_by("-invoice_date", "-id")[: CANDIDATES_PER_LINE * len(lines)]
    )
    return {
        line.pk: _scored(line, [i for i in candidates if _matches(line, i)][:CANDIDATES_PER_LINE], limit)
        for line in lines
    }


def _scored(line: RemittanceLine, found: list[Invoice], limit: int) -> list[tuple[Invoice, int, list[str]]]:
    words, key = _clues(line)
    scored = []
    for invoice in found:
        why, score = [], 0
        if line.invoice_number and invoice.number.upper() == line.invoice_number.upper():
            score += 50
            why.append("same invoice number")
        elif line.invoice_number and line.invoice_number[-4:] and line.invoice_number[-4:] in invoice.number:
            score += 10
            why.append("similar invoice number")
        if key and invoice.insurance is not None and invoice.insurance.registration_key == key:
            score += 30
            why.append("same registration number")
        if invoice.total == line.amount_invoiced:
            score += 20
            why.append("same amount invoiced")
        if any(w.lower() == invoice.patient.last_name.lower() for w in words):
            score += 20
            why.append("same surname")
        if invoice.balance < line.amount_paid:
            score -= 40
            why.append(f"but only £{invoice.balance} is owed")
        scored.append((invoice, score, why))
    scored.sort(key=lambda t: (-t[1], -t[0].pk))
    return scored[:limit]
