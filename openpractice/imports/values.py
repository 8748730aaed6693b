"""Reading one cell: the file's text, money, dates and identifiers. Every reader returns the value
or raises ValueError with what would be valid (the preview shows it beside the row and field)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from decimal import Decimal

from openpractice.billing.errors import BillingError
from openpractice.billing.money import parse_money

MAX_BYTES = 64 * 1024 * 1024  # a 100,000-patient export is about 15 MB


def decode(data: bytes) -> str:
    """UTF-8 (with or without a byte order mark), else Windows-1252: what spreadsheet programs save."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _dialect(text: str):
    sample = text[:20_000]
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        return csv.excel


def read_rows(text: str) -> tuple[list[str], list[list[str]]]:
    """The header and the data rows (blank lines dropped). Row n of the file is rows[n - 2]."""
    reader = csv.reader(io.StringIO(text, newline=""), _dialect(text))
    header = next(reader, [])
    header = [h.strip() for h in header]
    rows = [row for row in reader if any(cell.strip() for cell in row)]
    return header, rows


def read_header(text: str) -> list[str]:
    reader = csv.reader(io.StringIO(text[:200_000], newline=""), _dialect(text))
    return [h.strip() for h in next(reader, [])]


def money(text: str, *, label: str) -> Decimal:
    """Pounds and pence as Decimal (never a float), 0 or more: "£1,234.50", "1234.5", "90"."""
    try:
        value = parse_money(text, field="", label=label)
    except BillingError:
        raise ValueError(f"Enter the {label.lower()} in pounds and pence, such as 180.00.") from None
    if value < 0:
        raise ValueError(f"The {label.lower()} cannot be negative: enter 0 or more, such as 180.00.")
    return value


_DATE_FORMATS = ("%d/%m/%Y", "%Y-%m-%d", "%d-%m-%Y", "%d.%m.%Y", "%d %b %Y", "%d %B %Y", "%Y/%m/%d")


def date(text: str, *, label: str) -> dt.date:
    """A day, as UK systems export it: 12/04/1980, 1980-04-12, 12-04-1980, 12 Apr 1980. A time of
    day after the date (spreadsheets add 00:00:00) is ignored; two-digit years are refused."""
    value = (text or "").strip()
    value = re.sub(r"[ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?$", "", value)
    for fmt in _DATE_FORMATS:
        try:
            return dt.datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    raise ValueError(f"Enter the {label.lower()} as a date with a four-digit year, such as 12/04/1980.")


def identifier(text: str) -> str:
    """An id from another system as compared: spaces trimmed and inner runs of blanks collapsed,
    upper case (P-001, p-001 and ' P-001 ' are one patient)."""
    return " ".join((text or "").split()).upper()
