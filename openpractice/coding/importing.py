"""Reading code sets from a source, checking every row, and working out what an import changes.

A source yields `IncomingCode`s or raises `CodeFileError` listing the problems (row and column).
`CsvCodeSource` reads a practice's licensed CSV; the clearing house's code-set API will be one more
class with the same `read()` (its rows are recorded with source "clearing_house").
Nothing here writes: services.py applies a plan in one transaction.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import NamedTuple, Protocol

from openpractice.coding.errors import CodingError
from openpractice.coding.models import AcceptedCode, Code, CodeSource, CodeSystem
from openpractice.coding.normalise import code_key

MAX_PROBLEMS = 20
MAX_DESCRIPTION = 500
MAX_FEE = Decimal("99999999.99")

# Code formats. CCSD (HEALTHCODE.md): letter + 4 digits (W8500), 5 digits (20110), 2 letters + 3
# digits (AC100, withdrawn). ISC values are not public: letters and digits, up to 16.
CODE_FORMATS = {
    CodeSystem.CCSD: (
        re.compile(r"^(?:[A-Z]\d{4}|\d{5}|[A-Z]{2}\d{3})$"),
        "a CCSD code is a letter and 4 digits (W8500), 5 digits (20110) or 2 letters and 3 digits (AC100)",
    ),
    CodeSystem.ISC: (re.compile(r"^[A-Z0-9]{1,16}$"), "an industry standard code is 1 to 16 letters or digits"),
    CodeSystem.ICD10: (re.compile(r"^[A-Z]\d{2}[0-9A-Z]{0,2}$"), "an ICD-10 code looks like E11 or E11.9"),
}

# Column names, compared after lower-casing and turning _ - . and repeated spaces into one space.
COLUMN_ALIASES = {
    "code": [
        "code",
        "ccsd",
        "ccsd code",
        "isc",
        "isc code",
        "industry standard code",
        "procedure code",
        "proc code",
        "procedurecode",
        "service code",
        "servicecode",
        "code value",
        "schedule code",
    ],
    "description": [
        "description",
        "desc",
        "narrative",
        "title",
        "name",
        "procedure",
        "procedure description",
        "code description",
        "long description",
        "short description",
        "descriptor",
    ],
    "active_from": [
        "active from",
        "valid from",
        "start date",
        "start",
        "effective from",
        "effective date",
        "date from",
        "from",
        "from date",
        "introduced",
        "activefrom",
        "validfrom",
    ],
    "active_to": [
        "active to",
        "valid to",
        "end date",
        "end",
        "effective to",
        "date to",
        "to",
        "to date",
        "expiry",
        "expiry date",
        "expires",
        "withdrawn",
        "retired",
        "activeto",
        "validto",
    ],
    "max_fee": [
        "max fee",
        "maximum fee",
        "fee maximum",
        "max",
        "maximum",
        "fee",
        "fee limit",
        "benefit maximum",
        "maxfee",
        "max fee gbp",
        "max fee (gbp)",
        "maximum fee (£)",
        "max fee (£)",
        "price",
    ],
}
COLUMN_LABELS = {
    "code": "Code",
    "description": "Description",
    "active_from": "Active from",
    "active_to": "Active to",
    "max_fee": "Max fee",
}
DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y")


class IncomingCode(NamedTuple):
    """One checked row (a named tuple: an import makes 100,000 of them, 4x cheaper than a dataclass)."""

    row: int
    code: str
    key: str
    description: str
    active_from: date | None
    active_to: date | None
    max_fee: Decimal | None = None


@dataclass(frozen=True)
class Problem:
    row: int | None
    column: str
    message: str

    def as_dict(self) -> dict:
        return {"row": self.row, "column": self.column, "message": self.message}

    def __str__(self) -> str:
        where = f"Row {self.row}" if self.row else "File"
        return f"{where}{', ' + self.column if self.column else ''}: {self.message}"


class CodeFileError(CodingError):
    """The source has problems; nothing was changed. `problems` lists each (row, column, message)."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        first = problems[0]
        more = f" (and {len(problems) - 1} more problem{'s' if len(problems) > 2 else ''})" if len(problems) > 1 else ""
        super().__init__(f"{first}{more}. Nothing was changed.", field="file", code="bad_file", row=first.row)


Progress = Callable[[int, int], None]  # (rows done, rows total)


class CodeSetSource(Protocol):
    source: str  # CodeSource recorded on the rows it brings

    def read(self, *, system: str, with_fee: bool, progress: Progress | None = None) -> list[IncomingCode]: ...


def _normal_header(name: str) -> str:
    return re.sub(r"[\s_\-.]+", " ", name.replace("\ufeff", "")).strip().lower()


_ALIAS_TO_COLUMN = {alias: column for column, aliases in COLUMN_ALIASES.items() for alias in aliases}


def parse_date(raw: str) -> date:
    if len(raw) == 10 and raw[4] == "-":
        try:
            return date.fromisoformat(raw)  # fast path: strptime costs ~20 µs a row
        except ValueError:
            pass
    for fmt in DATE_FORMATS:
        try:
            return datetime.strptime(raw, fmt).date()
        except ValueError:
            continue
    raise ValueError(raw)


def parse_fee(raw: str) -> Decimal:
    cleaned = raw.replace("£", "").replace(",", "").strip()
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise ValueError("is not an amount; write it like 125.00") from None
    if not value.is_finite():
        raise ValueError("is not an amount; write it like 125.00")
    if value < 0:
        raise ValueError("is negative; a maximum fee is 0.00 or more")
    if value.as_tuple().exponent < -2:
        raise ValueError("has more than 2 decimal places (pounds and pence)")
    if value > MAX_FEE:
        raise ValueError(f"is more than {MAX_FEE}")
    return value.quantize(Decimal("0.01"))


@dataclass
class CsvCodeSource:
    """A CSV file (bytes) with a header row. UTF-8 (a byte-order mark is fine)."""

    content: bytes
    source: str = CodeSource.IMPORT

    def _text(self) -> str:
        # Anywhere in the file, not only its start: the csv module passes a NUL through, and
        # PostgreSQL cannot store one in a description.
        nul = self.content.find(b"\x00")
        if nul >= 0:
            if nul < 65536:
                raise CodeFileError(
                    [Problem(None, "", "This is not a text file (it contains NUL bytes); export the codes as CSV.")]
                )
            line = self.content.count(b"\n", 0, nul) + 1
            raise CodeFileError(
                [
                    Problem(
                        line,
                        "",
                        "this line has a NUL character, which a CSV export never has; export the codes as CSV again",
                    )
                ]
            )
        try:
            return self.content.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = self.content[: exc.start].count(b"\n") + 1
            raise CodeFileError(
                [
                    Problem(
                        line,
                        "",
                        (
                            f"the file is not UTF-8 text (byte 0x{self.content[exc.start]:02x} cannot be read). "
                            "In Excel use Save As > “CSV UTF-8”, then import again"
                        ),
                    )
                ]
            ) from None

    def _columns(self, header: list[str], *, with_fee: bool) -> dict[str, int]:
        found: dict[str, int] = {}
        for index, name in enumerate(header):
            column = _ALIAS_TO_COLUMN.get(_normal_header(name))
            if column and column not in found and (with_fee or column != "max_fee"):
                found[column] = index
        required = ["code"] if with_fee else ["code", "description"]
        missing = [c for c in required if c not in found]
        if missing:
            shown = ", ".join(f"“{h.strip()[:30]}”" for h in header[:8]) or "nothing"
            names = " and ".join(f"“{COLUMN_LABELS[c].lower()}”" for c in missing)
            aliases = "; ".join(f"{COLUMN_LABELS[c]}: {', '.join(COLUMN_ALIASES[c][:5])}" for c in missing)
            raise CodeFileError(
                [Problem(1, "", (f"no {names} column. The header row has {shown}; name the columns e.g. {aliases}"))]
            )
        return found

    def read(self, *, system: str, with_fee: bool, progress: Progress | None = None) -> list[IncomingCode]:
        text = self._text()
        total = max(text.count("\n") + (not text.endswith("\n")) - 1, 0)
        reader = csv.reader(io.StringIO(text), strict=True)
        try:
            header = next(reader)
        except StopIteration:
            raise CodeFileError([Problem(None, "", "the file is empty; it needs a header row and codes")]) from None
        except csv.Error as exc:
            raise CodeFileError([Problem(1, "", f"the header row is not valid CSV ({exc})")]) from None
        columns = self._columns(header, with_fee=with_fee)
        pattern, format_hint = CODE_FORMATS[CodeSystem(system)]
        match_code = pattern.match
        problems: list[Problem] = []
        incoming: list[IncomingCode] = []
        append = incoming.append
        first_row: dict[str, int] = {}
        i_code = columns["code"]
        i_desc = columns.get("description")
        i_from, i_to, i_fee = columns.get("active_from"), columns.get("active_to"), columns.get("max_fee")
        width = len(header)
        keep_case = system != CodeSystem.ICD10
        need_description = i_desc is not None and not with_fee

        def problem(row, column, message):
            problems.append(Problem(row, COLUMN_LABELS.get(column, column), message))
            if len(problems) >= MAX_PROBLEMS:
                raise CodeFileError(problems)

        def read_date(row_number, column, raw):
            try:
                return parse_date(raw)
            except ValueError:
                problem(row_number, column, f"“{raw[:30]}” is not a date; use YYYY-MM-DD or DD/MM/YYYY")
                return None

        # The loop below runs once per row (100,000 for a full schedule): the common case (a valid
        # row, ISO dates) takes the short paths; every rule and message is the same either way.
        row_number = 1
        while True:
            try:
                values = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                problem(reader.line_num, "", f"this line is not valid CSV ({exc})")
                break
            row_number = reader.line_num
            if progress and row_number % 10000 == 0:
                progress(row_number, total)
            count = len(values)
            if count != width:
                if not values or not "".join(values).strip():
                    continue  # blank line
                if count > width + 5:
                    problem(row_number, "", f"{count} values but the header has {width} columns")
                    continue
                if count < width:
                    values += [""] * (width - count)
            raw_code = values[i_code].strip()
            if not raw_code:
                if not "".join(values).strip():
                    continue  # blank line
                problem(row_number, "code", "the code is empty")
                continue
            key = raw_code.upper() if raw_code.isascii() and raw_code.isalnum() else code_key(raw_code)
            if len(raw_code) > 16 or not match_code(key):
                problem(row_number, "code", f"“{raw_code[:30]}” is not a valid code: {format_hint}")
                continue
            if key in first_row:
                problem(row_number, "code", f"{raw_code} appears again (first on row {first_row[key]}); each code once")
                continue
            first_row[key] = row_number
            if i_desc is not None:
                description = " ".join(values[i_desc].split())
                if not description and need_description:
                    problem(row_number, "description", f"the description of {raw_code} is empty")
                    continue
                if len(description) > MAX_DESCRIPTION:
                    problem(
                        row_number,
                        "description",
                        f"the description is {len(description)} characters; at most {MAX_DESCRIPTION}",
                    )
                    continue
            else:
                description = ""
            active_from = active_to = None
            if i_from is not None:
                raw = values[i_from].strip()
                if raw:
                    active_from = read_date(row_number, "active_from", raw)
            if i_to is not None:
                raw = values[i_to].strip()
                if raw:
                    active_to = read_date(row_number, "active_to", raw)
            if active_from and active_to and active_to < active_from:
                problem(row_number, "active_to", f"{active_to:%d/%m/%Y} is before active from {active_from:%d/%m/%Y}")
            fee = None
            if i_fee is not None and values[i_fee].strip():
                try:
                    fee = parse_fee(values[i_fee])
                except ValueError as exc:
                    problem(row_number, "max_fee", f"“{values[i_fee].strip()[:30]}” {exc}")
            append(
                IncomingCode(
                    row_number, key if keep_case else raw_code.upper(), key, description, active_from, active_to, fee
                )
            )
        if problems:
            raise CodeFileError(problems)
        if not incoming:
            raise CodeFileError([Problem(None, "", "the file has a header row but no codes")])
        if progress:
            progress(total, total)
        return incoming


# Working out the changes -------------------------------------------------------------------------


@dataclass
class ImportPlan:
    added: list[IncomingCode] = field(default_factory=list)
    changed: list[tuple[int, IncomingCode, dict]] = field(default_factory=list)  # (id, new, {field: old})
    retired: list[tuple[int, str, str]] = field(default_factory=list)  # (id, code, description)
    unchanged: int = 0

    @property
    def has_changes(self) -> bool:
        return bool(self.added or self.changed or self.retired)

    def preview(self, limit: int = 50) -> dict:
        """The first examples of each kind of change, for the page (JSON-safe)."""

        def show(item: IncomingCode) -> dict:
            return {
                "code": item.code,
                "description": item.description,
                "active_from": item.active_from.isoformat() if item.active_from else "",
                "active_to": item.active_to.isoformat() if item.active_to else "",
                "max_fee": str(item.max_fee) if item.max_fee is not None else "",
            }

        return {
            "added": [show(i) for i in self.added[:limit]],
            "changed": [
                {
                    **show(i),
                    "was": {
                        k: (v.isoformat() if isinstance(v, date) else ("" if v is None else str(v)))
                        for k, v in old.items()
                    },
                }
                for _, i, old in self.changed[:limit]
            ],
            "retired": [{"code": code, "description": description} for _, code, description in self.retired[:limit]],
        }


def _compare(
    existing_rows, incoming: list[IncomingCode], *, fields: tuple[str, ...], retire_missing: bool, retire_on: date
) -> ImportPlan:
    """existing_rows: (id, key, code, description, active_from, active_to[, max_fee]) tuples."""
    plan = ImportPlan()
    existing = {row[1]: row for row in existing_rows}
    for item in incoming:
        row = existing.pop(item.key, None)
        if row is None:
            plan.added.append(item)
            continue
        old = dict(zip(("code",) + fields, row[2:]))
        new = {"code": item.code, **{name: getattr(item, name) for name in fields}}
        differences = {name: old[name] for name in new if new[name] != old[name]}
        if differences:
            plan.changed.append((row[0], item, differences))
        else:
            plan.unchanged += 1
    if retire_missing:
        for row in existing.values():
            active_to = row[5]
            if active_to is None or active_to > retire_on:
                plan.retired.append((row[0], row[2], row[3]))
            else:
                plan.unchanged += 1
    return plan


CODE_FIELDS = ("description", "active_from", "active_to")
ACCEPTED_FIELDS = ("description", "active_from", "active_to", "max_fee")


def plan_code_import(
    *, practice, system: str, incoming: list[IncomingCode], retire_missing: bool, retire_on: date
) -> ImportPlan:
    rows = Code.objects.filter(practice=practice, system=system).values_list("id", "code_key", "code", *CODE_FIELDS)
    return _compare(
        rows.iterator(chunk_size=10000),
        incoming,
        fields=CODE_FIELDS,
        retire_missing=retire_missing,
        retire_on=retire_on,
    )


def plan_accepted_import(
    *, practice, insurer, system: str, incoming: list[IncomingCode], retire_missing: bool, retire_on: date
) -> ImportPlan:
    rows = AcceptedCode.objects.filter(practice=practice, insurer=insurer, system=system).values_list(
        "id", "code_key", "code", *ACCEPTED_FIELDS
    )
    return _compare(
        rows.iterator(chunk_size=10000),
        incoming,
        fields=ACCEPTED_FIELDS,
        retire_missing=retire_missing,
        retire_on=retire_on,
    )
