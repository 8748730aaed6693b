"""Fuzzing the code-set CSV reader: any bytes, CSVs with odd fields, headers and encodings are read
into codes a database can store or refused with CodeFileError naming where, never another
exception. `python -m bench parsers` runs the same over 10,000+ inputs."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openpractice.coding.importing import CodeFileError, CsvCodeSource

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

odd_fields = st.one_of(
    st.text(max_size=20),
    st.sampled_from(
        [
            "",
            '"',
            "W8500",
            "w85 00",
            "E11.9",
            "20110",
            "AC100",
            "\x00",
            "2026-02-30",
            "31/12/2026",
            "01/01/2020",
            "-1",
            "12.345",
            "£1,000.00",
            "NaN",
            "1e9",
            "x" * 600,
            "x" * 131_073,
            "\ufeff",
            "a\nb",
        ]
    ),
)
headers = st.lists(
    st.sampled_from(
        ["code", "Description", "Active from", "Active to", "Max fee", "", "code", "x", "\ufeffCode", "CCSD code"]
    ),
    max_size=6,
)


@st.composite
def odd_csvs(draw) -> bytes:
    header = draw(headers)
    rows = draw(st.lists(st.lists(odd_fields, max_size=len(header) + 7), max_size=6))
    out = io.StringIO()
    csv.writer(out, lineterminator=draw(st.sampled_from(["\n", "\r\n", "\r"]))).writerows([header, *rows])
    text = out.getvalue()
    if draw(st.booleans()):
        text = text.replace('"', draw(st.sampled_from(["", '"""', "'"])))
    return text.encode(draw(st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1252"])), "replace")


def _read(content: bytes, system: str, with_fee: bool) -> None:
    try:
        codes = CsvCodeSource(content).read(system=system, with_fee=with_fee)
    except CodeFileError as exc:
        assert exc.problems and exc.message
        return
    for code in codes:
        for text in (code.code, code.key, code.description):
            assert "\x00" not in text
            text.encode("utf-8")
        assert code.max_fee is None or Decimal(0) <= code.max_fee < Decimal("1e8")


@FUZZ
@given(odd_csvs(), st.sampled_from(["ccsd", "isc", "icd10"]), st.booleans())
def test_code_csvs_with_odd_fields(content, system, with_fee):
    _read(content, system, with_fee)


@FUZZ
@given(st.binary(max_size=400), st.sampled_from(["ccsd", "isc", "icd10"]), st.booleans())
def test_any_bytes_as_a_code_csv(content, system, with_fee):
    _read(content, system, with_fee)


def test_a_nul_after_the_first_64_kb_is_named():
    rows = "\n".join(f"W{i:04d},Knee {i}" for i in range(9000))
    content = f"code,description\n{rows}\nW9999,Kn\x00ee\n".encode()
    assert len(content) > 65536
    try:
        CsvCodeSource(content).read(system="ccsd", with_fee=False)
    except CodeFileError as exc:
        assert "NUL" in exc.message and exc.problems[0].row == 9002
    else:
        raise AssertionError("a NUL in a description was accepted")
