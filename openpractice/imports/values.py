"""Reading one cell: the file's text, money, dates and identifiers. Every reader returns the value
or raises ValueError with what would be valid (the preview shows it beside the row and field)."""

from __future__ import annotations

import csv
import datetime as dt
import functools
import io
import re
from decimal import Decimal

from openpractice.billing.errors import BillingError
from openpractice.billing.money import parse_money

MAX_BYTES = 64 * 1024 * 1024  # a 100,000-patient export is about 15 MB


def decode(data: bytes) -> str:
    """UTF-8 (with or without a byte order mark), else Windows-1252: what spreadsheet programs save."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
    # NUL and SOH never belong in a name or address (and PostgreSQL text cannot hold NUL)
    return text.replace("\x00", "").replace("\x01", "")


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


_DATE_FORMATS = ("%d %b %Y", "%d %B %Y")
_DMY = re.compile(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})")
_YMD = re.compile(r"(\d{4})[-/](\d{1,2})[-/](\d{1,2})")
_TIME = re.compile(r"[ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?$")


@functools.lru_cache(maxsize=65536)
def _day(value: str) -> dt.date | None:
    # Cached: a file of 100,000 patients has a few tens of thousands of distinct birthdays.
    value = _TIME.sub("", value.strip())
    match = _DMY.fullmatch(value)
    parts = (match.group(3), match.group(2), match.group(1)) if match else None
    if parts is None and (match := _YMD.fullmatch(value)):
        parts = (match.group(1), match.group(2), match.group(3))
    try:
        if parts is not None:
            return dt.date(int(parts[0]), int(parts[1]), int(parts[2]))
        for fmt in _DATE_FORMATS:
            try:
                return dt.datetime.strptime(value, fmt).date()
            except ValueError:
                continue
    except ValueError:
        return None
    return None


def date(text: str, *, label: str) -> dt.date:
    """A day, as UK systems export it: 12/04/1980, 1980-04-12, 12-04-1980, 12.04.1980, 12 Apr 1980.
    A time of day after the date (spreadsheets add 00:00:00) is ignored; two-digit years are refused."""
    day = _day(text or "")
    if day is None:
        raise ValueError(f"Enter the {label.lower()} as a real date with a four-digit year, such as 12/04/1980.")
    return day


def identifier(text: str) -> str:
    """An id from another system as compared: spaces trimmed and inner runs of blanks collapsed,
    upper case (P-001, p-001 and ' P-001 ' are one patient)."""
    return " ".join((text or "").split()).upper()
