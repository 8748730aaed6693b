"""Everything that writes remittances and the allocation ledger.

The flow: `store_batch` (the raw remittance, durably, once per remittance id) → `post_batch`
(read it into lines, match each line to an invoice, allocate what was paid to the invoice's
lines; lines that cannot be matched wait for review) → `match_by_hand` / `set_aside` from the
review queue → `transfer_shortfall` (the insurer's deduction becomes the patient's invoice) →
`reverse_allocation` (a new negative row, never an edit) → `record_bank_amount` (BACS check).

Ledger rules, enforced here under the invoice's row lock:
- an invoice's paid_total is billing's payments plus the sum of its allocations, and its
  balance is total less paid, credited and written off;
- an allocation never exceeds what is owed: on the invoice (its balance) and on the invoice
  line (its gross amount less what was already allocated to it);
- a row is reversed at most once (a unique one-to-one), and a reversal is the exact negative;
- a remittance line is received once, whatever its source or form: a line whose key (payer,
  payment reference, bill, amount paid) another line holds is kept as "Already posted" and never
  allocated (`already_received`, backed by the unique `remittance_line_once`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import gc
import json
from collections import defaultdict
from decimal import Decimal

from django.db import IntegrityError, connection, transaction
from django.db.models import Sum
from django.utils import timezone

from openpractice.billing import services as billing
from openpractice.billing.errors import BillingError
from openpractice.billing.models import BillTo, Invoice, InvoiceLine, RecordStatus
from openpractice.billing.money import ZERO, parse_money
from openpractice.coding.selectors import find_insurer
from openpractice.db import bulk
from openpractice.patients.keys import registration_key
from openpractice.products.models import ContractPrice
from openpractice.remittances import parsing
from openpractice.remittances.errors import Code, RemittanceError
from openpractice.remittances.models import (
    Allocation,
    AllocationKind,
    BatchSource,
    BatchStatus,
    LineStatus,
    MatchMethod,
    PendingImport,
    RemittanceBatch,
    RemittanceLine,
    RemittanceSettings,
    ShortfallRule,
    ShortfallVerdict,
)
from openpractice.remittances.shortfall_kind import ShortfallKind, classify_shortfall


# -- the inbox ---------------------------------------------------------------------------------
def store_batch(
    *, practice, source: str, external_id: str, raw_payload: str, user=None, summary: parsing.ParsedBatch | None = None
) -> tuple[RemittanceBatch, bool]:
    """Keep a remittance exactly as received, once. Returns (batch, created). A remittance id
    seen before (a second fetch, a duplicate delivery, the same file again) returns the stored
    row and writes nothing."""
    if source not in BatchSource.values:
        raise ValueError(source)
    external_id = (external_id or "").strip()[:80]
    if not external_id:
        raise RemittanceError("The remittance has no id.", field="external_id")
    content_key = summary.content_key() if summary is not None else None
    found = received_before(practice=practice, external_id=external_id, content_key=content_key)
    if found is not None:
        return found, False
    fields = {}
    if summary is not None:
        fields = {
            "insurer_identifier": summary.insurer_identifier,
            "payment_reference": summary.payment_reference,
            "payment_date": summary.payment_date,
            "payment_amount": summary.payment_amount,
            "content_key": content_key,
        }
    try:
        with transaction.atomic():
            batch = RemittanceBatch.objects.create(
                practice=practice,
                source=source,
                external_id=external_id,
                raw_payload=raw_payload,
                received_by=user,
                **fields,
            )
    except IntegrityError:  # stored by a concurrent fetch (or import) a moment ago
        found = received_before(practice=practice, external_id=external_id, content_key=content_key)
        if found is None:  # not a duplicate after all: the error is about something else
            raise
        return found, False
    return batch, True


def received_before(*, practice, external_id: str, content_key: str | None) -> RemittanceBatch | None:
    """The batch already holding this remittance: by its id (the clearing house's, a FHIR file's
    own, a CSV's content id) or by what it says (the same remittance in another form)."""
    found = RemittanceBatch.objects.filter(practice=practice, external_id=external_id).first()
    if found is None and content_key:
        found = RemittanceBatch.objects.filter(practice=practice, content_key=content_key).first()
    return found


@transaction.atomic
def mark_acknowledged(*, batch: RemittanceBatch) -> None:
    RemittanceBatch.objects.filter(pk=batch.pk, acknowledged_at__isnull=True).update(acknowledged_at=timezone.now())


def _parse_stored(batch: RemittanceBatch, csv_options: dict | None) -> parsing.ParsedBatch:
    if batch.source == BatchSource.CSV_FILE:
        options = csv_options or {}
        return parsing.parse_csv(
            batch.raw_payload.encode("utf-8"),
            mapping=options.get("mapping", {}),
            insurer_identifier=batch.insurer_identifier,
            payment_reference=batch.payment_reference,
            payment_date=batch.payment_date,
        )
    return parsing.parse_bundle(parsing.load_json(batch.raw_payload))


def post_batch(*, batch_id: int, user=None, csv_options: dict | None = None) -> RemittanceBatch:
    """Read a stored batch into lines, match and allocate. Runs once per batch whatever happens:
    the batch row is locked and only a RECEIVED batch is posted. A batch that cannot be read is
    marked FAILED with the problems; its raw payload stays for support."""
    try:
        return _post_batch(batch_id=batch_id, user=user, csv_options=csv_options)
    except RemittanceError as exc:
        with transaction.atomic():
            batch = RemittanceBatch.objects.select_for_update().get(pk=batch_id)
            if batch.status == BatchStatus.RECEIVED:
                batch.status = BatchStatus.FAILED
                batch.error = exc.message[:4000]
                batch.processed_at = timezone.now()
                batch.save(update_fields=["status", "error", "processed_at"])
        raise


@transaction.atomic
def _post_batch(*, batch_id: int, user, csv_options) -> RemittanceBatch:
    batch = RemittanceBatch.objects.select_for_update().select_related("practice").get(pk=batch_id)
    if batch.status != BatchStatus.RECEIVED:
        return batch  # posted already: nothing is posted twice
    with _gc_paused():
        parsed = _parse_stored(batch, csv_options)
        batch.insurer_identifier = parsed.insurer_identifier or batch.insurer_identifier
        batch.payment_reference = parsed.payment_reference or batch.payment_reference
        batch.payment_date = parsed.payment_date or batch.payment_date
        batch.payment_amount = parsed.payment_amount
        batch.insurer_name = _insurer_name(batch.practice, batch.insurer_identifier)
        if batch.content_key is None:  # stored without a summary (e.g. unread at fetch time)
            key = parsed.content_key()
            if not RemittanceBatch.objects.filter(practice=batch.practice, content_key=key).exists():
                batch.content_key = key
        # Not yet saved: allocate_lines matches them first and writes each line once, with its outcome.
        keys = parsing.line_keys(payer=batch.insurer_identifier, reference=batch.payment_reference, lines=parsed.lines)
        lines = [NewLine(line, key) for line, key in zip(parsed.lines, keys)]
        allocate_lines(practice=batch.practice, batch=batch, lines=lines, user=user)
        del parsed, lines
    batch.status = BatchStatus.POSTED
    batch.processed_at = timezone.now()
    batch.error = ""
    batch.save(
        update_fields=[
            "insurer_identifier",
            "insurer_name",
            "payment_reference",
            "payment_date",
            "payment_amount",
            "status",
            "processed_at",
            "error",
            "content_key",
        ]
    )
    classify_shortfalls(practice=batch.practice, lines=RemittanceLine.objects.filter(batch=batch))
    if settings_rule(batch.practice) == ShortfallRule.AUTOMATIC:
        apply_shortfall_rule(practice=batch.practice, batch=batch, user=user)
    return batch


@contextlib.contextmanager
def _gc_paused():
    """A 100,000-bill remittance makes millions of dicts and Decimals that all stay alive until the
    batch is posted: the cycle collector would walk them again and again (half the posting time,
    growing with the batch). Parsing and allocating build no reference cycles; collection resumes
    after."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _insurer_name(practice, identifier: str) -> str:
    if not identifier:
        return ""
    insurer = find_insurer(practice=practice, healthcode_identifier=identifier)
    return insurer.name if insurer else identifier


def settings_rule(practice) -> str:
    found = RemittanceSettings.objects.filter(practice=practice).values_list("shortfall_rule", flat=True).first()
    return found or ShortfallRule.BY_HAND


# -- matching ------------------------------------------------------------------------------------
@dataclasses.dataclass
class _Owed:
    """An invoice as the ledger sees it while lines are posted (updated in memory as they land)."""

    id: int
    number: str
    practice_id: int
    insurer_contact_id: int | None
    total: Decimal
    paid_total: Decimal
    credited_total: Decimal
    written_off_total: Decimal
    lines: dict[int, int]  # sequence -> invoice line id
    line_owed: dict[int, Decimal]  # invoice line id -> gross less allocated
    settled: Decimal = ZERO  # allocated by this posting: billing.apply_settlements adds it to paid_total

    @property
    def balance(self) -> Decimal:
        return self.total - self.paid_total - self.settled - self.credited_total - self.written_off_total


def _load_owed(practice, invoice_ids: set[int]) -> dict[int, _Owed]:
    """Invoices locked for update, with their lines and what each line still owes. Plain values,
    not model instances: a 100,000-line remittance loads 100,000 invoices."""
    owed: dict[int, _Owed] = {}
    pounds = _money_reader()
    # Billing locks them chunk by chunk, in its one lock order; each chunk's lines and allocations
    # are read before the next chunk is locked.
    for chunk, rows, lines in billing.lock_for_settlement(practice=practice, invoice_ids=invoice_ids):
        for row in rows:
            owed[row[0]] = _Owed(
                row[0], row[1], row[2], row[3], pounds(row[4]), pounds(row[5]), pounds(row[6]), pounds(row[7]), {}, {}
            )
        for line_id, invoice_id, sequence, net, vat in lines:
            owed[invoice_id].lines[sequence] = line_id
            owed[invoice_id].line_owed[line_id] = pounds(net) + pounds(vat)
        # What is already allocated to each charge line: one aggregate, balances kept in Python.
        for invoice_id, invoice_line_id, total in (
            Allocation.objects.filter(invoice_id__anyof=chunk, invoice_line__isnull=False)
            .values("invoice_id", "invoice_line_id")
            .annotate(s=Sum("amount"))
            .order_by()
            .values_list("invoice_id", "invoice_line_id", "s")
        ):
            owed[invoice_id].line_owed[invoice_line_id] -= pounds(total)
    return owed


def _pounds(value) -> Decimal:
    """SQLite can hand back Decimal('430') or a float's text: always two places."""
    return Decimal(str(value if value is not None else 0)).quantize(Decimal("0.01"))


def _exact(value) -> Decimal:
    """PostgreSQL's numeric(12, 2) arrives as a two-place Decimal already."""
    return value if value is not None else ZERO


def _money_reader():
    return _exact if connection.vendor == "postgresql" else _pounds


class NewLine:
    """A parsed line on its way into the ledger (written once, with its outcome)."""

    sequence: int  # set with the ParsedLine's other fields in __init__, as the preview reads it

    def __init__(self, parsed: parsing.ParsedLine, line_key: str | None = None):
        self.__dict__.update(vars(parsed))
        self.pk = None
        self.line_key = line_key
        self.status, self.problem, self.invoice_id = LineStatus.NEW, "", None
        self.match_method, self.matched_at, self.matched_by_id = "", None, None


def match_lines(
    *, practice, batch: RemittanceBatch, lines: list[RemittanceLine]
) -> dict[int, tuple[int | None, str, str]]:
    """For each line (keyed by id(line): lines may not be saved yet): (invoice id or None, match
    method, problem). By invoice number first (an
    issued insurer invoice of this practice, to the batch's insurer), then by registration number
    + patient + amount invoiced when exactly one owed invoice fits."""
    result: dict[int, tuple[int | None, str, str]] = {}
    numbers = sorted({line.invoice_number.upper() for line in lines if line.invoice_number})
    by_number: dict[str, dict] = {}
    for chunk in bulk.chunks(numbers):
        for found in (
            Invoice.objects.filter(practice=practice, number__anyof=chunk)
            .values("id", "number", "bill_to", "record_status", "insurer_contact__insurer__healthcode_identifier")
            .order_by()
        ):
            by_number[found["number"].upper()] = found
    waiting: list[RemittanceLine] = []
    for line in lines:
        row = by_number.get(line.invoice_number.upper()) if line.invoice_number else None
        if row is None:
            waiting.append(line)
            continue
        problem = ""
        insurer = row["insurer_contact__insurer__healthcode_identifier"] or ""
        if row["record_status"] != RecordStatus.ISSUED:
            problem = f"Invoice {row['number']} is {row['record_status']}, not issued"
        elif row["bill_to"] != BillTo.INSURER:
            problem = f"Invoice {row['number']} is to the patient, not an insurer"
        elif batch.insurer_identifier and insurer and insurer.lower() != batch.insurer_identifier.lower():
            problem = f"Invoice {row['number']} is to another insurer ({insurer})"
        result[id(line)] = (None if problem else row["id"], MatchMethod.INVOICE_NUMBER, problem)
    keys = {registration_key(line.membership_number): line for line in waiting if line.membership_number}
    candidates: dict[str, list[dict]] = defaultdict(list)
    key_list = sorted(k for k in keys if k)
    for chunk in bulk.chunks(key_list):
        for row in (
            Invoice.objects.filter(
                practice=practice,
                record_status=RecordStatus.ISSUED,
                bill_to=BillTo.INSURER,
                insurance__registration_key__anyof=chunk,
            )
            .values(
                "id",
                "number",
                "total",
                "paid_total",
                "credited_total",
                "written_off_total",
                "insurance__registration_key",
                "patient__last_name",
            )
            .order_by()
        ):
            candidates[row["insurance__registration_key"]].append(row)
    for line in waiting:
        key = registration_key(line.membership_number)
        name = line.patient_name.lower()
        fits = [
            row
            for row in candidates.get(key, [])
            if key
            and row["total"] == line.amount_invoiced
            and row["total"] - row["paid_total"] - row["credited_total"] - row["written_off_total"] > 0
            and row["patient__last_name"].lower() in name
        ]
        if len(fits) == 1:
            result[id(line)] = (fits[0]["id"], MatchMethod.MEMBER, "")
        elif len(fits) > 1:
            result[id(line)] = (
                None,
                "",
                f"{len(fits)} invoices fit the registration number, patient and amount: choose one",
            )
        else:
            result[id(line)] = (
                None,
                "",
                f"No invoice {line.invoice_number or '(no number)'} in this practice, and "
                "none fits the registration number, patient and amount",
            )
    return result


# -- allocation (the ledger) ---------------------------------------------------------------------
_LINE_COLUMNS = (
    "sequence",
    "bill_id",
    "invoice_number",
    "membership_number",
    "patient_name",
    "amount_invoiced",
    "amount_paid",
    "shortfall",
    "shortfall_code",
    "shortfall_reason",
    "items",
    "status",
    "problem",
    "invoice_id",
    "match_method",
    "matched_at",
    "matched_by_id",
    "line_key",
)


def allocate_lines(
    *, practice, batch: RemittanceBatch, lines: list, user=None, forced: dict[int, int] | None = None
) -> None:
    """Match (unless `forced` says id(line) -> invoice id) and allocate in bulk: a handful of
    queries per 500 lines, so a 100,000-line remittance posts in seconds. New lines (NewLine, a
    new batch) are inserted once with their outcome; a saved RemittanceLine (a match by hand) is
    updated. Must run inside the caller's transaction."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("allocate_lines must run inside a transaction")
    now = timezone.now()
    user_id = getattr(user, "pk", None)
    matches: dict[int, tuple[int | None, str, str]]
    if forced is not None:
        matches = {key: (invoice_id, MatchMethod.MANUAL, "") for key, invoice_id in forced.items()}
    else:
        matches = match_lines(practice=practice, batch=batch, lines=lines)
    owed = _load_owed(practice, {m[0] for m in matches.values() if m[0]})
    # Read under the invoices' locks: a concurrent posting of the same line to the same invoice has
    # committed by now, and is seen (the unique key catches any other race).
    received = already_received(practice=practice, lines=lines)
    posted_bills = _already_posted_bills(practice, batch, lines)
    posted_on = batch.payment_date or timezone.localdate()
    planned_rows: list[tuple[object, _Owed, dict]] = []  # (line, invoice, allocation values)
    touched: dict[int, _Owed] = {}
    for line in lines:
        before = received.get(line.line_key) if line.line_key else None
        if before is not None:
            line.status, line.problem, line.invoice_id, line.line_key = (
                LineStatus.DUPLICATE,
                before.problem()[:300],
                None,
                None,
            )
            continue
        invoice_id, method, problem = matches[id(line)]
        entry = owed.get(invoice_id) if invoice_id else None
        if entry is None and not problem:
            problem = "No such invoice in this practice"
        if not problem and line.bill_id and line.bill_id in posted_bills:
            problem = f"Bill {line.bill_id} was already posted from another remittance"
        planned: list[dict] = []
        if not problem:
            assert entry is not None  # no invoice found sets a problem above
            planned, problem = _plan(entry, line)
        if problem:
            line.status, line.problem, line.invoice_id = LineStatus.REVIEW, problem[:300], None
            continue
        assert entry is not None  # as above: no problem, so the invoice was found
        for row in planned:
            if row["invoice_line_id"]:
                entry.line_owed[row["invoice_line_id"]] -= row["amount"]
            entry.settled += row["amount"]
            planned_rows.append((line, entry, row))
        touched[entry.id] = entry
        line.status, line.problem, line.invoice_id = LineStatus.ALLOCATED, "", entry.id
        line.match_method, line.matched_at = method, now
        line.matched_by_id = user_id if method == MatchMethod.MANUAL else None
    _write(batch, lines, planned_rows, list(touched.values()), posted_on, now, user_id)


_ALLOCATION_COLUMNS = (
    "practice_id",
    "invoice_id",
    "invoice_line_id",
    "remittance_line_id",
    "kind",
    "amount",
    "shortfall",
    "reason",
    "insurer_contact_id",
    "posted_on",
    "created_at",
    "created_by_id",
)


def _write(
    batch: RemittanceBatch, lines: list, planned_rows: list, invoices: list[_Owed], posted_on, now, user_id
) -> None:
    """Lines and allocations in bulk (COPY / executemany, not model instances: preparing every value
    through its field was most of the time at 100,000 lines); the invoices' paid totals and
    outcomes through billing.apply_settlements (one UPDATE per 20,000 invoices). No signals, no
    history row per invoice: the allocation rows are the audit.

    On PostgreSQL the new lines' ids are taken from their sequence first, so the invoice updates
    (seconds of server time at 100,000 lines) run while Python builds the line and allocation
    rows, which are then copied in."""
    for line in lines:
        if line.pk is not None:  # a match by hand: one saved line
            line.save(
                update_fields=["status", "problem", "invoice", "match_method", "matched_at", "matched_by", "line_key"]
            )
    new = [line for line in lines if line.pk is None]
    ids = bulk.reserve_ids(RemittanceLine, len(new))
    if ids is None:  # SQLite: lines first, their ids read back, then what refers to them
        bulk.insert_rows(
            RemittanceLine._meta.db_table,
            ("practice_id", "batch_id", *_LINE_COLUMNS),
            _line_rows(batch, new, with_ids=False),
        )
        found = dict(RemittanceLine.objects.filter(batch=batch).values_list("sequence", "id").order_by())
        for line in new:
            line.pk = line.id = found[line.sequence]
        bulk.insert_rows(
            Allocation._meta.db_table, _ALLOCATION_COLUMNS, _allocation_rows(planned_rows, posted_on, now, user_id)
        )
        billing.apply_settlements(invoices=invoices, now=now)
        return
    for line, pk in zip(new, ids):
        line.pk = line.id = pk
    updating = billing.apply_settlements(invoices=invoices, now=now, meanwhile=True)
    try:
        line_rows = _line_rows(batch, new, with_ids=True)
        allocation_rows = _allocation_rows(planned_rows, posted_on, now, user_id)
    finally:
        if updating is not None:
            updating.wait()
    bulk.insert_rows(RemittanceLine._meta.db_table, ("id", "practice_id", "batch_id", *_LINE_COLUMNS), line_rows)
    bulk.insert_rows(Allocation._meta.db_table, _ALLOCATION_COLUMNS, allocation_rows)


def _line_rows(batch: RemittanceBatch, new: list, *, with_ids: bool) -> list[tuple]:
    stamps: dict = {}  # one matched_at for a whole posting: adapt it once
    adapt = connection.ops.adapt_datetimefield_value
    practice_id, batch_id = batch.practice_id, batch.pk
    dumps = json.dumps
    rows = []
    for line in new:
        at = line.matched_at
        if at not in stamps:
            stamps[at] = adapt(at)
        row = (
            practice_id,
            batch_id,
            line.sequence,
            line.bill_id,
            line.invoice_number,
            line.membership_number,
            line.patient_name,
            str(line.amount_invoiced),
            str(line.amount_paid),
            str(line.shortfall),
            line.shortfall_code,
            line.shortfall_reason,
            dumps(line.items),
            line.status,
            line.problem,
            line.invoice_id,
            line.match_method,
            stamps[at],
            line.matched_by_id,
            line.line_key,
        )
        rows.append((line.pk, *row) if with_ids else row)
    return rows


def _allocation_rows(planned_rows: list, posted_on, now, user_id) -> list[tuple]:
    day = connection.ops.adapt_datefield_value(posted_on)
    stamp = connection.ops.adapt_datetimefield_value(now)
    kind = str(AllocationKind.INSURER_PAYMENT)
    return [
        (
            entry.practice_id,
            entry.id,
            row["invoice_line_id"],
            line.pk,
            kind,
            str(row["amount"]),
            str(row["shortfall"]),
            row["reason"],
            entry.insurer_contact_id,
            day,
            stamp,
            user_id,
        )
        for line, entry, row in planned_rows
    ]


@dataclasses.dataclass(frozen=True)
class Received:
    """A line already received that a new one repeats (the rule's answer, for posting and preview)."""

    line_id: int
    sequence: int
    batch_id: int
    remittance: str  # the batch's remittance id
    payment_reference: str
    status: str

    def problem(self) -> str:
        reference = f", BACS reference {self.payment_reference}" if self.payment_reference else ""
        return f"Already posted from remittance {self.remittance}{reference}, line {self.sequence}"


def already_received(*, practice, lines) -> dict[str, Received]:
    """The one rule that no remittance line is posted twice, in its bulk form (posting a batch, a
    match by hand and the import preview all ask it): line key -> the line that holds it, for the
    lines (NewLine, RemittanceLine or ParsedLine with a `line_key`) whose key another line of the
    practice holds. One query per 20,000 keys on the (practice, line_key) unique index."""
    mine = {line.line_key: getattr(line, "pk", None) for line in lines if getattr(line, "line_key", None)}
    found: dict[str, Received] = {}
    for chunk in bulk.chunks(sorted(mine)):
        for key, pk, sequence, batch_id, reference, external_id, status in (
            RemittanceLine.objects.filter(practice=practice, line_key__anyof=chunk)
            .values_list(
                "line_key", "pk", "sequence", "batch_id", "batch__payment_reference", "batch__external_id", "status"
            )
            .order_by()
        ):
            if pk != mine[key]:  # a saved line (a match by hand) holds its own key
                found[key] = Received(pk, sequence, batch_id, external_id, reference, status)
    return found


def _already_posted_bills(practice, batch, lines) -> set[str]:
    bills = sorted({line.bill_id for line in lines if line.bill_id})
    found: set[str] = set()
    for chunk in bulk.chunks(bills):
        found.update(
            RemittanceLine.objects.filter(practice=practice, bill_id__anyof=chunk, status=LineStatus.ALLOCATED)
            .exclude(batch=batch)
            .values_list("bill_id", flat=True)
            .order_by()
        )
    return found


def _plan(entry: _Owed, line) -> tuple[list[dict], str]:
    """The allocation rows for one remittance line, or why it cannot be allocated."""
    if line.amount_paid > entry.balance:
        return [], f"Pays £{line.amount_paid} but only £{entry.balance} is owed on invoice {entry.number}"
    rows = []
    if line.items:
        paid_by_items = ZERO
        for item in line.items:
            invoice_line_id = entry.lines.get(item["sequence"])
            if invoice_line_id is None:
                return [], f"Invoice {entry.number} has no line {item['sequence']}"
            paid, short = Decimal(item["paid"]), Decimal(item["shortfall"])
            if paid > entry.line_owed[invoice_line_id]:
                return [], (
                    f"Pays £{paid} on line {item['sequence']} of invoice {entry.number}, which owes "
                    f"£{entry.line_owed[invoice_line_id]}"
                )
            paid_by_items += paid
            rows.append(
                {
                    "invoice_line_id": invoice_line_id,
                    "amount": paid,
                    "shortfall": short,
                    "reason": item.get("reason", "")[:300],
                }
            )
        if paid_by_items != line.amount_paid:
            return [], f"The charge lines add up to £{paid_by_items}, not the £{line.amount_paid} paid"
        return rows, ""
    # No per-line detail (a CSV row): the invoice's only line, else the invoice as a whole.
    invoice_line_id = next(iter(entry.lines.values())) if len(entry.lines) == 1 else None
    if invoice_line_id is not None and line.amount_paid > entry.line_owed[invoice_line_id]:
        return (
            [],
            f"Pays £{line.amount_paid} but line 1 of invoice {entry.number} owes £{entry.line_owed[invoice_line_id]}",
        )
    return [
        {
            "invoice_line_id": invoice_line_id,
            "amount": line.amount_paid,
            "shortfall": line.shortfall,
            "reason": line.shortfall_reason[:300],
        }
    ], ""


# -- the review queue ----------------------------------------------------------------------------
@transaction.atomic
def match_by_hand(*, line: RemittanceLine, invoice: Invoice, user=None) -> RemittanceLine:
    line = RemittanceLine.objects.select_for_update().select_related("batch").get(pk=line.pk)
    if invoice.practice_id != line.practice_id:
        raise RemittanceError("Choose an invoice of this practice.", field="invoice")
    if line.status == LineStatus.DUPLICATE:
        raise RemittanceError(f"{line.problem}: it is not posted again.", field="status", code=Code.DUPLICATE)
    if line.status not in (LineStatus.REVIEW, LineStatus.NEW, LineStatus.IGNORED):
        raise RemittanceError(
            f"This line is {line.get_status_display().lower()} already.", field="status", code=Code.WRONG_STATUS
        )
    if invoice.record_status != RecordStatus.ISSUED:
        raise RemittanceError(
            f"Invoice {invoice.display_number} is {invoice.get_record_status_display().lower()}: "
            "choose an issued invoice.",
            field="invoice",
        )
    allocate_lines(practice=invoice.practice, batch=line.batch, lines=[line], user=user, forced={id(line): invoice.pk})
    if line.status != LineStatus.ALLOCATED:
        raise RemittanceError(f"{line.problem}. Choose another invoice.", field="invoice", code=Code.NOT_OWED)
    # Matched to another invoice than before (a reversal sent it back): judge the shortfall afresh.
    ShortfallVerdict.objects.filter(remittance_line_id=line.pk).exclude(invoice_id=line.invoice_id).delete()
    classify_shortfalls(practice=invoice.practice, lines=RemittanceLine.objects.filter(pk=line.pk))
    return line


@transaction.atomic
def set_aside(*, line: RemittanceLine, reason: str, user=None) -> RemittanceLine:
    line = RemittanceLine.objects.select_for_update().get(pk=line.pk)
    if line.status != LineStatus.REVIEW:
        raise RemittanceError(
            "Only a line waiting for review can be set aside.", field="status", code=Code.WRONG_STATUS
        )
    reason = (reason or "").strip()
    if not reason:
        raise RemittanceError(
            "Say why this line is set aside (for example: paid to another practice).",
            field="reason",
            code=Code.REQUIRED,
        )
    line.status, line.problem, line.matched_by, line.matched_at = LineStatus.IGNORED, reason[:300], user, timezone.now()
    line.save(update_fields=["status", "problem", "matched_by", "matched_at"])
    return line


# -- reversals -----------------------------------------------------------------------------------
@transaction.atomic
def reverse_allocation(*, allocation: Allocation, reason: str, user=None) -> Allocation:
    """A new row, the exact negative of the one it undoes. Undoing a remittance line's payment
    sends the line back to the review queue to be matched again; undoing a shortfall transfer
    voids the patient's shortfall invoice (refused once the patient has paid towards it)."""
    reason = (reason or "").strip()
    if not reason:
        raise RemittanceError("Say why the allocation is reversed.", field="reason", code=Code.REQUIRED)
    invoice = billing.lock_invoice(allocation.invoice_id, allocation.practice_id)
    allocation = Allocation.objects.select_for_update().get(pk=allocation.pk)
    if allocation.kind == AllocationKind.REVERSAL:
        raise RemittanceError("A reversal cannot itself be reversed: allocate again instead.", field="allocation")
    if Allocation.objects.filter(reverses=allocation).exists():
        raise RemittanceError("This allocation is reversed already.", field="allocation", code=Code.WRONG_STATUS)
    if (
        allocation.kind == AllocationKind.INSURER_PAYMENT
        and allocation.remittance_line_id
        and Allocation.objects.filter(
            remittance_line_id=allocation.remittance_line_id,
            kind=AllocationKind.SHORTFALL_TRANSFER,
            reversed_by__isnull=True,
        ).exists()
    ):
        raise RemittanceError(
            "The shortfall of this payment was moved to the patient: reverse that first.",
            field="allocation",
            code=Code.WRONG_STATUS,
        )
    if allocation.kind == AllocationKind.SHORTFALL_TRANSFER and allocation.patient_invoice_id:
        patient_invoice = billing.lock_invoice(allocation.patient_invoice_id, allocation.practice_id)
        if patient_invoice.record_status != RecordStatus.VOID:
            if patient_invoice.paid_total or patient_invoice.credited_total:
                raise RemittanceError(
                    f"The patient has paid towards invoice {patient_invoice.number}: refund or credit it first.",
                    field="allocation",
                    code=Code.WRONG_STATUS,
                )
            billing.void_invoice(invoice=patient_invoice, reason=f"Shortfall transfer reversed: {reason}"[:200])
    reversal = Allocation.objects.create(
        practice_id=allocation.practice_id,
        invoice_id=allocation.invoice_id,
        invoice_line_id=allocation.invoice_line_id,
        remittance_line_id=allocation.remittance_line_id,
        kind=AllocationKind.REVERSAL,
        amount=-allocation.amount,
        reason=reason[:300],
        reverses=allocation,
        insurer_contact_id=allocation.insurer_contact_id,
        posted_on=timezone.localdate(),
        created_by=user,
    )
    if allocation.kind == AllocationKind.INSURER_PAYMENT and allocation.remittance_line_id:
        still = (
            Allocation.objects.filter(
                remittance_line_id=allocation.remittance_line_id,
                kind=AllocationKind.INSURER_PAYMENT,
                reversed_by__isnull=True,
            )
            .exclude(pk=allocation.pk)
            .exists()
        )
        if not still:
            RemittanceLine.objects.filter(pk=allocation.remittance_line_id).update(
                status=LineStatus.REVIEW, invoice=None, match_method="", problem=f"Allocation reversed: {reason}"[:300]
            )
    billing.refresh_payment_outcome(invoice=invoice)
    return reversal


# -- shortfalls ----------------------------------------------------------------------------------
@transaction.atomic
def transfer_shortfall(*, line: RemittanceLine, user=None) -> Invoice:
    """Move an insurer's stated deduction to the patient: a new issued patient invoice, one line
    per short charge line naming the insurer's reason, and a transfer row that settles the
    insurer invoice by the same amount. Never more than the deduction the insurer stated, nor
    more than the insurer invoice still owes."""
    line = RemittanceLine.objects.select_for_update().select_related("batch").get(pk=line.pk)
    if line.status != LineStatus.ALLOCATED or line.invoice_id is None:
        raise RemittanceError(
            "Match this remittance line to its invoice first.", field="status", code=Code.WRONG_STATUS
        )
    if line.shortfall <= 0:
        raise RemittanceError("This line has no shortfall to move to the patient.", field="shortfall")
    if Allocation.objects.filter(
        remittance_line=line, kind=AllocationKind.SHORTFALL_TRANSFER, reversed_by__isnull=True
    ).exists():
        raise RemittanceError(
            "This shortfall was moved to the patient already.", field="status", code=Code.WRONG_STATUS
        )
    # A line posted before shortfalls were judged is judged now, so the rule holds for it too.
    classify_shortfalls(practice=line.practice, lines=RemittanceLine.objects.filter(pk=line.pk))
    verdict = ShortfallVerdict.objects.filter(remittance_line=line).first()
    if verdict is not None and verdict.kind == ShortfallKind.UNDERPAYMENT:
        raise RemittanceError(
            f"The insurer paid £{verdict.paid:,.2f}, below the contract price of £{verdict.contract_price or 0:,.2f}: "
            "this is an insurer underpayment to dispute with the insurer, not the patient's. "
            "Override the classification first if the patient owes it.",
            field="kind",
            code=Code.UNDERPAYMENT,
        )
    invoice = billing.lock_invoice(line.invoice_id, line.practice_id)
    amount = min(line.shortfall, invoice.balance)
    if amount <= 0:
        raise RemittanceError(
            f"Nothing is owed on invoice {invoice.number} any more: there is no shortfall to move.", field="shortfall"
        )
    insurer = line.batch.insurer_name or (
        invoice.insurer_contact.name if invoice.insurer_contact is not None else "the insurer"
    )
    reason = line.shortfall_reason or ("Rejected" if line.amount_paid == 0 else "Shortfall")
    patient_invoice = billing.create_shortfall_invoice(
        invoice=invoice,
        amount=amount,
        insurer=insurer,
        source=f"remittance {line.batch.payment_reference}",
        reason=line.shortfall_reason or ("rejected" if line.amount_paid == 0 else "shortfall"),
        charges=[
            billing.ShortfallCharge(
                sequence=item["sequence"], amount=Decimal(item["shortfall"]), reason=item.get("reason") or ""
            )
            for item in line.items or []
        ],
        created_by=user,
    )
    Allocation.objects.create(
        practice_id=invoice.practice_id,
        invoice=invoice,
        remittance_line=line,
        kind=AllocationKind.SHORTFALL_TRANSFER,
        amount=amount,
        shortfall=amount,
        reason=f"{insurer}: {reason}"[:300],
        patient_invoice=patient_invoice,
        insurer_contact_id=invoice.insurer_contact_id,
        posted_on=timezone.localdate(),
        created_by=user,
    )
    billing.refresh_payment_outcome(invoice=invoice)
    return patient_invoice


def apply_shortfall_rule(*, practice, batch: RemittanceBatch, user=None) -> int:
    """The practice rule: move every (or every listed reason's) shortfall of a posted batch."""
    rule = RemittanceSettings.objects.filter(practice=practice).first()
    codes = {c.strip() for c in (rule.automatic_codes if rule else "").split(",") if c.strip()}
    moved = 0
    # An insurer underpayment is disputed with the insurer, never moved to the patient.
    lines = batch.lines.filter(status=LineStatus.ALLOCATED, shortfall__gt=0).exclude(
        verdict__kind=ShortfallKind.UNDERPAYMENT
    )
    for line in lines:
        if codes and line.shortfall_code not in codes:
            continue
        try:
            with transaction.atomic():
                transfer_shortfall(line=line, user=user)
            moved += 1
        except RemittanceError:
            continue  # left for a biller: it shows in the shortfalls list
    return moved


# -- underpayment or patient liability ------------------------------------------------------------
def contract_totals(*, practice, invoice_ids: set[int]) -> dict[int, Decimal | None]:
    """Each insurer invoice's price at its insurer's contract prices (quantity x the price valid on
    the service date, summed over its lines); None when a line's product has no contract price
    with that insurer then (nothing to compare with). Three queries whatever the count."""
    found: dict[int, Decimal | None] = {}
    if not invoice_ids:
        return found
    insurer_of: dict[int, int | None] = {}
    lines: list[tuple] = []
    for chunk in bulk.chunks(sorted(invoice_ids)):
        insurer_of.update(
            Invoice.objects.filter(practice=practice, id__anyof=chunk)
            .values_list("id", "insurer_contact_id")
            .order_by()
        )
        lines.extend(
            InvoiceLine.objects.filter(practice=practice, invoice_id__anyof=chunk)
            .values_list("invoice_id", "product_id", "quantity", "service_date")
            .order_by()
        )
    contracts: dict[tuple[int, int | None], list[ContractPrice]] = defaultdict(list)
    for contract in ContractPrice.objects.filter(
        practice=practice,
        product_id__in={line[1] for line in lines},
        insurer_contact_id__in={i for i in insurer_of.values() if i},
    ).order_by("valid_from"):
        contracts[(contract.product_id, contract.insurer_contact_id)].append(contract)
    for invoice_id in invoice_ids:
        found[invoice_id] = ZERO if insurer_of.get(invoice_id) else None
    for invoice_id, product_id, quantity, service_date in lines:
        total = found.get(invoice_id)
        if total is None:
            continue
        price = next(
            (c.price for c in contracts.get((product_id, insurer_of[invoice_id]), ()) if c.is_valid_on(service_date)),
            None,
        )
        found[invoice_id] = None if price is None else total + price * quantity
    return found


def classify_shortfalls(*, practice, lines) -> int:
    """Keep who owes each allocated line's shortfall (`shortfall_kind.classify_shortfall`), for
    lines not judged yet (a verdict, overridden or not, is never judged again). Returns how many
    were judged."""
    todo = list(
        lines.filter(practice=practice, status=LineStatus.ALLOCATED, shortfall__gt=0, invoice__isnull=False)
        .filter(verdict__isnull=True)
        .values("id", "invoice_id", "amount_invoiced", "amount_paid", "shortfall", "shortfall_code", "shortfall_reason")
    )
    if not todo:
        return 0
    invoice_ids = {row["invoice_id"] for row in todo}
    prices = contract_totals(practice=practice, invoice_ids=invoice_ids)
    insurer_of: dict[int, int | None] = {}
    for chunk in bulk.chunks(sorted(invoice_ids)):
        insurer_of.update(
            Invoice.objects.filter(practice=practice, id__anyof=chunk)
            .values_list("id", "insurer_contact_id")
            .order_by()
        )
    verdicts = []
    for row in todo:
        contract = prices.get(row["invoice_id"])
        verdict = classify_shortfall(
            paid=row["amount_paid"],
            shortfall=row["shortfall"],
            contract_price=contract,
            code=row["shortfall_code"],
            reason=row["shortfall_reason"],
        )
        verdicts.append(
            ShortfallVerdict(
                practice=practice,
                remittance_line_id=row["id"],
                invoice_id=row["invoice_id"],
                insurer_contact_id=insurer_of.get(row["invoice_id"]),
                kind=verdict.kind,
                rule_kind=verdict.kind,
                why=verdict.why[:300],
                billed=row["amount_invoiced"],
                paid=row["amount_paid"],
                shortfall=row["shortfall"],
                contract_price=contract,
                difference=verdict.difference,
            )
        )
    ShortfallVerdict.objects.bulk_create(verdicts, batch_size=500)
    return len(verdicts)


@transaction.atomic
def override_shortfall(*, line: RemittanceLine, kind: str, reason: str, user=None) -> ShortfallVerdict:
    """A biller says who owes this shortfall, against the rule: the reason, who and when are kept
    (the rule's own answer stays in `rule_kind`). Refused once the shortfall was moved to the patient."""
    reason = (reason or "").strip()
    if kind not in ShortfallKind.__members__.values():
        raise RemittanceError("Choose an insurer underpayment or the patient's.", field="kind", code=Code.INVALID)
    if not reason:
        raise RemittanceError(
            "Say why you change the classification (for example: the insurer confirmed a policy excess).",
            field="reason",
            code=Code.REQUIRED,
        )
    line = RemittanceLine.objects.select_for_update().get(pk=line.pk)
    if line.status != LineStatus.ALLOCATED or line.shortfall <= 0:
        raise RemittanceError(
            "Only a posted line with a shortfall is classified.", field="kind", code=Code.WRONG_STATUS
        )
    if Allocation.objects.filter(
        remittance_line=line, kind=AllocationKind.SHORTFALL_TRANSFER, reversed_by__isnull=True
    ).exists():
        raise RemittanceError(
            "This shortfall was moved to the patient already: reverse that first.",
            field="kind",
            code=Code.WRONG_STATUS,
        )
    classify_shortfalls(practice=line.practice, lines=RemittanceLine.objects.filter(pk=line.pk))
    verdict = ShortfallVerdict.objects.select_for_update().get(remittance_line=line)
    verdict.kind = kind
    if kind == ShortfallKind.UNDERPAYMENT and verdict.difference <= 0:
        # Disputed by hand without a contract price below what was paid: the whole shortfall.
        verdict.difference = verdict.shortfall
    verdict.override_reason, verdict.overridden_by, verdict.overridden_at = reason[:300], user, timezone.now()
    verdict.save(update_fields=["kind", "difference", "override_reason", "overridden_by", "overridden_at"])
    return verdict


@transaction.atomic
def save_settings(*, practice, shortfall_rule: str, automatic_codes: str = "") -> RemittanceSettings:
    if shortfall_rule not in ShortfallRule.values:
        raise RemittanceError(
            "Choose how shortfalls move to patients: by hand or automatically.", field="shortfall_rule"
        )
    found, _ = RemittanceSettings.objects.update_or_create(
        practice=practice, defaults={"shortfall_rule": shortfall_rule, "automatic_codes": automatic_codes.strip()[:200]}
    )
    return found


# -- BACS ----------------------------------------------------------------------------------------
@transaction.atomic
def record_bank_amount(*, batch: RemittanceBatch, amount) -> RemittanceBatch:
    batch = RemittanceBatch.objects.select_for_update().get(pk=batch.pk)
    value = _money(amount, field="bank_amount", label="Amount on the bank statement")
    batch.bank_amount = value
    batch.bank_recorded_at = timezone.now()
    batch.save(update_fields=["bank_amount", "bank_recorded_at"])
    return batch


def _money(value, *, field: str, label: str) -> Decimal:
    try:
        amount = parse_money(value, field=field, label=label)
    except BillingError as exc:
        raise RemittanceError(exc.message, field=field) from None
    if amount < 0:
        raise RemittanceError(f"{label}: enter £0.00 or more.", field=field)
    return amount


# -- files -------------------------------------------------------------------------------------
MAX_FILE_BYTES = 20 * 1024 * 1024


@dataclasses.dataclass
class Preview:
    """What importing a file would do: its lines, which of them were received before (and from
    which remittance), and whether the whole remittance was."""

    parsed: parsing.ParsedBatch
    posted_from: dict[int, Received]  # line sequence -> the line already received
    received_as: RemittanceBatch | None = None  # the same remittance, received before in any form

    @property
    def already_posted(self) -> list[parsing.ParsedLine]:
        return [line for line in self.parsed.lines if line.sequence in self.posted_from]

    @property
    def new_lines(self) -> list[parsing.ParsedLine]:
        return [line for line in self.parsed.lines if line.sequence not in self.posted_from]

    @property
    def nothing_new(self) -> bool:
        return self.received_as is not None or not self.new_lines

    @property
    def message(self) -> str:
        if self.received_as is not None:
            batch = self.received_as
            return (
                f"This remittance was received already (remittance {batch.external_id}, BACS reference "
                f"{batch.payment_reference or '—'}): nothing to import."
            )
        if not self.new_lines:
            return "Every line of this file is already posted: nothing to import."
        return ""


def _read_file(
    *,
    practice,
    content: bytes,
    kind: str,
    mapping: dict | None,
    insurer_identifier: str,
    payment_reference: str,
    payment_date: dt.date | None,
) -> tuple[parsing.ParsedBatch, str]:
    """The file's remittance and its text as stored (any encoding read, kept as UTF-8 text)."""
    if not content:
        raise RemittanceError("Choose a remittance file.", field="file", code=Code.REQUIRED)
    if len(content) > MAX_FILE_BYTES:
        raise RemittanceError("The file is over 20 MB: split it.", field="file")
    if kind == "fhir":
        text = parsing.json_text(content)
        return parsing.parse_bundle(parsing.load_json(text)), text
    if kind != "csv":
        raise RemittanceError(
            "Choose the file type: a Healthcode remittance file (.json) or an insurer's CSV.", field="kind"
        )
    if not payment_reference.strip():
        raise RemittanceError(
            "Enter the BACS reference of the payment, as on the remittance advice.",
            field="payment_reference",
            code=Code.REQUIRED,
        )
    # The payer is part of what identifies each line: the directory's identifier, not what was typed.
    insurer = (
        find_insurer(practice=practice, healthcode_identifier=insurer_identifier.strip())
        if insurer_identifier.strip()
        else None
    )
    if insurer is None:
        raise RemittanceError(
            "Enter the Healthcode identifier (Insurance) of the insurer that paid, such as bup.",
            field="insurer_identifier",
            code=Code.REQUIRED if not insurer_identifier.strip() else Code.INVALID,
        )
    text = parsing.decode_text(content)
    parsed = parsing.parse_csv(
        text.encode("utf-8"),
        mapping=mapping or {},
        insurer_identifier=insurer.healthcode_identifier,
        payment_reference=payment_reference.strip(),
        payment_date=payment_date,
    )
    return parsed, text


def preview_file(
    *,
    practice,
    content: bytes,
    kind: str,
    mapping: dict | None = None,
    insurer_identifier: str = "",
    payment_reference: str = "",
    payment_date: dt.date | None = None,
) -> Preview:
    """Read a file without writing anything (the preview): its lines, and which were received before."""
    parsed, _ = _read_file(
        practice=practice,
        content=content,
        kind=kind,
        mapping=mapping,
        insurer_identifier=insurer_identifier,
        payment_reference=payment_reference,
        payment_date=payment_date,
    )
    return _preview(practice, parsed)


def _preview(practice, parsed: parsing.ParsedBatch) -> Preview:
    keys = parsing.line_keys(payer=parsed.insurer_identifier, reference=parsed.payment_reference, lines=parsed.lines)
    lines = [NewLine(line, key) for line, key in zip(parsed.lines, keys)]
    received = already_received(practice=practice, lines=lines)
    posted_from = {line.sequence: received[line.line_key] for line in lines if line.line_key in received}
    return Preview(
        parsed=parsed,
        posted_from=posted_from,
        received_as=received_before(
            practice=practice, external_id=parsed.external_id, content_key=parsed.content_key()
        ),
    )


def import_file(
    *,
    practice,
    content: bytes,
    kind: str,
    mapping: dict | None = None,
    insurer_identifier: str = "",
    payment_reference: str = "",
    payment_date: dt.date | None = None,
    user=None,
) -> RemittanceBatch:
    """Preview again (the file may have changed, or its lines arrived meanwhile), then store and
    post in one transaction: a bad file posts nothing; lines received before are kept as
    "Already posted" and only the rest post; a remittance with nothing new is not stored at all."""
    parsed, text = _read_file(
        practice=practice,
        content=content,
        kind=kind,
        mapping=mapping,
        insurer_identifier=insurer_identifier,
        payment_reference=payment_reference,
        payment_date=payment_date,
    )
    preview = _preview(practice, parsed)
    if preview.nothing_new:
        raise RemittanceError(preview.message, field="file", code=Code.DUPLICATE)
    source = BatchSource.FHIR_FILE if kind == "fhir" else BatchSource.CSV_FILE
    try:
        with transaction.atomic():
            batch, created = store_batch(
                practice=practice,
                source=source,
                external_id=parsed.external_id,
                raw_payload=text,
                user=user,
                summary=parsed,
            )
            if not created:
                raise RemittanceError(
                    "This remittance was received already: nothing to import.", field="file", code=Code.DUPLICATE
                )
            return _post_batch(batch_id=batch.pk, user=user, csv_options={"mapping": mapping or {}})
    except IntegrityError:
        # A line key taken by a posting that committed a moment ago (lines no invoice lock
        # serialised): nothing of this file was written; a second try sees that posting.
        raise RemittanceError(
            "Another remittance with some of these lines was posted at the same moment: import "
            "the file again to post what is new.",
            field="file",
            code=Code.CONFLICT,
        ) from None


# -- pending imports: upload → preview → confirm ----------------------------------------------------
def start_import(
    *, practice, user, name: str, content: bytes, kind: str, options: dict
) -> tuple[PendingImport | None, Preview]:
    """Preview a file and keep it, until confirmed, in a PendingImport of this user. A file with
    nothing new to post is not kept (None). Expired pending imports of every practice go here."""
    preview = preview_file(practice=practice, content=content, kind=kind, **options)
    now = timezone.now()
    PendingImport.objects.filter(expires_at__lte=now).delete()
    if preview.nothing_new:
        return None, preview
    stored = {**options, "payment_date": options["payment_date"].isoformat() if options.get("payment_date") else None}
    pending = PendingImport.objects.create(
        practice=practice,
        user=user,
        name=(name or "")[:200],
        kind=kind,
        options=stored,
        content=content,
        expires_at=now + dt.timedelta(minutes=PendingImport.LIFETIME_MINUTES),
    )
    return pending, preview


def confirm_import(*, pending: PendingImport, user) -> RemittanceBatch:
    """Post a previewed file (the caller found `pending` for this practice and user). Deleted once
    posted, expired, or refused: the user chooses the file again."""
    if pending.expires_at <= timezone.now():
        PendingImport.objects.filter(pk=pending.pk).delete()
        raise RemittanceError("The preview has expired: choose the file again.", field="file", code=Code.EXPIRED)
    options = dict(pending.options)
    if options.get("payment_date"):
        options["payment_date"] = dt.date.fromisoformat(options["payment_date"])
    try:
        with transaction.atomic():
            # Locked: a second click waits here, then finds the row gone.
            if not PendingImport.objects.select_for_update().filter(pk=pending.pk).exists():
                raise RemittanceError("This file was posted already.", field="file", code=Code.DUPLICATE)
            batch = import_file(
                practice=pending.practice, content=bytes(pending.content), kind=pending.kind, user=user, **options
            )
            PendingImport.objects.filter(pk=pending.pk).delete()
    except RemittanceError:
        PendingImport.objects.filter(pk=pending.pk).delete()
        raise
    return batch
