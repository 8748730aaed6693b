"""Fuzzing the remittance file parsers: whatever the bytes, a FHIR Bundle of the wrong shape or a
CSV with odd fields, the parser answers with its own error (RemittanceError) or with lines a
database can store, never with any other exception. `python -m bench parsers` runs the same
idea over 10,000+ inputs per parser."""

from __future__ import annotations

import copy
import csv
import io
import json
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.parsers import mutation_places, valid_bundle
from openpractice.remittances import parsing
from openpractice.remittances.errors import RemittanceError

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Any JSON value, amounts as Decimal (the Bundle is read with parse_float=Decimal), odd text included.
texts = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["", "\x00", "\ud800", "1e999999", "NaN", "-0", "£1,000.00", "2026-02-30", "x" * 300]),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**30), 10**30),
    texts,
    st.decimals(allow_nan=True, allow_infinity=True, places=None),
    st.sampled_from([Decimal("1E+999999"), Decimal("1E-999999"), Decimal("12.345")]),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)),
    max_leaves=12,
)


@st.composite
def near_valid_bundles(draw) -> dict:
    """A valid remittance Bundle with one to four elements replaced by any JSON value, removed,
    wrapped in a list, or turned into text."""
    body = copy.deepcopy(valid_bundle(draw(st.integers(1, 3))))
    for _ in range(draw(st.integers(1, 4))):
        places = mutation_places(body)
        container, key = places[draw(st.integers(0, len(places) - 1))]
        action = draw(st.sampled_from(["replace", "remove", "wrap", "text"]))
        if action == "replace":
            container[key] = draw(json_values)
        elif action == "remove" and isinstance(container, dict):
            del container[key]
        elif action == "wrap":
            container[key] = [container[key]]
        else:
            container[key] = json.dumps(container[key], default=str)
    return body


def _storable(parsed: parsing.ParsedBatch) -> None:
    """What a parser returns goes into the database as it is: text without NUL or lone surrogates,
    amounts of two places within the columns' range."""
    for line in parsed.lines:
        for text in (
            line.invoice_number,
            line.bill_id,
            line.patient_name,
            line.membership_number,
            line.shortfall_reason,
            line.shortfall_code,
        ):
            assert isinstance(text, str) and "\x00" not in text
            text.encode("utf-8")
        for amount in (line.amount_paid, line.amount_invoiced, line.shortfall):
            assert isinstance(amount, Decimal) and Decimal(0) <= amount < Decimal("1e10")
            assert amount == amount.quantize(Decimal("0.01"))
    parsed.content_key()
    parsing.line_keys(payer=parsed.insurer_identifier, reference=parsed.payment_reference, lines=parsed.lines)


def _bundle_bytes(content: bytes) -> None:
    try:
        _storable(parsing.parse_bundle(parsing.load_json(content)))
    except RemittanceError as exc:
        assert exc.message and exc.field


@FUZZ
@given(st.binary(max_size=400))
def test_any_bytes_as_a_bundle(content):
    _bundle_bytes(content)


@FUZZ
@given(near_valid_bundles())
def test_near_valid_bundles(body):
    try:
        _storable(parsing.parse_bundle(body))
    except RemittanceError as exc:
        assert exc.message and exc.field
    _bundle_bytes(json.dumps(body, default=str).encode())


@FUZZ
@given(st.integers(1, 200_000), st.sampled_from("[{"))
def test_deep_nesting(depth, opener):
    _bundle_bytes((opener + ('"a":' if opener == "{" else "")).encode() * depth)


# -- CSV -----------------------------------------------------------------------------------------
odd_fields = st.one_of(
    st.text(max_size=20),
    st.sampled_from(
        [
            "",
            '"',
            '""',
            "a\nb",
            "a\r\nb",
            "\x00",
            ",",
            "£12.50",
            "12.345",
            "-1",
            "1e9",
            "NaN",
            "1,000.00",
            "x" * 131_073,
            "\ufeff",
            "\u2028",
        ]
    ),
)
headers = st.lists(
    st.sampled_from(["Invoice", "Paid", "Invoiced", "Shortfall", "Reason", "Bill", "", "Paid", "x"]),
    min_size=0,
    max_size=6,
)
MAPPINGS = st.dictionaries(
    st.sampled_from(list(parsing.CSV_FIELDS) + ["nonsense"]),
    st.sampled_from(["Invoice", "Paid", "Invoiced", "Shortfall", "Reason", "Bill", "", "Nope"]),
    max_size=8,
)


@st.composite
def odd_csvs(draw) -> bytes:
    header = draw(headers)
    rows = draw(st.lists(st.lists(odd_fields, max_size=len(header) + 2), max_size=6))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator=draw(st.sampled_from(["\n", "\r\n", "\r"])))
    writer.writerow(header)
    writer.writerows(rows)
    text = out.getvalue()
    if draw(st.booleans()):  # break the quoting now and then
        text = text.replace('"', draw(st.sampled_from(["", '"""', "'"])))
    return text.encode(draw(st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1252", "latin-1"])), "replace")


def _csv(content: bytes, mapping: dict) -> None:
    try:
        _storable(
            parsing.parse_csv(
                content, mapping=mapping, insurer_identifier="bup", payment_reference="BACS-1", payment_date=None
            )
        )
    except RemittanceError as exc:
        assert exc.message and exc.field


@FUZZ
@given(odd_csvs(), MAPPINGS)
def test_csvs_with_odd_fields(content, mapping):
    _csv(content, mapping)


@FUZZ
@given(st.binary(max_size=400))
def test_any_bytes_as_a_csv(content):
    _csv(content, {"invoice_number": "Invoice", "amount_paid": "Paid"})
