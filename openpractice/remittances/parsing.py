"""Reading a remittance into plain rows: the clearing house's FHIR Bundle (fetched, or the same
Bundle as a file) and CSV files with a column mapping.

Nothing here writes. A remittance that is not what the API promises raises RemittanceError with
every problem found (row or element, field, what would be valid), so nothing half-understood
is ever posted.
"""

from __future__ import annotations

import codecs
import csv
import dataclasses
import datetime as dt
import hashlib
import io
import json
from decimal import Decimal, InvalidOperation

from openpractice.remittances.errors import Code, RemittanceError

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

    def content_key(self) -> str:
        """The remittance's fingerprint from what it says, whatever its format (FHIR Bundle or CSV),
        encoding, byte-order mark or line endings: payer, payment reference, date, the total of its
        lines, and each line's bill (invoice number, else bill id) and amount paid, in any order.
        Amounts invoiced and shortfalls are left out: a CSV without those columns says the same
        payment."""
        lines = sorted([(bill_key(line), str(line.amount_paid)) for line in self.lines])  # order is not content
        canonical = json.dumps(
            [
                "v1",
                self.insurer_identifier.strip().lower(),
                reference_key(self.payment_reference),
                self.payment_date.isoformat() if self.payment_date else "",
                str(self.lines_total),
                lines,
            ],
            separators=(",", ":"),
        )
        return hashlib.sha256(canonical.encode()).hexdigest()


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
            raise RemittanceError(
                f"{what}: {first['row']}, {first['field']}: {first['problem']}{more}. Nothing was posted.",
                field=first["field"],
                problems=self.items,
            )


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
    if not isinstance(value, (str, int, Decimal)):
        problems.add(where, field, f"{_kind(value)}, not an amount in pounds such as 120.00")
        return ZERO
    try:
        amount = Decimal(str(value).strip().replace("£", "").replace(",", ""))
    except (InvalidOperation, ValueError):
        problems.add(where, field, f"“{_show(value)}” is not an amount in pounds, such as 120.00")
        return ZERO
    if not amount.is_finite() or amount < 0 or amount >= Decimal("100000000") or amount != amount.quantize(PENNY):
        problems.add(
            where, field, f"“{_show(value)}” is not an amount in pounds of at least 0.00 with at most two decimals"
        )
        return ZERO
    return amount.quantize(PENNY)


def _date(value, problems: _Problems, where: str, field: str, *, required: bool = True) -> dt.date | None:
    if value in (None, ""):
        if required:
            problems.add(where, field, "missing: give the date as YYYY-MM-DD, such as 2026-06-15")
        return None
    if not isinstance(value, str):
        problems.add(where, field, f"{_kind(value)}, not a date: use YYYY-MM-DD, such as 2026-06-15")
        return None
    text = value.strip()
    for fmt in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return dt.datetime.strptime(text[:10], fmt).date()
        except ValueError:
            continue
    problems.add(where, field, f"“{_show(value)}” is not a date: use YYYY-MM-DD or DD/MM/YYYY, such as 2026-06-15")
    return None


def _kind(value) -> str:
    """What a JSON value is, in words (for a message about the wrong type)."""
    if isinstance(value, bool):
        return "true/false"
    kinds: dict[type, str] = {dict: "an object", list: "a list", str: "text"}
    return kinds.get(type(value), "a number")


def _show(value) -> str:
    """A bad value as a message shows it: scalars only (a nested structure is never printed), at
    most 30 characters."""
    if not isinstance(value, (str, int, Decimal)) or isinstance(value, bool):
        return _kind(value)
    text = str(value)
    return text if len(text) <= 30 else text[:30] + "…"


def _text(value, problems: _Problems, where: str, field: str) -> str:
    """Text that a database can store: a string or a number; no NUL character, no lone surrogate
    (JSON can spell both; PostgreSQL stores neither)."""
    if value is None:
        return ""
    if type(value) is str:
        if value.isascii():  # the common case: one C scan
            if "\x00" not in value:
                return value
        elif "\x00" not in value:
            try:
                value.encode("utf-8")
                return value
            except UnicodeEncodeError:
                problems.add(where, field, "contains a character that is not text (a lone surrogate): give plain text")
                return ""
        problems.add(where, field, "contains a NUL character: give plain text")
        return ""
    if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
        return str(value)
    problems.add(where, field, f"{_kind(value)}, not text")
    return ""


def _dict(value, problems: _Problems, where: str, field: str) -> dict:
    if isinstance(value, dict):
        return value
    if value is not None:
        problems.add(where, field, f"{_kind(value)}, not an object")
    return {}


def _list(value, problems: _Problems, where: str, field: str) -> list:
    if isinstance(value, list):
        return value
    if value is not None:
        problems.add(where, field, f"{_kind(value)}, not a list")
    return []


_EXT_LENGTH = len(EXT)


def _extensions(resource: dict, problems: _Problems, where: str) -> dict:
    found = {}
    for ext in _list(resource.get("extension"), problems, where, "extension"):
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


def _identifier(value, problems: _Problems, where: str, field: str) -> str:
    if isinstance(value, list):
        value = value[0] if value else {}
    if isinstance(value, dict):
        value = value.get("identifier", value)
        return _text(value.get("value") or "", problems, where, f"{field}.value") if isinstance(value, dict) else ""
    return ""


# -- text --------------------------------------------------------------------------------------
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def decode_text(content: bytes) -> str:
    """A file's text whatever it was saved as: a byte-order mark says the encoding (UTF-8, UTF-16,
    UTF-32); else UTF-8; else Windows-1252 (Excel's plain "CSV" on Windows, where £ is one byte).
    The same remittance in any of these reads the same."""
    for bom, encoding in _BOMS:
        if content.startswith(bom):
            try:
                return content.decode(encoding)
            except UnicodeDecodeError as exc:
                raise _not_text(content, exc, encoding) from None
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return content.decode("cp1252")
    except UnicodeDecodeError as exc:
        raise _not_text(content, exc, "UTF-8 or Windows-1252") from None


def _not_text(content: bytes, exc: UnicodeDecodeError, encoding: str) -> RemittanceError:
    line = content[: exc.start].count(b"\n") + 1
    return RemittanceError(
        f"The file is not text: byte 0x{content[exc.start]:02x} on line {line} cannot be read as "
        f"{encoding}. Save it as “CSV UTF-8” (or the remittance as JSON) and import it again.",
        field="file",
        problems=[
            {"row": f"line {line}", "field": "file", "problem": f"byte 0x{content[exc.start]:02x} is not {encoding}"}
        ],
    )


# -- FHIR --------------------------------------------------------------------------------------
def json_text(content: bytes) -> str:
    """A JSON file's text: as `decode_text`, and JSON's own BOM-less UTF-16/32 (RFC 8259 detection)."""
    encoding = json.detect_encoding(content[:4])
    if encoding.startswith(("utf-16", "utf-32")) and not content.startswith(tuple(b for b, _ in _BOMS)):
        try:
            return content.decode(encoding)
        except UnicodeDecodeError as exc:
            raise _not_text(content, exc, encoding) from None
    return decode_text(content)


def load_json(text: str | bytes) -> dict:
    """The Bundle as plain values, amounts as Decimal. Any encoding `decode_text` reads (and JSON's
    own BOM-less UTF-16/32); nesting deeper than Python's recursion limit is refused, not a crash."""
    if isinstance(text, (bytes, bytearray)):
        text = json_text(bytes(text))
    try:
        body = json.loads(text, parse_float=Decimal)
    except RecursionError:
        raise RemittanceError(
            "The remittance is nested too deeply to be a FHIR Bundle (lists or objects inside "
            "each other hundreds of times): expect a Bundle as the clearing house sends it.",
            field="file",
            problems=[{"row": "file", "field": "file", "problem": "nested too deeply"}],
        ) from None
    except (ValueError, TypeError) as exc:
        raise RemittanceError(
            f"The remittance is not JSON ({str(exc)[:80]}): expect a FHIR Bundle.",
            field="file",
            problems=[{"row": "file", "field": "file", "problem": f"not JSON: {str(exc)[:80]}"}],
        ) from None
    if not isinstance(body, dict):
        raise RemittanceError(f"The remittance is {_kind(body)}, not a FHIR resource: expect a Bundle.", field="file")
    return body


def parse_bundle(body: dict) -> ParsedBatch:
    """A remittance batch: a Bundle whose first PaymentReconciliation has one `detail` per bill,
    followed by each bill's ClaimResponse with the per-line adjudication. Every element is checked
    for its type: a wrong one is a problem named by where it is, never an exception."""
    if body.get("resourceType") != "Bundle":
        raise RemittanceError(
            f"Expected a FHIR Bundle, got resourceType “{_show(body.get('resourceType'))}”.", field="resourceType"
        )
    problems = _Problems()
    resources = [
        entry.get("resource")
        for entry in _list(body.get("entry"), problems, "Bundle", "entry")
        if isinstance(entry, dict)
    ]
    reconciliation = next(
        (r for r in resources if isinstance(r, dict) and r.get("resourceType") == "PaymentReconciliation"), None
    )
    if reconciliation is None:
        raise RemittanceError(
            "The Bundle has no PaymentReconciliation: a remittance names its payment there.",
            field="entry",
            problems=problems.items or [{"row": "Bundle", "field": "entry", "problem": "no PaymentReconciliation"}],
        )
    responses = {}
    for r in resources:
        if isinstance(r, dict) and r.get("resourceType") == "ClaimResponse":
            responses[_text(r.get("id"), problems, "ClaimResponse", "id")] = r
    where = "PaymentReconciliation"
    external_id = (
        _text(reconciliation.get("id"), problems, where, "id") or _text(body.get("id"), problems, "Bundle", "id")
    ).strip()
    if not external_id:
        problems.add(where, "id", "missing: the remittance id")
    ext = _extensions(reconciliation, problems, where)
    insurer = _identifier(reconciliation.get("paymentIssuer"), problems, where, "paymentIssuer") or _text(
        ext.get("insurer"), problems, where, "insurer"
    )
    reference = _identifier(reconciliation.get("paymentIdentifier"), problems, where, "paymentIdentifier")
    payment_date = _date(reconciliation.get("paymentDate"), problems, where, "paymentDate")
    payment_amount = money(_money_value(reconciliation.get("paymentAmount")), problems, where, "paymentAmount")
    details = _list(reconciliation.get("detail"), problems, where, "detail")
    if not details:
        problems.add(where, "detail", "no details: a remittance lists at least one bill")
    if len(details) > MAX_LINES:
        raise RemittanceError(f"A remittance can have at most {MAX_LINES:,} bills.", field="detail")
    lines = []
    for number, detail in enumerate(details, start=1):
        here = f"detail[{number}]"
        if not isinstance(detail, dict):
            problems.add(here, "detail", f"{_kind(detail)}, not an object")
            continue
        ext = _extensions(detail, problems, here)
        bill_id = _identifier(detail.get("identifier"), problems, here, "identifier")
        invoice_number = _identifier(detail.get("request"), problems, here, "request.identifier")
        if not invoice_number and not bill_id:
            problems.add(here, "request", "missing: the invoice number (request.identifier.value) or bill id")
        paid = money(_money_value(detail.get("amount")), problems, here, "amount")
        invoiced = money(_money_value(ext.get("amount-invoiced")), problems, here, "amount-invoiced")
        shortfall = (
            money(_money_value(ext["shortfall"]), problems, here, "shortfall")
            if ext.get("shortfall") is not None
            else max(invoiced - paid, ZERO)
        )
        if paid > invoiced:
            problems.add(here, "amount", f"pays £{paid} but only £{invoiced} was invoiced")
        response = responses.get(bill_id) if bill_id else None
        items, code, reasons = _items(response, problems, here)
        if paid == 0 and shortfall > 0:
            code = "rejected"
        lines.append(
            ParsedLine(
                sequence=number,
                bill_id=bill_id[:20],
                invoice_number=invoice_number[:20],
                amount_invoiced=invoiced,
                amount_paid=paid,
                shortfall=shortfall,
                shortfall_code=code[:40],
                shortfall_reason="; ".join(reasons)[:300],
                membership_number=_text(ext.get("membership-number"), problems, here, "membership-number")[:30],
                patient_name=_text(ext.get("patient-name"), problems, here, "patient-name")[:120],
                items=items,
            )
        )
    problems.raise_if_any("The remittance cannot be read")
    return ParsedBatch(
        external_id=external_id[:80],
        insurer_identifier=insurer[:10],
        payment_reference=reference[:60],
        payment_date=payment_date,
        payment_amount=payment_amount,
        lines=lines,
    )


def _code(value, problems: _Problems, where: str, field: str) -> str:
    """The first coding's code of a CodeableConcept."""
    if type(value) is dict:  # the common shape first: three per bill, 300,000 a large remittance
        coding = value.get("coding")
        if type(coding) is list and coding and type(coding[0]) is dict:
            code = coding[0].get("code")
            if type(code) is str and code.isascii() and "\x00" not in code:
                return code
    concept = _dict(value, problems, where, field)
    coding = _list(concept.get("coding"), problems, where, f"{field}.coding")
    first = coding[0] if coding else {}
    return _text(first.get("code"), problems, where, f"{field}.coding.code") if isinstance(first, dict) else ""


_CATEGORY_KEYS = {"submitted": "submitted", "benefit": "paid", "shortfall": "shortfall"}


def _items(response: dict | None, problems: _Problems, where: str) -> tuple[list, str, list[str]]:
    """Per charge line of a bill's ClaimResponse: submitted, paid (benefit), shortfall, reason."""
    if not isinstance(response, dict):
        return [], "", []
    items: list[dict[str, object]] = []
    code = ""
    reasons: list[str] = []
    for index, item in enumerate(_list(response.get("item"), problems, f"{where} ClaimResponse", "item"), start=1):
        here = f"{where} ClaimResponse.item[{index}]"
        if not isinstance(item, dict):
            problems.add(here, "item", f"{_kind(item)}, not an object")
            continue
        sequence = item.get("itemSequence")
        if not isinstance(sequence, int) or isinstance(sequence, bool) or not 1 <= sequence <= 9999:
            problems.add(here, "itemSequence", "missing: the charge line's sequence, a whole number from 1")
            continue
        row: dict[str, object] = {
            "sequence": sequence,
            "submitted": "0.00",
            "paid": "0.00",
            "shortfall": "0.00",
            "code": "",
            "reason": "",
        }
        for adjudication in _list(item.get("adjudication"), problems, here, "adjudication"):
            if not isinstance(adjudication, dict):
                problems.add(here, "adjudication", f"{_kind(adjudication)}, not an object")
                continue
            category = _code(adjudication.get("category"), problems, here, "adjudication.category")
            key = _CATEGORY_KEYS.get(category)
            if key is None:
                continue
            row[key] = str(money(_money_value(adjudication.get("amount")), problems, here, f"adjudication.{category}"))
            if key == "shortfall":
                reason = _dict(adjudication.get("reason"), problems, here, "adjudication.reason")
                line_code = _code(reason, problems, here, "adjudication.reason")[:40]
                line_reason = _text(reason.get("text"), problems, here, "adjudication.reason.text")[:200]
                row["code"], row["reason"] = line_code, line_reason
                code = code or line_code
                if line_reason and line_reason not in reasons:
                    reasons.append(line_reason)
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
DEFAULT_MAPPING = {
    "invoice_number": "Invoice",
    "amount_paid": "Paid",
    "amount_invoiced": "Invoiced",
    "shortfall": "Shortfall",
    "shortfall_reason": "Reason",
    "membership_number": "Membership",
    "patient_name": "Patient",
    "bill_id": "Bill",
}


def reference_key(reference: str) -> str:
    """A payment reference as typed or as sent: spaces dropped, upper case."""
    return "".join(reference.split()).upper()


def bill_key(line: ParsedLine) -> str:
    """Which bill a line is about, in every form of the remittance: the invoice number (a CSV may
    have no bill ids), else the clearing house's bill id."""
    number = line.invoice_number.strip().upper()
    return number if number else "bill:" + line.bill_id.strip().upper()


def csv_rows_error(exc: csv.Error) -> str:
    text = str(exc)
    if "field larger than field limit" in text:
        return f"a value is longer than {csv.field_size_limit():,} characters: is this the remittance file?"
    return f"not valid CSV ({text[:80]})"


def parse_csv(
    content: bytes,
    *,
    mapping: dict[str, str],
    insurer_identifier: str,
    payment_reference: str,
    payment_date: dt.date | None,
) -> ParsedBatch:
    text = decode_text(content)
    nul = text.find("\x00")
    if nul >= 0:
        nul_row = text.count("\n", 0, nul) + 1
        raise RemittanceError(
            f"The file has a NUL character on row {nul_row}: it is not a CSV export. Save the "
            "spreadsheet as “CSV UTF-8” and import it again.",
            field="file",
            problems=[{"row": f"row {nul_row}", "field": "file", "problem": "a NUL character"}],
        )
    reader = csv.DictReader(io.StringIO(text))
    try:
        fieldnames = reader.fieldnames
    except csv.Error as exc:
        raise RemittanceError(
            f"The header row cannot be read: {csv_rows_error(exc)}.",
            field="file",
            problems=[{"row": "row 1", "field": "file", "problem": csv_rows_error(exc)}],
        ) from None
    headers = [h.strip() for h in fieldnames or []]
    reader.fieldnames = headers
    mapping = {
        field: (column or "").strip()
        for field, column in mapping.items()
        if field in CSV_FIELDS and isinstance(column, str) and column.strip()
    }
    for field in CSV_REQUIRED:
        if field not in mapping:
            raise RemittanceError(
                f"Choose the column that holds the {CSV_FIELDS[field].lower()}.",
                field=f"column_{field}",
                code=Code.REQUIRED,
            )
    shown = ", ".join(_show(h) for h in headers[:20]) or "none"
    for field, column in mapping.items():
        if column not in headers:
            raise RemittanceError(
                f"The file has no column “{_show(column)}” for {CSV_FIELDS[field].lower()}; its columns are: {shown}.",
                field=f"column_{field}",
            )
    problems = _Problems()
    lines: list[ParsedLine] = []
    rows = iter(reader)
    number = 1  # row 1 is the header
    while True:
        try:
            row = next(rows)
        except StopIteration:
            break
        except csv.Error as exc:  # a field over the csv module's limit, a stray quote
            problems.add(f"row {number + 1}", "file", csv_rows_error(exc))
            break
        number += 1
        where = f"row {number}"
        if not any((v or "").strip() for v in row.values() if isinstance(v, str)):
            continue
        get = lambda field, row=row: (row.get(mapping[field]) or "").strip() if field in mapping else ""  # noqa: E731
        invoice_number = get("invoice_number")
        if not invoice_number:
            problems.add(where, mapping["invoice_number"], "missing: the invoice number, such as INV000042")
        paid = money(get("amount_paid"), problems, where, mapping["amount_paid"])
        invoiced = (
            money(get("amount_invoiced"), problems, where, mapping["amount_invoiced"])
            if "amount_invoiced" in mapping
            else None
        )
        shortfall = (
            money(get("shortfall"), problems, where, mapping["shortfall"])
            if "shortfall" in mapping and get("shortfall")
            else None
        )
        if invoiced is None:
            invoiced = paid + (shortfall or ZERO)
        if shortfall is None:
            shortfall = max(invoiced - paid, ZERO)
        if paid > invoiced:
            problems.add(where, mapping["amount_paid"], f"pays £{paid} but only £{invoiced} was invoiced")
        elif paid + shortfall != invoiced:
            problems.add(
                where,
                mapping.get("shortfall", "shortfall"),
                f"paid £{paid} plus shortfall £{shortfall} is not the £{invoiced} invoiced",
            )
        lines.append(
            ParsedLine(
                sequence=len(lines) + 1,
                invoice_number=invoice_number[:20],
                amount_invoiced=invoiced,
                amount_paid=paid,
                shortfall=shortfall,
                shortfall_code=("rejected" if paid == 0 and shortfall else "shortfall" if shortfall else ""),
                shortfall_reason=get("shortfall_reason")[:300],
                membership_number=get("membership_number")[:30],
                patient_name=get("patient_name")[:120],
                bill_id=get("bill_id")[:20],
            )
        )
        if len(lines) > MAX_LINES:
            raise RemittanceError(f"A remittance file can have at most {MAX_LINES:,} rows.", field="file")
    if not lines and not problems.items:
        problems.add("row 2", "file", "no rows: the file has a header but no payments")
    problems.raise_if_any("The file cannot be imported")
    total = sum((line.amount_paid for line in lines), ZERO)
    parsed = ParsedBatch(
        external_id="",
        insurer_identifier=insurer_identifier[:10],
        payment_reference=payment_reference[:60],
        payment_date=payment_date,
        payment_amount=total,
        lines=lines,
    )
    # A file's id is what it says (not its bytes): the same rows with other line endings, encoding
    # or a byte-order mark are the same remittance.
    parsed.external_id = "file-" + parsed.content_key()[:32]
    return parsed


def line_keys(*, payer: str, reference: str, lines: list) -> list[str]:
    """Each line's key (RemittanceLine.line_key): what it says — payer, payment reference, bill,
    amount paid — and which repeat of that it is within its remittance (two equal lines in one
    remittance are two payments; the same remittance again repeats both). Hashed to 40 characters.
    Migration remittances/0003 keeps a frozen copy for lines received before keys existed."""
    base = f"{payer.strip().lower()}|{reference_key(reference)}|"
    seen: dict[str, int] = {}
    keys = []
    blake2b = hashlib.blake2b
    for line in lines:  # 100,000 lines a remittance: concatenation and str(), not f-string formatting
        said = base + bill_key(line) + "|" + str(line.amount_paid)
        repeat = seen.get(said, 0) + 1
        seen[said] = repeat
        keys.append(blake2b((said + "|" + str(repeat)).encode(), digest_size=20).hexdigest())
    return keys
