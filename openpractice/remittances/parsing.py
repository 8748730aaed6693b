"""Reading a remittance into plain rows: the clearing house's FHIR Bundle (fetched, or the same
Bundle as a file) and CSV files with a column mapping.

Nothing here writes. A remittance that is not what the API promises raises RemittanceError with
every problem found (row or element, field, what would be valid), so nothing half-understood
is ever posted.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import hashlib
import io
import json
from decimal import Decimal, InvalidOperation

from openpractice.remittances.errors import RemittanceError

NS = "https://openpractice.org/fhir/healthcode"
EXT = f"{NS}/StructureDefinition/"
SYSTEM_BILL_ID = f"{NS}/sid/bill-id"
SYSTEM_INVOICE_NUMBER = f"{NS}/sid/invoice-number"
MAX_PROBLEMS = 50
MAX_LINES = 200_000
ZERO = Decimal("0.00")
PENNY = Decimal("0.01")


@dataclasses.dataclass
class ParsedLine:
    sequence: int
    invoice_number: str
    amount_invoiced: Decimal
    amount_paid: Decimal
    shortfall: Decimal = ZERO
    shortfall_code: str = ""
    shortfall_reason: str = ""
    bill_id: str = ""
    membership_number: str = ""
    patient_name: str = ""
    items: list = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class ParsedBatch:
    external_id: str
    insurer_identifier: str
    payment_reference: str
    payment_date: dt.date | None
    payment_amount: Decimal
    lines: list[ParsedLine]

    @property
    def lines_total(self) -> Decimal:
        return sum((line.amount_paid for line in self.lines), ZERO)


class _Problems:
    def __init__(self):
        self.items: list[dict] = []

    def add(self, where: str, field: str, message: str) -> None:
        if len(self.items) < MAX_PROBLEMS:
            self.items.append({"row": where, "field": field, "problem": message})

    def raise_if_any(self, what: str) -> None:
        if self.items:
            first = self.items[0]
            more = f" (and {len(self.items) - 1} more)" if len(self.items) > 1 else ""
            raise RemittanceError(f"{what}: {first['row']}, {first['field']}: {first['problem']}{more}. "
                                  "Nothing was posted.", field=first["field"], problems=self.items)


def money(value, problems: _Problems, where: str, field: str) -> Decimal:
    """Decimal pounds with at most two places, not negative. Floats from JSON arrive as Decimal
    because the Bundle is read with parse_float=Decimal."""
    if type(value) is Decimal and value.is_finite() and 0 <= value < 100000000:
        # The common case (JSON read with parse_float=Decimal): no string round trip, and a
        # quantize-and-compare instead of as_tuple() (a third of the parse time at 100,000 bills).
        # A whole number of pennies passes (12.50, 12.500), a fraction of a penny does not.
        pennies = value.quantize(PENNY)
        if pennies == value:
            return pennies
    if isinstance(value, bool) or value is None or value == "":
        problems.add(where, field, "missing: give an amount in pounds, such as 120.00")
        return ZERO
    try:
        amount = Decimal(str(value).strip().replace("£", "").replace(",", ""))
    except InvalidOperation:
        problems.add(where, field, f"“{value}” is not an amount in pounds, such as 120.00")
        return ZERO
    if not amount.is_finite() or amount < 0 or amount >= Decimal("100000000") or amount != amount.quantize(PENNY):
        problems.add(where, field, f"“{value}” is not an amount in pounds of at least 0.00 with at most two decimals")
        return ZERO
    return amount.quantize(PENNY)


def _date(value, problems: _Problems, where: str, field: str, *, required: bool = True) -> dt.date | None:
    if value in (None, ""):
        if required:
            problems.add(where, field, "missing: give the date as YYYY-MM-DD, such as 2026-06-15")
        return None
    text = str(value).strip()
    for fmt in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return dt.datetime.strptime(text[:10], fmt).date()
        except ValueError:
            continue
    problems.add(where, field, f"“{value}” is not a date: use YYYY-MM-DD or DD/MM/YYYY, such as 2026-06-15")
    return None


_EXT_LENGTH = len(EXT)


def _extensions(resource: dict) -> dict:
    found = {}
    for ext in resource.get("extension") or ():
        if not isinstance(ext, dict):
            continue
        url = ext.get("url")
        if isinstance(url, str) and url.startswith(EXT):
            value = None
            for key, item in ext.items():  # a plain loop: a generator per extension cost more than the work
                if key.startswith("value"):
                    value = item
                    break
            found[url[_EXT_LENGTH:]] = value
    return found


def _money_value(value) -> object:
    return value.get("value") if isinstance(value, dict) else value


def _identifier(value) -> str:
    if isinstance(value, list):
        value = value[0] if value else {}
    if isinstance(value, dict):
        value = value.get("identifier", value)
        return str(value.get("value") or "") if isinstance(value, dict) else ""
    return ""


# -- FHIR --------------------------------------------------------------------------------------
def load_json(text: str | bytes) -> dict:
    try:
        body = json.loads(text, parse_float=Decimal)
    except (ValueError, TypeError, UnicodeDecodeError) as exc:
        raise RemittanceError(f"The remittance is not JSON ({str(exc)[:80]}): expect a FHIR Bundle.",
                              field="file") from None
    if not isinstance(body, dict):
        raise RemittanceError("The remittance is not a FHIR resource: expect a Bundle.", field="file")
    return body


def parse_bundle(body: dict) -> ParsedBatch:
    """A remittance batch: a Bundle whose first PaymentReconciliation has one `detail` per bill,
    followed by each bill's ClaimResponse with the per-line adjudication."""
    if body.get("resourceType") != "Bundle":
        raise RemittanceError(f"Expected a FHIR Bundle, got resourceType “{body.get('resourceType')}”.",
                              field="resourceType")
    problems = _Problems()
    resources = [entry.get("resource") for entry in body.get("entry") or [] if isinstance(entry, dict)]
    reconciliation = next((r for r in resources if isinstance(r, dict)
                           and r.get("resourceType") == "PaymentReconciliation"), None)
    if reconciliation is None:
        raise RemittanceError("The Bundle has no PaymentReconciliation: a remittance names its payment there.",
                              field="entry")
    responses = {str(r.get("id")): r for r in resources if isinstance(r, dict)
                 and r.get("resourceType") == "ClaimResponse"}
    where = "PaymentReconciliation"
    external_id = str(reconciliation.get("id") or body.get("id") or "").strip()
    if not external_id:
        problems.add(where, "id", "missing: the remittance id")
    insurer = _identifier(reconciliation.get("paymentIssuer")) or str(_extensions(reconciliation).get("insurer") or "")
    reference = _identifier(reconciliation.get("paymentIdentifier"))
    payment_date = _date(reconciliation.get("paymentDate"), problems, where, "paymentDate")
    payment_amount = money(_money_value(reconciliation.get("paymentAmount")), problems, where, "paymentAmount")
    details = reconciliation.get("detail") or []
    if not isinstance(details, list) or not details:
        problems.add(where, "detail", "no details: a remittance lists at least one bill")
        details = []
    if len(details) > MAX_LINES:
        raise RemittanceError(f"A remittance can have at most {MAX_LINES:,} bills.", field="detail")
    lines = []
    for number, detail in enumerate(details, start=1):
        here = f"detail[{number}]"
        if not isinstance(detail, dict):
            problems.add(here, "detail", "not an object")
            continue
        ext = _extensions(detail)
        bill_id = _identifier(detail.get("identifier"))
        invoice_number = _identifier(detail.get("request"))
        if not invoice_number and not bill_id:
            problems.add(here, "request", "missing: the invoice number (request.identifier.value) or bill id")
        paid = money(_money_value(detail.get("amount")), problems, here, "amount")
        invoiced = money(_money_value(ext.get("amount-invoiced")), problems, here, "amount-invoiced")
        shortfall = (money(_money_value(ext["shortfall"]), problems, here, "shortfall")
                     if ext.get("shortfall") is not None else max(invoiced - paid, ZERO))
        if paid > invoiced:
            problems.add(here, "amount", f"pays £{paid} but only £{invoiced} was invoiced")
        items, code, reasons = _items(responses.get(bill_id), problems, here)
        if paid == 0 and shortfall > 0:
            code = "rejected"
        lines.append(ParsedLine(
            sequence=number, bill_id=bill_id[:20], invoice_number=invoice_number[:20], amount_invoiced=invoiced,
            amount_paid=paid, shortfall=shortfall, shortfall_code=code[:40], shortfall_reason="; ".join(reasons)[:300],
            membership_number=str(ext.get("membership-number") or "")[:30],
            patient_name=str(ext.get("patient-name") or "")[:120], items=items))
    problems.raise_if_any("The remittance cannot be read")
    return ParsedBatch(external_id=external_id[:80], insurer_identifier=insurer[:10], payment_reference=reference[:60],
                       payment_date=payment_date, payment_amount=payment_amount, lines=lines)


def _items(response: dict | None, problems: _Problems, where: str) -> tuple[list, str, list[str]]:
    """Per charge line of a bill's ClaimResponse: submitted, paid (benefit), shortfall, reason."""
    if not isinstance(response, dict):
        return [], "", []
    items, code, reasons = [], "", []
    for index, item in enumerate(response.get("item") or [], start=1):
        here = f"{where} ClaimResponse.item[{index}]"
        sequence = item.get("itemSequence") if isinstance(item, dict) else None
        if not isinstance(sequence, int) or isinstance(sequence, bool) or sequence < 1:
            problems.add(here, "itemSequence", "missing: the charge line's sequence, a whole number from 1")
            continue
        row = {"sequence": sequence, "submitted": "0.00", "paid": "0.00", "shortfall": "0.00", "code": "",
               "reason": ""}
        for adjudication in item.get("adjudication") or []:
            category = ((adjudication.get("category") or {}).get("coding") or [{}])[0].get("code")
            key = {"submitted": "submitted", "benefit": "paid", "shortfall": "shortfall"}.get(category)
            if key is None:
                continue
            row[key] = str(money(_money_value(adjudication.get("amount")), problems, here, f"adjudication.{category}"))
            if key == "shortfall":
                reason = adjudication.get("reason") or {}
                row["code"] = str(((reason.get("coding") or [{}])[0]).get("code") or "")[:40]
                row["reason"] = str(reason.get("text") or "")[:200]
                code = code or row["code"]
                if row["reason"] and row["reason"] not in reasons:
                    reasons.append(row["reason"])
        items.append(row)
    return items, code, reasons


# -- CSV ---------------------------------------------------------------------------------------
# Our field -> what it means; the form maps each to a column header of the insurer's file.
CSV_FIELDS = {
    "invoice_number": "Invoice number",
    "amount_paid": "Amount paid",
    "amount_invoiced": "Amount invoiced",
    "shortfall": "Shortfall",
    "shortfall_reason": "Shortfall reason",
    "membership_number": "Membership number",
    "patient_name": "Patient name",
    "bill_id": "Bill id",
}
CSV_REQUIRED = ("invoice_number", "amount_paid")
DEFAULT_MAPPING = {"invoice_number": "Invoice", "amount_paid": "Paid", "amount_invoiced": "Invoiced",
                   "shortfall": "Shortfall", "shortfall_reason": "Reason", "membership_number": "Membership",
                   "patient_name": "Patient", "bill_id": "Bill"}


def file_id(content: bytes) -> str:
    """A file's own id: its content, so the same file imported twice is recognised."""
    return "file-" + hashlib.sha256(content).hexdigest()[:32]


def parse_csv(content: bytes, *, mapping: dict[str, str], insurer_identifier: str, payment_reference: str,
              payment_date: dt.date | None) -> ParsedBatch:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise RemittanceError("The file is not UTF-8 text: save it from the spreadsheet as CSV UTF-8.",
                              field="file") from None
    reader = csv.DictReader(io.StringIO(text))
    headers = [h.strip() for h in reader.fieldnames or []]
    reader.fieldnames = headers
    mapping = {field: (column or "").strip() for field, column in mapping.items() if (column or "").strip()}
    for field in CSV_REQUIRED:
        if field not in mapping:
            raise RemittanceError(f"Choose the column that holds the {CSV_FIELDS[field].lower()}.",
                                  field=f"column_{field}", code="required")
    for field, column in mapping.items():
        if column not in headers:
            raise RemittanceError(f"The file has no column “{column}” for {CSV_FIELDS[field].lower()}; its columns "
                                  f"are: {', '.join(headers) or 'none'}.", field=f"column_{field}")
    problems = _Problems()
    lines = []
    for number, row in enumerate(reader, start=2):  # row 1 is the header
        where = f"row {number}"
        if not any((v or "").strip() for v in row.values() if isinstance(v, str)):
            continue
        get = lambda field: (row.get(mapping[field]) or "").strip() if field in mapping else ""  # noqa: E731
        invoice_number = get("invoice_number")
        if not invoice_number:
            problems.add(where, mapping["invoice_number"], "missing: the invoice number, such as INV000042")
        paid = money(get("amount_paid"), problems, where, mapping["amount_paid"])
        invoiced = money(get("amount_invoiced"), problems, where, mapping["amount_invoiced"]) \
            if "amount_invoiced" in mapping else None
        shortfall = money(get("shortfall"), problems, where, mapping["shortfall"]) \
            if "shortfall" in mapping and get("shortfall") else None
        if invoiced is None:
            invoiced = paid + (shortfall or ZERO)
        if shortfall is None:
            shortfall = max(invoiced - paid, ZERO)
        if paid > invoiced:
            problems.add(where, mapping["amount_paid"], f"pays £{paid} but only £{invoiced} was invoiced")
        elif paid + shortfall != invoiced:
            problems.add(where, mapping.get("shortfall", "shortfall"),
                         f"paid £{paid} plus shortfall £{shortfall} is not the £{invoiced} invoiced")
        lines.append(ParsedLine(
            sequence=len(lines) + 1, invoice_number=invoice_number[:20], amount_invoiced=invoiced, amount_paid=paid,
            shortfall=shortfall, shortfall_code=("rejected" if paid == 0 and shortfall else "shortfall" if shortfall else ""),
            shortfall_reason=get("shortfall_reason")[:300], membership_number=get("membership_number")[:30],
            patient_name=get("patient_name")[:120], bill_id=get("bill_id")[:20]))
        if len(lines) > MAX_LINES:
            raise RemittanceError(f"A remittance file can have at most {MAX_LINES:,} rows.", field="file")
    if not lines and not problems.items:
        problems.add("row 2", "file", "no rows: the file has a header but no payments")
    problems.raise_if_any("The file cannot be imported")
    total = sum((line.amount_paid for line in lines), ZERO)
    return ParsedBatch(external_id=file_id(content), insurer_identifier=insurer_identifier[:10],
                       payment_reference=payment_reference[:60], payment_date=payment_date, payment_amount=total,
                       lines=lines)
