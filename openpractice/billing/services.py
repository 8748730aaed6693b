"""Everything that writes invoices, payments and credit notes: keyword arguments, one
transaction, a status guard before each transition, BillingError naming the field."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from operator import attrgetter
from typing import NamedTuple, Protocol

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from openpractice.billing.errors import BillingError
from openpractice.billing.models import (
    LIVE_HEALTHCODE_STATUSES,
    SHORTFALL_PRICE_SOURCE,
    BillTo,
    CreditNote,
    HealthcodeStatus,
    Invoice,
    InvoiceLine,
    NumberSequence,
    Payment,
    PaymentMethod,
    PaymentOutcome,
    ProviderKind,
    RecordStatus,
    SequenceKind,
    ServiceSetting,
)
from openpractice.billing.money import ZERO, parse_money, round_money
from openpractice.billing.service_setting import needs_admission_date
from openpractice.coding.models import CodeSystem
from openpractice.coding.selectors import get_code
from openpractice.db import arrays, bulk
from openpractice.patients.models import Patient, RelationshipType
from openpractice.products.models import Product
from openpractice.products.selectors import contracts_of

MAX_NUMBER_LENGTH = 10  # AXA Health's limit, the strictest insurer rule Healthcode publishes
DEFAULT_PREFIXES: dict[str, str] = {SequenceKind.INVOICE: "INV", SequenceKind.CREDIT_NOTE: "CN"}
PREFIX = re.compile(r"^[A-Z]{1,4}$")
MAX_LINES = 50
MAX_QUANTITY = 999

HEADER_FIELDS = (
    "bill_to",
    "patient",
    "insurance",
    "practitioner",
    "location",
    "invoice_date",
    "due_date",
    "notes",
    "service_setting",
    "admission_date",
    "discharge_date",
    "primary_diagnosis",
    "other_diagnoses",
    "authorisation_code",
    "provider_kind",
    "provider_location",
    "payee_kind",
    "payee_location",
    "controlling_specialist",
    "facility",
)


# -- numbering -------------------------------------------------------------------------------
def format_number(prefix: str, value: int) -> str:
    """PREFIX + at least 6 digits, e.g. INV000042: no full stops, at most 10 characters."""
    number = f"{prefix}{value:06d}"
    if len(number) > MAX_NUMBER_LENGTH:
        raise BillingError(
            f"The {prefix} number sequence is used up ({MAX_NUMBER_LENGTH} characters at most): "
            "choose a shorter prefix under Settings.",
            field="number",
            code="sequence_exhausted",
        )
    return number


def take_number(*, practice, kind: str = SequenceKind.INVOICE) -> str:
    """The next number of the practice's sequence. Must run inside the caller's transaction: the
    sequence row stays locked until it commits, so concurrent issues queue here, and a rolled
    back issue gives its number back rather than leaving a gap that looks like a lost invoice."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("take_number must run inside a transaction")
    return take_numbers(practice=practice, kind=kind, count=1)[0]


def take_numbers(*, practice, count: int, kind: str = SequenceKind.INVOICE) -> list[str]:
    """`count` consecutive numbers in one lock and one write (a bulk submission issues many
    drafts at once); same rules as take_number."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("take_number must run inside a transaction")
    if count < 1:
        return []
    NumberSequence.objects.get_or_create(practice=practice, kind=kind, defaults={"prefix": DEFAULT_PREFIXES[kind]})
    sequence = NumberSequence.objects.select_for_update().get(practice=practice, kind=kind)
    first = sequence.next_value
    numbers = [format_number(sequence.prefix, value) for value in range(first, first + count)]
    sequence.next_value = first + count
    sequence.save(update_fields=["next_value"])
    return numbers


def clean_prefix(prefix: str) -> str:
    """A number prefix as stored: 1 to 4 letters A-Z, upper-cased."""
    prefix = (prefix or "").strip().upper()
    if not PREFIX.match(prefix):
        raise BillingError(
            "The number prefix is 1 to 4 capital letters, such as INV (no full stops or digits).", field="prefix"
        )
    return prefix


@transaction.atomic
def set_number_prefix(*, practice, prefix: str, kind: str = SequenceKind.INVOICE) -> NumberSequence:
    prefix = clean_prefix(prefix)
    sequence, _ = NumberSequence.objects.get_or_create(practice=practice, kind=kind, defaults={"prefix": prefix})
    sequence = NumberSequence.objects.select_for_update().get(pk=sequence.pk)
    format_number(prefix, sequence.next_value)  # still fits?
    sequence.prefix = prefix
    sequence.save(update_fields=["prefix"])
    return sequence


@transaction.atomic
def set_number_prefixes(*, practice, invoice_prefix: str, credit_note_prefix: str) -> None:
    """Both prefixes or neither. Changing a prefix never reuses a number: the sequence's counter
    carries on, so INV000041 followed by a change to HS gives HS000042."""
    prefixes = {SequenceKind.INVOICE: invoice_prefix, SequenceKind.CREDIT_NOTE: credit_note_prefix}
    cleaned = {kind: (prefix or "").strip().upper() for kind, prefix in prefixes.items()}  # checked below
    if cleaned[SequenceKind.INVOICE] == cleaned[SequenceKind.CREDIT_NOTE]:
        raise BillingError(
            "Invoices and credit notes need different prefixes, so their numbers never meet.",
            field="credit_note_prefix",
        )
    for kind, prefix in cleaned.items():
        try:
            set_number_prefix(practice=practice, prefix=prefix, kind=kind)
        except BillingError as exc:
            raise BillingError(exc.message, field=f"{kind}_prefix", code=exc.code) from exc


# -- prices ----------------------------------------------------------------------------------
def resolve_price(*, product, insurer_contact, on_date: dt.date) -> tuple[Decimal, str]:
    """The price for the payer: the insurer's contract price valid on the date of service, else
    the list price. Returns (price, "contract" | "list")."""
    if insurer_contact is not None:
        contract = (
            contracts_of(product=product)
            .filter(insurer_contact=insurer_contact, valid_from__lte=on_date)
            .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=on_date))
            .first()
        )
        if contract is not None:
            return contract.price, "contract"
    return product.list_price, "list"


# -- cleaning --------------------------------------------------------------------------------
def _same_practice(obj, practice, field: str, what: str):
    if obj is not None and obj.practice_id != practice.pk:
        raise BillingError(f"Choose {what} of this practice.", field=field)
    return obj


def _date(value, field: str, label: str, *, required: bool = False):
    if value in (None, ""):
        if required:
            raise BillingError(
                f"Enter the {label}, such as {timezone.localdate():%d/%m/%Y}.", field=field, code="required"
            )
        return None
    if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
        raise BillingError(f"Enter the {label} as a date, such as {timezone.localdate():%d/%m/%Y}.", field=field)
    return value


def _clean_header(practice, data: dict) -> dict:
    out = {f: data.get(f) for f in HEADER_FIELDS}
    if out["bill_to"] not in BillTo.values:
        raise BillingError("Choose who the invoice is to: the patient or an insurer of the patient.", field="bill_to")
    patient = out["patient"]
    if not isinstance(patient, Patient):
        raise BillingError("Choose the patient.", field="patient", code="required")
    _same_practice(patient, practice, "patient", "a patient")
    insurance = out["insurance"]
    if out["bill_to"] == BillTo.INSURER:
        if insurance is None:
            raise BillingError(
                "Choose which of the patient's insurers to bill (add one on the patient's page under Relationships).",
                field="insurance",
                code="required",
            )
        if (
            insurance.practice_id != practice.pk
            or insurance.patient_id != patient.pk
            or insurance.relationship_type != RelationshipType.INSURANCE
        ):
            raise BillingError("Choose an insurance provider of this patient.", field="insurance")
        out["insurer_contact"] = insurance.related_contact
    else:
        out["insurance"] = None
        out["insurer_contact"] = None
    practitioner = out["practitioner"]
    if practitioner is None:
        raise BillingError("Choose the practitioner who treated the patient.", field="practitioner", code="required")
    _same_practice(practitioner, practice, "practitioner", "a practitioner")
    for field, what in (
        ("location", "a location"),
        ("provider_location", "a location"),
        ("payee_location", "a location"),
        ("facility", "a location"),
        ("controlling_specialist", "a practitioner"),
    ):
        _same_practice(out[field], practice, field, what)
    out["invoice_date"] = _date(out["invoice_date"], "invoice_date", "invoice date", required=True)
    out["due_date"] = _date(out["due_date"], "due_date", "due date")
    if out["due_date"] and out["due_date"] < out["invoice_date"]:
        raise BillingError("The due date cannot be before the invoice date.", field="due_date")
    out["notes"] = (out["notes"] or "").strip()[:2000]
    out["service_setting"] = out["service_setting"] or ServiceSetting.CONSULTING_ROOM
    if out["service_setting"] not in ServiceSetting.values:
        raise BillingError(
            "Choose the Service setting: Consultation room, Outpatient, Inpatient or Daycase.", field="service_setting"
        )
    stay = needs_admission_date(out["service_setting"])
    label = ServiceSetting(out["service_setting"]).label.lower()
    # Healthcode fails an in-patient or day case bill without it: asked for on the first save.
    out["admission_date"] = _date(
        out["admission_date"], "admission_date", f"admission date (a {label} bill needs it)", required=stay
    )
    out["discharge_date"] = _date(out["discharge_date"], "discharge_date", "discharge date")
    if stay:
        if out["admission_date"] and out["discharge_date"] and out["discharge_date"] < out["admission_date"]:
            raise BillingError("The discharge date cannot be before the admission date.", field="discharge_date")
    else:  # only a stay has admission and discharge dates
        out["admission_date"] = out["discharge_date"] = None
    diagnoses = []
    for field, value in [("primary_diagnosis", out["primary_diagnosis"])] + [
        ("other_diagnoses", v) for v in (out["other_diagnoses"] or [])
    ]:
        value = (value or "").strip().upper()
        if not value:
            continue
        code = get_code(practice=practice, system=CodeSystem.ICD10, code=value)
        if code is None:
            raise BillingError(
                f"“{value}” is not an ICD-10 code: type a code or words and choose from the list (such as M17.1).",
                field=field,
            )
        if code.code not in diagnoses:
            diagnoses.append(code.code)
    if not out["primary_diagnosis"] and diagnoses:
        raise BillingError("Enter the primary diagnosis before the others.", field="primary_diagnosis")
    out["primary_diagnosis"] = diagnoses[0] if diagnoses else ""
    out["other_diagnoses"] = diagnoses[1:]
    out["authorisation_code"] = re.sub(r"\s+", " ", (out["authorisation_code"] or "").strip()).upper()[:30]
    for kind_field, location_field, label in (
        ("provider_kind", "provider_location", "provider"),
        ("payee_kind", "payee_location", "payee provider"),
    ):
        out[kind_field] = out[kind_field] or ProviderKind.PRACTITIONER
        if out[kind_field] not in ProviderKind.values:
            raise BillingError(f"Choose the {label}: the practitioner or a location.", field=kind_field)
        if out[kind_field] == ProviderKind.LOCATION:
            if out[location_field] is None:
                raise BillingError(f"Choose the location that is the {label}.", field=location_field, code="required")
        else:
            out[location_field] = None
    return out


def _clean_lines(practice, header: dict, lines: list[dict]) -> list[dict]:
    if not lines:
        raise BillingError(
            "Add at least one line: choose a product and the date of service.", field="lines", code="required"
        )
    if len(lines) > MAX_LINES:
        raise BillingError(f"An invoice can have at most {MAX_LINES} lines.", field="lines")
    cleaned = []
    for number, line in enumerate(lines, start=1):
        field = f"lines[{number}]"
        product = line.get("product")
        if not isinstance(product, Product) or product.practice_id != practice.pk:
            raise BillingError(f"Line {number}: choose a product of this practice.", field=f"{field}.product")
        service_date = _date(
            line.get("service_date"), f"{field}.service_date", f"line {number} date of service", required=True
        )
        quantity = line.get("quantity", 1)
        if isinstance(quantity, bool) or not isinstance(quantity, int) or not 1 <= quantity <= MAX_QUANTITY:
            raise BillingError(
                f"Line {number}: the quantity is a whole number from 1 to {MAX_QUANTITY}.", field=f"{field}.quantity"
            )
        price, source = resolve_price(product=product, insurer_contact=header["insurer_contact"], on_date=service_date)
        net = round_money(price * quantity)
        vat_rate = product.vat_rate
        cleaned.append(
            {
                "sequence": number,
                "product": product,
                "description": product.name[:200],
                "service_date": service_date,
                "quantity": quantity,
                "unit_price": price,
                "price_source": source,
                "vat_rate": vat_rate,
                "net_amount": net,
                "vat_amount": round_money(net * vat_rate),
                "industry_standard_code": product.industry_standard_code,
                "procedure_code": product.procedure_code,
            }
        )
    return cleaned


class Totals(NamedTuple):
    net: Decimal
    vat: Decimal
    total: Decimal


def totals_of(lines: Sequence[Mapping]) -> Totals:
    """An invoice's totals from its priced lines (each already rounded to the penny)."""
    net = sum((line["net_amount"] for line in lines), ZERO)
    vat = sum((line["vat_amount"] for line in lines), ZERO)
    return Totals(net, vat, net + vat)


@dataclasses.dataclass(frozen=True)
class Quote:
    """What a bill of these lines comes to before it is saved: the invoice form's running total.
    Priced by the same code as the save (_clean_lines, totals_of), so the saved total is the
    total the form showed."""

    lines: list[dict]
    net: Decimal
    vat: Decimal
    total: Decimal


def quote_lines(*, practice, insurer_contact, lines: list[dict]) -> Quote:
    """Price lines for the payer (None: the patient, list prices) without writing anything.
    Raises BillingError as the save would for a line it cannot price."""
    if not lines:
        return Quote([], ZERO, ZERO, ZERO)
    priced = _clean_lines(practice, {"insurer_contact": insurer_contact}, lines)
    return Quote(priced, *totals_of(priced))


def _write_lines(invoice: Invoice, lines: list[dict]) -> None:
    invoice.lines.all().delete()
    InvoiceLine.objects.bulk_create(
        [InvoiceLine(practice_id=invoice.practice_id, invoice=invoice, **line) for line in lines]
    )
    invoice.net_total, invoice.vat_total, invoice.total = totals_of(lines)


def _apply_header(invoice: Invoice, header: dict) -> None:
    for field, value in header.items():
        setattr(invoice, field, value)
    if invoice.bill_to == BillTo.PATIENT:
        invoice.healthcode_status = HealthcodeStatus.NOT_SUBMITTED


@transaction.atomic
def create_invoice(*, practice, data: dict, lines: list[dict], created_by=None) -> Invoice:
    header = _clean_header(practice, data)
    if header["bill_to"] == BillTo.INSURER and not header["authorisation_code"] and header["insurance"]:
        header["authorisation_code"] = header["insurance"].authorisation_code  # from the patient's record
    cleaned = _clean_lines(practice, header, lines)
    invoice = Invoice(practice=practice, created_by=created_by)
    _apply_header(invoice, header)
    invoice.save()
    _write_lines(invoice, cleaned)
    invoice.save(update_fields=["net_total", "vat_total", "total"])
    return invoice


def _locked(invoice: Invoice) -> Invoice:
    return lock_invoice(invoice.pk, invoice.practice_id)


# -- the lock order ---------------------------------------------------------------------------
# One order for every transaction that holds several invoices: `select_for_update` in ascending
# id order, in one query, so two transactions wanting overlapping invoices queue behind each other
# instead of deadlocking. Rows of other apps that hang off an invoice are locked AFTER it, never
# before: healthcode locks the invoice (here) and then its Submission rows, one bill or a chunk
# alike; remittances lock the invoices in this order, chunk after chunk, before their ledger rows.
# The ids travel as one array parameter (`__anyof`), however many: a remittance locks 20,000 a query.
def _for_update(practice_id: int | None, invoice_ids: Iterable[int]):
    ids = arrays.Values(sorted(set(invoice_ids)))
    rows = Invoice.objects.select_for_update().filter(pk__anyof=ids).order_by("pk")
    return rows if practice_id is None else rows.filter(practice_id=practice_id)


def lock_invoices(*, practice_id: int | None, invoice_ids: Iterable[int]) -> dict[int, Invoice]:
    """The invoices of these ids, locked in the one order, by id. `practice_id` None only for ids
    read from the caller's own rows (a delivery chunk's submissions may span practices)."""
    return {invoice.pk: invoice for invoice in _for_update(practice_id, invoice_ids)}


def lock_invoice_ids(*, practice_id: int | None, invoice_ids: Iterable[int]) -> list[int]:
    """`lock_invoices` without reading the rows, for a caller that only needs them held."""
    return list(_for_update(practice_id, invoice_ids).values_list("pk", flat=True))


def lock_invoice(invoice_id: int, practice_id: int | None) -> Invoice:
    return _for_update(practice_id, [invoice_id]).get()


@transaction.atomic
def update_invoice(*, invoice: Invoice, data: dict, lines: list[dict] | None = None) -> Invoice:
    invoice = _locked(invoice)
    if not invoice.is_editable:
        raise BillingError(
            f"This invoice cannot be changed: it is {invoice.get_record_status_display().lower()}"
            f"{' and ' + invoice.get_healthcode_status_display().lower() + ' at Healthcode' if invoice.healthcode_status != HealthcodeStatus.NOT_SUBMITTED else ''}. "
            "Issue a credit note instead, or cancel the bill first.",
            code="locked",
        )
    if invoice.paid_total or invoice.credited_total:
        raise BillingError("This invoice has payments or credit notes: it can no longer be changed.", code="locked")
    if invoice.carries_shortfall:
        raise BillingError(
            "This invoice is an insurer's shortfall: its amount is the insurer's stated deduction and "
            "cannot be changed. Reverse the shortfall transfer or issue a credit note.",
            code="locked",
        )
    merged = {f: getattr(invoice, f) for f in HEADER_FIELDS}
    merged.update(data)
    header = _clean_header(invoice.practice, merged)
    if invoice.record_status == RecordStatus.ISSUED and header["bill_to"] != invoice.bill_to:
        raise BillingError(
            "An issued invoice cannot change who it is to: void it and raise a new one.", field="bill_to"
        )
    if lines is None:
        lines = [
            {"product": line.product, "service_date": line.service_date, "quantity": line.quantity}
            for line in invoice.lines.select_related("product")
        ]
    cleaned = _clean_lines(invoice.practice, header, lines)
    _apply_header(invoice, header)
    _write_lines(invoice, cleaned)
    invoice._change_reason = "Edited"  # type: ignore[attr-defined]  # simple-history reads it; not a model field
    invoice.save()
    _refresh_outcome(invoice)
    return invoice


# -- issuing: one invoice, or many at once (one guard, one way of setting the fields) ---------
ISSUED_FIELDS = ["number", "record_status", "issued_at", "updated_at"]


def _require_draft(invoice: Invoice, *, named: bool = False) -> None:
    if invoice.record_status != RecordStatus.DRAFT:
        which = f"Invoice {invoice.number or f'#{invoice.pk}'}: only" if named else "Only"
        raise BillingError(
            f"{which} a draft can be issued; this invoice is {invoice.get_record_status_display().lower()}.",
            field="record_status",
            code="wrong_status",
        )


def _mark_issued(invoice: Invoice, number: str, now: dt.datetime) -> None:
    invoice.number = number
    invoice.record_status = RecordStatus.ISSUED
    invoice.issued_at = now
    invoice.updated_at = now
    invoice._change_reason = f"Issued as {number}"  # type: ignore[attr-defined]  # simple-history reads it; not a model field


@transaction.atomic
def issue_invoice(*, invoice: Invoice) -> Invoice:
    invoice = _locked(invoice)
    _require_draft(invoice)
    _mark_issued(invoice, take_number(practice=invoice.practice), timezone.now())
    invoice.save(update_fields=ISSUED_FIELDS)
    return invoice


def _require_callers_transaction(what: str) -> None:
    """The bulk forms write invoices the caller locked: they run in the transaction holding the locks."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError(f"{what} must run inside the transaction that locked the invoices (lock_invoices)")


def issue_invoices(*, practice, invoices: Iterable[Invoice], user=None) -> list[Invoice]:
    """`issue_invoice` for many drafts of the practice at once (healthcode's bulk queueing): the
    invoices must be locked by `lock_invoices` in the caller's transaction. All or nothing: an
    invoice that is not a draft refuses the lot, naming it. Numbered in ascending id order from one
    `take_numbers`, one history row each ("Issued as ..."), one UPDATE for all. The objects given
    are updated in place and returned, in id order."""
    _require_callers_transaction("issue_invoices")
    invoices = sorted(invoices, key=lambda invoice: invoice.pk)
    for invoice in invoices:
        if invoice.practice_id != practice.pk:
            raise BillingError(f"Invoice #{invoice.pk} is not an invoice of this practice.", field="invoices")
        _require_draft(invoice, named=True)
    if not invoices:
        return []
    now = timezone.now()
    for invoice, number in zip(invoices, take_numbers(practice=practice, count=len(invoices))):
        _mark_issued(invoice, number, now)
    Invoice.history.bulk_history_create(invoices, update=True, default_user=user)
    bulk.update_fields(invoices, ISSUED_FIELDS)
    return invoices


@transaction.atomic
def void_invoice(*, invoice: Invoice, reason: str) -> Invoice:
    invoice = _locked(invoice)
    reason = (reason or "").strip()
    if not reason:
        raise BillingError(
            "Say why the invoice is void (the reason stays on the record).", field="reason", code="required"
        )
    if invoice.record_status == RecordStatus.VOID:
        raise BillingError("This invoice is already void.", field="record_status", code="wrong_status")
    if invoice.healthcode_status in LIVE_HEALTHCODE_STATUSES:
        raise BillingError(
            "The bill is with Healthcode: cancel it there first (possible until the insurer "
            "collects it), or issue a credit note.",
            field="record_status",
            code="wrong_status",
        )
    if invoice.paid_total:
        raise BillingError(
            "This invoice has payments: issue a credit note instead of voiding it.",
            field="record_status",
            code="wrong_status",
        )
    invoice.record_status = RecordStatus.VOID
    invoice.voided_at = timezone.now()
    invoice.void_reason = reason[:200]
    invoice._change_reason = f"Voided: {reason[:80]}"  # type: ignore[attr-defined]  # simple-history reads it; not a model field
    invoice.save(update_fields=["record_status", "voided_at", "void_reason", "updated_at"])
    return invoice


# Other ledgers that settle invoices register a function here (the remittances app: its
# Allocation rows). Each is called with the invoice and returns the Decimal amount it applied,
# which counts in paid_total alongside this app's Payment rows.
SETTLEMENT_SOURCES: list = []


def payment_outcome_for(
    *, total: Decimal, paid_total: Decimal, credited_total: Decimal, written_off_total: Decimal
) -> str:
    """The payment outcome of an invoice from its totals (one rule for every caller)."""
    settled = paid_total + credited_total + written_off_total
    if written_off_total and settled >= total:
        return PaymentOutcome.WRITTEN_OFF
    if total > 0 and settled >= total:
        return PaymentOutcome.PAID
    if paid_total > 0:
        return PaymentOutcome.PART_PAID
    return PaymentOutcome.UNPAID


def _refresh_outcome(invoice: Invoice) -> None:
    """Recompute paid/credited totals and the payment outcome from the rows (the rows are the truth)."""
    invoice.paid_total = sum((p.amount for p in invoice.payments.all()), ZERO) + sum(
        (source(invoice) for source in SETTLEMENT_SOURCES), ZERO
    )
    invoice.credited_total = sum((c.amount for c in invoice.credit_notes.all()), ZERO)
    invoice.payment_outcome = payment_outcome_for(
        total=invoice.total,
        paid_total=invoice.paid_total,
        credited_total=invoice.credited_total,
        written_off_total=invoice.written_off_total,
    )
    invoice.save(update_fields=["paid_total", "credited_total", "payment_outcome", "updated_at"])


def refresh_payment_outcome(*, invoice: Invoice) -> None:
    """For other apps' services, inside their transaction with the invoice locked."""
    _refresh_outcome(invoice)


# -- settlements from other ledgers, in bulk --------------------------------------------------
# The bulk form of _refresh_outcome, for a ledger that posts many invoices at once (a remittance
# of 100,000 bills): the same paid-total and outcome rule, one set-based UPDATE instead of a
# save() per invoice. The two are checked against each other (tests/billing/test_settlements.py).
SETTLEMENT_COLUMNS = (
    "id",
    "number",
    "practice_id",
    "insurer_contact_id",
    "total",
    "paid_total",
    "credited_total",
    "written_off_total",
)


class Settling(Protocol):
    """An invoice as read under its lock (SETTLEMENT_COLUMNS), with what a ledger applies to it now."""

    id: int
    total: Decimal
    paid_total: Decimal
    credited_total: Decimal
    written_off_total: Decimal
    settled: Decimal  # applied by this posting, on top of paid_total


class SettlementChunk(NamedTuple):
    ids: arrays.Values  # for the caller's own `invoice_id__anyof` reads
    invoices: list[tuple]  # SETTLEMENT_COLUMNS
    lines: list[tuple]  # SETTLEMENT_LINE_COLUMNS, each invoice's charge lines


SETTLEMENT_LINE_COLUMNS = ("id", "invoice_id", "sequence", "net_amount", "vat_amount")


def lock_for_settlement(*, practice, invoice_ids) -> Iterator[SettlementChunk]:
    """The invoices a ledger is about to settle, locked for update, with their charge lines:
    chunk after chunk in ascending id order, each chunk locked in id order, so every poster takes
    invoice locks in one order and two postings touching the same invoices wait rather than
    deadlock. Plain values, not instances (a remittance settles 100,000 invoices). The caller
    reads what it needs of each chunk (its own rows) before asking for the next."""
    for chunk in bulk.chunks(sorted(invoice_ids)):
        invoices = list(_for_update(practice.pk, chunk).values_list(*SETTLEMENT_COLUMNS))
        lines = list(
            InvoiceLine.objects.filter(invoice_id__anyof=chunk).order_by().values_list(*SETTLEMENT_LINE_COLUMNS)
        )
        yield SettlementChunk(chunk, invoices, lines)


def apply_settlements(
    *, invoices: Iterable[Settling], now: dt.datetime | None = None, meanwhile: bool = False
) -> bulk.Meanwhile | None:
    """Write what a ledger settled on many locked invoices (lock_for_settlement, in the caller's
    transaction): paid_total becomes the locked paid_total plus `settled`, and the payment outcome
    follows from the totals by payment_outcome_for, as refresh_payment_outcome would write them.
    Plain UPDATEs keyed by id (openpractice.db.bulk): no save(), no signals, no history row per
    invoice; the ledger's rows are the audit of every amount.

    meanwhile=True on PostgreSQL: the UPDATEs run on a helper thread in the same session
    (bulk.Meanwhile) while the caller builds its own rows in Python; it must call wait() on the
    returned handle before its next query. Otherwise they run now and None is returned."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("apply_settlements must run inside the transaction that locked the invoices")
    rows = [
        (
            paid := i.paid_total + i.settled,
            payment_outcome_for(
                total=i.total, paid_total=paid, credited_total=i.credited_total, written_off_total=i.written_off_total
            ),
            i.id,
        )
        for i in sorted(invoices, key=attrgetter("id"))
    ]
    columns = (("paid_total", "numeric"), ("payment_outcome", "text"))
    constant = {"updated_at": connection.ops.adapt_datetimefield_value(now or timezone.now())}
    table = Invoice._meta.db_table
    if meanwhile and connection.vendor == "postgresql":
        return bulk.Meanwhile(bulk.update_statements(table, columns, rows, constant=constant))
    bulk.update_rows(table, columns, rows, constant=constant)
    return None


# -- shortfall invoices ------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class ShortfallCharge:
    """An insurer's stated deduction on one charge line (by sequence) of its invoice."""

    sequence: int
    amount: Decimal
    reason: str = ""


@transaction.atomic
def create_shortfall_invoice(
    *,
    invoice: Invoice,
    amount: Decimal,
    insurer: str,
    reason: str,
    source: str,
    charges: Sequence[ShortfallCharge] = (),
    created_by=None,
) -> Invoice:
    """The patient's issued invoice for what an insurer deducted from `invoice`: `amount` in all,
    one line per short charge line ("Shortfall: <service>. <insurer>: <reason>"), each at most
    the deduction stated on it (`charges`, in order, until `amount` is reached; what is left goes
    on the first line), priced SHORTFALL_PRICE_SOURCE so it is never edited upwards. `reason` is
    said where a charge gives none; `source` names where the deduction was stated (such as
    "remittance BACS0001"). Written directly, not through create_invoice: products price lines,
    and a shortfall's price is the insurer's deduction.

    Lock order: the insurer invoice's row is locked here (lock_invoice) before the patient
    invoice is written and before the caller writes its ledger row against it; the caller
    settles the insurer invoice in its ledger and then calls refresh_payment_outcome."""
    invoice = lock_invoice(invoice.pk, invoice.practice_id)
    # Only a draft is refused: the remittances app matches lines to issued invoices, and what it
    # allowed before billing wrote these invoices (a bill voided since) it still allows.
    if invoice.record_status == RecordStatus.DRAFT:
        raise BillingError(
            "A shortfall moves from an issued invoice; this one is a draft.", field="invoice", code="wrong_status"
        )
    if amount <= 0 or amount > invoice.balance:
        raise BillingError(
            f"Amount: more than £0.00 and at most the balance of £{invoice.balance:.2f}.", field="amount"
        )
    today = timezone.localdate()
    patient_invoice = Invoice.objects.create(
        practice_id=invoice.practice_id,
        bill_to=BillTo.PATIENT,
        patient_id=invoice.patient_id,
        practitioner_id=invoice.practitioner_id,
        location_id=invoice.location_id,
        invoice_date=today,
        due_date=today + dt.timedelta(days=30),
        created_by=created_by,
        notes=f"Shortfall on invoice {invoice.number} from {insurer} ({source}).",
    )
    originals = {line.sequence: line for line in invoice.lines.all()}
    lines, left = [], amount
    for charge in charges:
        short = min(charge.amount, left)
        if short > 0 and charge.sequence in originals:
            lines.append((originals[charge.sequence], short, charge.reason or reason))
            left -= short
    if not lines or left > 0:
        lines.append((next(iter(originals.values())), left if lines else amount, reason))
    for sequence, (original, short, why) in enumerate(lines, start=1):
        InvoiceLine.objects.create(
            practice_id=invoice.practice_id,
            invoice=patient_invoice,
            sequence=sequence,
            product_id=original.product_id,
            description=f"Shortfall: {original.description}. {insurer}: {why}"[:200],
            service_date=original.service_date,
            quantity=1,
            unit_price=short,
            price_source=SHORTFALL_PRICE_SOURCE,
            vat_rate=Decimal("0"),
            net_amount=short,
            vat_amount=ZERO,
            industry_standard_code=original.industry_standard_code,
            procedure_code=original.procedure_code,
        )
    patient_invoice.net_total = patient_invoice.total = amount
    patient_invoice.save(update_fields=["net_total", "total"])
    return issue_invoice(invoice=patient_invoice)


def _require_issued(invoice: Invoice, what: str) -> None:
    if invoice.record_status != RecordStatus.ISSUED:
        raise BillingError(
            f"{what} needs an issued invoice; this one is {invoice.get_record_status_display().lower()}.",
            field="record_status",
            code="wrong_status",
        )


@transaction.atomic
def record_payment(
    *, invoice: Invoice, amount, received_on, method: str = PaymentMethod.BACS, reference: str = "", recorded_by=None
) -> Payment:
    invoice = _locked(invoice)
    _require_issued(invoice, "A payment")
    value = parse_money(amount, field="amount", label="Amount")
    if value <= 0:
        raise BillingError("Amount: enter more than £0.00.", field="amount")
    if value > invoice.balance:
        raise BillingError(f"Amount: at most the balance of £{invoice.balance:.2f}.", field="amount")
    received_on = _date(received_on, "received_on", "date received", required=True)
    if received_on > timezone.localdate():
        raise BillingError("The date received cannot be in the future.", field="received_on")
    if method not in PaymentMethod.values:
        raise BillingError(f"Choose how it was paid: {', '.join(PaymentMethod.labels)}.", field="method")
    payment = Payment.objects.create(
        practice_id=invoice.practice_id,
        invoice=invoice,
        amount=value,
        received_on=received_on,
        method=method,
        reference=(reference or "").strip()[:60],
        recorded_by=recorded_by,
    )
    _refresh_outcome(invoice)
    return payment


@transaction.atomic
def create_credit_note(*, invoice: Invoice, amount, reason: str, created_by=None) -> CreditNote:
    invoice = _locked(invoice)
    _require_issued(invoice, "A credit note")
    value = parse_money(amount, field="amount", label="Amount")
    if value <= 0 or value > invoice.balance:
        raise BillingError(
            f"Amount: more than £0.00 and at most the balance of £{invoice.balance:.2f}.", field="amount"
        )
    reason = (reason or "").strip()
    if not reason:
        raise BillingError("Say what the credit note is for.", field="reason", code="required")
    note = CreditNote.objects.create(
        practice_id=invoice.practice_id,
        invoice=invoice,
        amount=value,
        reason=reason[:200],
        issued_on=timezone.localdate(),
        created_by=created_by,
        number=take_number(practice=invoice.practice, kind=SequenceKind.CREDIT_NOTE),
    )
    _refresh_outcome(invoice)
    return note


@transaction.atomic
def write_off(*, invoice: Invoice, reason: str) -> Invoice:
    invoice = _locked(invoice)
    _require_issued(invoice, "A write-off")
    if invoice.balance <= 0:
        raise BillingError("Nothing is owed on this invoice.", field="amount")
    if not (reason or "").strip():
        raise BillingError("Say why the balance is written off.", field="reason", code="required")
    invoice.written_off_total += invoice.balance
    invoice._change_reason = f"Written off: {reason.strip()[:80]}"  # type: ignore[attr-defined]  # simple-history reads it; not a model field
    invoice.save(update_fields=["written_off_total", "updated_at"])
    _refresh_outcome(invoice)
    return invoice


@transaction.atomic
def adjust_written_off(*, invoice: Invoice, amount: Decimal, reason: str) -> Invoice:
    """Add `amount` to what is written off an invoice (negative: a write-off reversed). For the
    receivables app's write-off ledger, whose rows are the record of each; never below nothing
    written off, nor above what is not yet paid or credited."""
    invoice = _locked(invoice)
    _require_issued(invoice, "A write-off")
    written_off = invoice.written_off_total + amount
    if written_off < 0 or written_off > invoice.total - invoice.paid_total - invoice.credited_total:
        raise BillingError(
            f"Amount: at most the balance of £{invoice.balance:.2f} written off, and no more reversed than was.",
            field="amount",
        )
    invoice.written_off_total = written_off
    invoice._change_reason = reason[:100]  # type: ignore[attr-defined]  # simple-history reads it; not a model field
    invoice.save(update_fields=["written_off_total", "updated_at"])
    _refresh_outcome(invoice)
    return invoice


def email_invoice(*, invoice: Invoice, to: str, sent_by=None) -> None:
    """Email the PDF (console backend unless SMTP is configured)."""
    from django.core.exceptions import ValidationError
    from django.core.mail import EmailMessage
    from django.core.validators import validate_email

    from openpractice.billing.pdf import invoice_pdf  # WeasyPrint is heavy: loaded when an email is sent

    to = (to or "").strip()
    try:
        validate_email(to)
    except ValidationError:
        raise BillingError(
            "Enter the email address to send the invoice to, such as name@example.com.", field="to"
        ) from None
    if invoice.record_status != RecordStatus.ISSUED:
        raise BillingError("Issue the invoice before emailing it.", field="record_status", code="wrong_status")
    practice = invoice.practice
    message = EmailMessage(
        subject=f"Invoice {invoice.number} from {practice.name}",
        body=(
            f"Please find attached invoice {invoice.number} for £{invoice.total:.2f}.\n\n"
            f"{practice.name}\n{', '.join(practice.address_lines)}"
        ),
        to=[to],
        reply_to=[practice.email] if practice.email else None,
    )
    message.attach(f"invoice-{invoice.number}.pdf", invoice_pdf(invoice=invoice), "application/pdf")
    message.send()


# -- the clearing house's status: one invoice, or many at once ---------------------------------
CLEARING_HOUSE_FIELDS = ["healthcode_status", "version", "updated_at"]


def _mark_clearing_house_status(invoice: Invoice, status: str, version: int | None, now: dt.datetime) -> bool:
    """Set the status (and the claim version, when given) in memory; whether anything changed."""
    if status not in HealthcodeStatus.values:
        raise ValueError(status)
    if invoice.healthcode_status == status and version in (None, invoice.version):
        return False
    invoice.healthcode_status = status
    if version is not None:
        invoice.version = version
    invoice.updated_at = now
    invoice._change_reason = f"Healthcode: {HealthcodeStatus(status).label}"  # type: ignore[attr-defined]  # simple-history reads it; not a model field
    return True


def set_clearing_house_status(*, invoice: Invoice, status: str, version: int | None = None) -> None:
    """Called by the healthcode services, inside their transaction with the invoice locked
    (`lock_invoice`). `version`: the claim version the bill goes out as (a correction after a
    failed bill is a new version), written with the status."""
    if _mark_clearing_house_status(invoice, status, version, timezone.now()):
        invoice.save(update_fields=CLEARING_HOUSE_FIELDS)


set_healthcode_status = set_clearing_house_status  # the name it had before the bulk form


def set_clearing_house_statuses(
    *, changes: Iterable[tuple[Invoice, str]], versions: Mapping[int, int] | None = None, user=None
) -> list[Invoice]:
    """`set_clearing_house_status` for many invoices at once: `changes` are (invoice, status)
    pairs, the invoices locked by `lock_invoices` in the caller's transaction; `versions` maps an
    invoice id to its claim version. Only invoices that change are written: one history row each
    and one UPDATE for all. Returns those invoices."""
    _require_callers_transaction("set_clearing_house_statuses")
    versions = versions or {}
    now = timezone.now()
    moved: dict[int, Invoice] = {}
    for invoice, status in changes:
        if _mark_clearing_house_status(invoice, status, versions.get(invoice.pk), now):
            moved[invoice.pk] = invoice
    changed = list(moved.values())
    if changed:
        Invoice.history.bulk_history_create(changed, update=True, default_user=user)
        bulk.update_fields(changed, CLEARING_HOUSE_FIELDS)
    return changed


# -- opening balances (data import) -----------------------------------------------------------
OPENING_BALANCE_REFERENCE = "Paid before import"


def _bump_sequence(practice, number: str) -> None:
    """An imported number in the practice's own style (INV000123) moves the sequence past it, so
    the next invoice issued here never takes a number the previous system already used."""
    sequence, _ = NumberSequence.objects.get_or_create(
        practice=practice, kind=SequenceKind.INVOICE, defaults={"prefix": DEFAULT_PREFIXES[SequenceKind.INVOICE]}
    )
    match = re.fullmatch(rf"{re.escape(sequence.prefix)}(\d+)", number)
    if match and int(match.group(1)) >= sequence.next_value:
        NumberSequence.objects.filter(pk=sequence.pk, next_value__lte=int(match.group(1))).update(
            next_value=int(match.group(1)) + 1
        )


@transaction.atomic
def create_opening_balance(
    *,
    practice,
    number: str,
    patient: Patient,
    insurance,
    practitioner,
    product: Product,
    invoice_date: dt.date,
    due_date: dt.date | None,
    total: Decimal,
    balance: Decimal,
    description: str = "",
    source: str = "",
    created_by=None,
) -> Invoice:
    """An open invoice carried over from another system: issued under its own number, with what is
    still owed (`balance`) and the part already paid recorded as one payment ("Paid before
    import"), so the balance, ageing and chasing work as for any invoice. An insurer bill is left
    as not found at Healthcode: no queue offers it for submission (the other system sent it), and
    the user may still submit it from its page."""
    number = (number or "").strip().upper()
    if not number:
        raise BillingError("Enter the invoice number.", field="number", code="required")
    if len(number) > MAX_NUMBER_LENGTH or "." in number:
        raise BillingError(
            f"An invoice number has at most {MAX_NUMBER_LENGTH} characters and no full stops.", field="number"
        )
    if Invoice.objects.for_practice(practice).filter(number=number).exists():
        raise BillingError(f"Invoice {number} already exists in this practice.", field="number")
    _same_practice(patient, practice, "patient", "a patient")
    if practitioner is None:
        raise BillingError("Add a practitioner to the practice first.", field="practitioner", code="required")
    _same_practice(practitioner, practice, "practitioner", "a practitioner")
    if not isinstance(product, Product) or product.practice_id != practice.pk:
        raise BillingError("Choose a product of this practice.", field="product")
    if insurance is not None and (
        insurance.patient_id != patient.pk or insurance.relationship_type != RelationshipType.INSURANCE
    ):
        raise BillingError("Choose an insurance provider of this patient.", field="insurance")
    invoice_date = _date(invoice_date, "invoice_date", "invoice date", required=True)
    due_date = _date(due_date, "due_date", "due date")
    if due_date and due_date < invoice_date:
        raise BillingError("The due date cannot be before the invoice date.", field="due_date")
    total, balance = round_money(total), round_money(balance)
    if total <= 0:
        raise BillingError("The invoice total must be more than 0, such as 180.00.", field="total")
    if not ZERO < balance <= total:
        raise BillingError(
            f"What is still owed must be more than 0 and at most the total (£{total:,.2f}).", field="balance"
        )
    insurer_bill = insurance is not None
    note = f"Opening balance imported from {source}." if source else "Opening balance imported."
    invoice = Invoice(
        practice=practice,
        number=number,
        bill_to=BillTo.INSURER if insurer_bill else BillTo.PATIENT,
        patient=patient,
        insurance=insurance,
        insurer_contact=insurance.related_contact if insurer_bill else None,
        practitioner=practitioner,
        invoice_date=invoice_date,
        due_date=due_date,
        notes=note,
        record_status=RecordStatus.ISSUED,
        healthcode_status=HealthcodeStatus.NOT_FOUND if insurer_bill else HealthcodeStatus.NOT_SUBMITTED,
        net_total=total,
        total=total,
        paid_total=total - balance,
        payment_outcome=payment_outcome_for(
            total=total, paid_total=total - balance, credited_total=ZERO, written_off_total=ZERO
        ),
        issued_at=timezone.now(),
        created_by=created_by,
    )
    invoice._change_reason = note  # type: ignore[attr-defined]  # simple-history reads it
    invoice.save()
    InvoiceLine.objects.create(
        practice=practice,
        invoice=invoice,
        sequence=1,
        product=product,
        description=(description or product.name)[:200],
        service_date=invoice_date,
        quantity=1,
        unit_price=total,
        price_source="imported",
        net_amount=total,
        industry_standard_code=product.industry_standard_code,
        procedure_code=product.procedure_code,
    )
    if total - balance > 0:
        Payment.objects.create(
            practice=practice,
            invoice=invoice,
            amount=total - balance,
            received_on=invoice_date,
            method=PaymentMethod.INSURER if insurer_bill else PaymentMethod.BACS,
            reference=OPENING_BALANCE_REFERENCE,
            recorded_by=created_by,
        )
    _bump_sequence(practice, number)
    return invoice
