"""File parsers under generated input (registered as `parsers`: `python -m bench [--quick] parsers`).

For each parser that reads a file a user uploads — the remittance FHIR Bundle
(`remittances.parsing.load_json` + `parse_bundle`), the remittance CSV (`parse_csv`) and the
code-set CSV (`coding.importing.CsvCodeSource`) — feed at least 10,000 generated inputs (2,000 with
--quick): random bytes, valid files with one to four elements replaced by a value of another type,
removed, wrapped, nested thousands deep or turned into text, and CSVs with odd fields (quotes, line
breaks, NUL, fields over the csv module's 131,072-character limit, bad numbers and dates, missing
columns, five encodings). Every input must end in the parser's own error or in a result; any other
exception is counted (target: 0) and the first few are printed to stderr. Seeded: a failure
repeats. The tests' Hypothesis fuzzers (tests/remittances/test_parser_fuzz.py,
tests/coding/test_parser_fuzz.py) run the same idea with a few hundred examples in CI.
Parsing touches no database: runs on the first backend only.
"""

from __future__ import annotations

import copy
import csv
import io
import json
import random
import sys
import time
import traceback
from decimal import Decimal

from bench import benchmark
from bench import quick as quick_run

INPUTS = 10_000
QUICK_INPUTS = 2_000
SEED = 20261203
NS = "https://openpractice.org/fhir/healthcode/StructureDefinition/"

ODD_TEXT = [
    "",
    "\x00",
    "\ud800",
    "1e999999",
    "NaN",
    "-0",
    "£1,000.00",
    "2026-02-30",
    "x" * 300,
    '"',
    "a\nb",
    "\ufeff",
    "W8500",
    "E11.9",
    "12.345",
    "-1",
    "31/12/2026",
]
ODD_SCALARS = [
    None,
    True,
    False,
    0,
    -1,
    10**40,
    Decimal("1E+999999"),
    Decimal("1E-999999"),
    Decimal("NaN"),
    Decimal("12.345"),
    Decimal("-5.00"),
    *ODD_TEXT,
]


def _value(rng: random.Random, depth: int = 0):
    roll = rng.random()
    if depth > 3 or roll < 0.6:
        return rng.choice(ODD_SCALARS)
    if roll < 0.8:
        return [_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    return {
        rng.choice(["value", "url", "code", "coding", "identifier", "x"]): _value(rng, depth + 1)
        for _ in range(rng.randint(0, 3))
    }


def valid_bundle(bills: int) -> dict:
    """A remittance Bundle that parses: what the mutations start from (here and in the tests' fuzzers)."""
    details, responses = [], []
    for i in range(1, bills + 1):
        details.append(
            {
                "extension": [
                    {"url": f"{NS}amount-invoiced", "valueMoney": {"value": Decimal("180.00")}},
                    {"url": f"{NS}shortfall", "valueMoney": {"value": Decimal("30.00")}},
                    {"url": f"{NS}patient-name", "valueString": "Oliver Bennett"},
                    {"url": f"{NS}membership-number", "valueString": "10000001"},
                ],
                "identifier": {"value": f"HCB{i:08d}"},
                "request": {"identifier": {"value": f"INV{i:06d}"}},
                "amount": {"value": Decimal("150.00")},
            }
        )
        responses.append(
            {
                "resourceType": "ClaimResponse",
                "id": f"HCB{i:08d}",
                "item": [
                    {
                        "itemSequence": 1,
                        "adjudication": [
                            {"category": {"coding": [{"code": "submitted"}]}, "amount": {"value": Decimal("180.00")}},
                            {"category": {"coding": [{"code": "benefit"}]}, "amount": {"value": Decimal("150.00")}},
                            {
                                "category": {"coding": [{"code": "shortfall"}]},
                                "amount": {"value": Decimal("30.00")},
                                "reason": {"coding": [{"code": "benefit-maximum"}], "text": "Benefit maximum"},
                            },
                        ],
                    }
                ],
            }
        )
    reconciliation = {
        "resourceType": "PaymentReconciliation",
        "id": "RMT1",
        "paymentIssuer": {"identifier": {"value": "bup"}},
        "paymentDate": "2026-06-15",
        "paymentAmount": {"value": Decimal("150.00") * bills},
        "paymentIdentifier": {"value": "BACS-BUP-1"},
        "detail": details,
    }
    return {
        "resourceType": "Bundle",
        "id": "RMT1",
        "type": "collection",
        "entry": [{"resource": r} for r in [reconciliation, *responses]],
    }


def mutation_places(value) -> list:
    """Every (container, key) in a JSON tree: where a mutation can land."""
    found = []
    if isinstance(value, dict):
        for key, item in value.items():
            found.append((value, key))
            found.extend(mutation_places(item))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.append((value, index))
            found.extend(mutation_places(item))
    return found


def bundle_inputs(rng: random.Random):
    """bytes of a would-be Bundle."""
    base = valid_bundle(2)
    while True:
        roll = rng.random()
        if roll < 0.1:
            yield rng.randbytes(rng.randint(0, 300))
            continue
        if roll < 0.15:
            opener = rng.choice(["[", '{"a":', '{"resourceType":"Bundle","entry":['])
            yield (opener * rng.randint(500, 100_000)).encode()
            continue
        body = copy.deepcopy(base)
        for _ in range(rng.randint(1, 4)):
            container, key = rng.choice(mutation_places(body))
            action = rng.random()
            if action < 0.6:
                container[key] = _value(rng)
            elif action < 0.7 and isinstance(container, dict):
                del container[key]
            elif action < 0.8:
                container[key] = [container[key]]
            elif action < 0.9:
                container[key] = json.dumps(container[key], default=str)
            else:  # nested hundreds deep, inside an otherwise good Bundle (the last change: walking
                value = container[key]  # it again would be the generator's own recursion)
                for _ in range(rng.randint(100, 900)):
                    value = [value]
                container[key] = value
                break
        try:
            text = json.dumps(body, default=str)
        except RecursionError:
            continue
        yield text.encode(rng.choice(["utf-8", "utf-8-sig", "utf-16"]))


ODD_FIELDS = [
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
    "INV000001",
    "180.00",
    "150.00",
    "30.00",
    "x" * 131_073,
    "\ufeff",
    "\u2028",
    "2026-13-01",
]


def _csv_text(rng: random.Random, header: list[str], fields: list[str]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator=rng.choice(["\n", "\r\n", "\r"]))
    writer.writerow(header)
    for _ in range(rng.randint(0, 6)):
        writer.writerow(
            [
                rng.choice(fields)
                if rng.random() < 0.7
                else "".join(rng.choice('ab9.,£" \n') for _ in range(rng.randint(0, 12)))
                for _ in range(rng.randint(0, len(header) + 2))
            ]
        )
    text = out.getvalue()
    if rng.random() < 0.2:
        text = text.replace('"', rng.choice(["", '"""', "'"]))
    return text.encode(rng.choice(["utf-8", "utf-8-sig", "utf-16", "cp1252", "latin-1"]), "replace")


def remittance_csv_inputs(rng: random.Random):
    """(bytes, mapping) of a would-be remittance CSV."""
    from openpractice.remittances.parsing import CSV_FIELDS

    names = ["Invoice", "Paid", "Invoiced", "Shortfall", "Reason", "Bill", "", "x"]
    while True:
        mapping = {"invoice_number": "Invoice", "amount_paid": "Paid"}
        if rng.random() < 0.3:
            mapping = {rng.choice([*CSV_FIELDS, "nonsense"]): rng.choice(names) for _ in range(rng.randint(0, 5))}
        if rng.random() < 0.1:
            yield rng.randbytes(rng.randint(0, 300)), mapping
            continue
        header = [rng.choice(names) for _ in range(rng.randint(0, 6))]
        yield _csv_text(rng, header, ODD_FIELDS), mapping


def code_csv_inputs(rng: random.Random):
    """(bytes, system, with_fee) of a would-be code-set CSV."""
    names = ["code", "Description", "Active from", "Active to", "Max fee", "", "x", "\ufeffCode", "CCSD code"]
    fields = ODD_FIELDS + ["W8500", "w85 00", "E11.9", "20110", "AC100", "31/12/2026", "01/01/2020", "x" * 600]
    while True:
        system, with_fee = rng.choice(["ccsd", "isc", "icd10"]), rng.random() < 0.5
        if rng.random() < 0.1:
            yield rng.randbytes(rng.randint(0, 300)), system, with_fee
            continue
        yield _csv_text(rng, [rng.choice(names) for _ in range(rng.randint(0, 6))], fields), system, with_fee


def _run(name: str, inputs, parse, expected: type[Exception], count: int) -> list[dict]:
    unhandled, shown, started = 0, 0, time.perf_counter()
    for _, item in zip(range(count), inputs):
        try:
            parse(item)
        except expected:
            pass
        except Exception:  # what the benchmark counts: anything but the parser's own error
            unhandled += 1
            if shown < 3:
                shown += 1
                print(f"  {name}: unhandled on {repr(item)[:200]}\n{traceback.format_exc()}", file=sys.stderr)
    seconds = time.perf_counter() - started
    return [
        {
            "metric": f"{name}: inputs tried",
            "value": float(count),
            "unit": "inputs",
            "target": ">= 10000",
            "ok": count >= 10_000 or quick_run(),
        },
        {
            "metric": f"{name}: unhandled exceptions",
            "value": float(unhandled),
            "unit": "inputs",
            "target": "0",
            "ok": unhandled == 0,
        },
        {"metric": f"{name}: speed (generating and parsing)", "value": count / seconds, "unit": "inputs/s"},
    ]


@benchmark("parsers")
def parsers_entry() -> list[dict]:
    from django.db import connection

    from openpractice.coding.errors import CodingError
    from openpractice.coding.importing import CsvCodeSource
    from openpractice.remittances import parsing
    from openpractice.remittances.errors import RemittanceError

    if connection.vendor != "sqlite":
        return []  # no database work: once is enough
    count = QUICK_INPUTS if quick_run() else INPUTS

    def bundle(content):
        parsed = parsing.parse_bundle(parsing.load_json(content))
        parsed.content_key()

    def remittance_csv(item):
        content, mapping = item
        parsing.parse_csv(
            content, mapping=mapping, insurer_identifier="bup", payment_reference="BACS-1", payment_date=None
        ).content_key()

    def code_csv(item):
        content, system, with_fee = item
        CsvCodeSource(content).read(system=system, with_fee=with_fee)

    rows = []
    rows += _run("remittance Bundle", bundle_inputs(random.Random(SEED)), bundle, RemittanceError, count)
    rows += _run(
        "remittance CSV", remittance_csv_inputs(random.Random(SEED + 1)), remittance_csv, RemittanceError, count
    )
    rows += _run("code-set CSV", code_csv_inputs(random.Random(SEED + 2)), code_csv, CodingError, count)
    return rows
