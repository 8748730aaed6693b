"""One test per validation rule: a bill that breaks it fails with that rule's Field /
Error / Suggestion, and the nearest bill that keeps it is validated."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from sandbox.rules import RULES
from sandbox.testing import bill_status, errors_of, example_claim, unique_invoice

MEMBERS = {
    "bup": dict(
        membership_number="10000001",
        first_name="Oliver",
        last_name="Bennett",
        birth_date="1980-04-12",
        postcode="SW1A 1AA",
    ),
    "ppp": dict(
        membership_number="AX1234567B",
        first_name="Isla",
        last_name="Turner",
        birth_date="1990-07-21",
        postcode="B1 1BB",
    ),
    "nuh": dict(
        membership_number="100200300", first_name="Noah", last_name="Patel", birth_date="1992-01-15", postcode="BS1 4DJ"
    ),
    "slh": dict(
        membership_number="40123456", first_name="Mia", last_name="Robinson", birth_date="1995-08-19", postcode="G1 1XQ"
    ),
}


def claim(today: dt.date, insurer: str = "bup", **overrides: Any) -> dict[str, Any]:
    arguments: dict[str, Any] = {**MEMBERS.get(insurer, {}), **overrides}
    arguments.setdefault("invoice_number", unique_invoice())
    arguments.setdefault("service_date", today)
    return example_claim(insurer=insurer, **arguments)


def without_first_date(today: dt.date) -> dict[str, Any]:
    built = claim(today)
    del built["billablePeriod"]
    for item in built["item"]:
        del item["servicedDate"]
    return built


def without_membership_number(today: dt.date) -> dict[str, Any]:
    built = claim(today)
    built["insurance"][0]["coverage"] = {"display": "membership number not known"}
    return built


def with_uncoded_line(today: dt.date) -> dict[str, Any]:
    built = claim(today)
    built["item"][0]["productOrService"] = {"text": "Consultation"}
    return built


def _submit_first(invoice_number: str) -> Callable[[Any, dt.date], None]:
    def prepare(api, today):
        assert api.submit(claim(today, invoice_number=invoice_number)).status_code == 201

    return prepare


@dataclasses.dataclass
class Case:
    rule_id: str
    failing: Callable[[dt.date], dict[str, Any]]
    passing: Callable[[dt.date], dict[str, Any]]
    prepare: Callable[[Any, dt.date], None] | None = None


CASES = [
    Case(
        "invoice-number-duplicate",
        lambda t: claim(t, invoice_number="DUP000001", invoice_version="second"),
        lambda t: claim(t, "nuh", invoice_number="DUP000001"),
        prepare=_submit_first("DUP000001"),
    ),
    Case(
        "invoice-number-axa-format",
        lambda t: claim(t, "ppp", invoice_number="AX.1" + unique_invoice()[-4:]),
        lambda t: claim(t, "ppp", invoice_number="A" + unique_invoice("")[-9:].zfill(9)),
    ),
    Case("setting-invalid", lambda t: claim(t, setting="X"), lambda t: claim(t, setting="D")),
    Case("registration-number-missing", without_membership_number, lambda t: claim(t)),
    Case(
        "registration-number-format",
        lambda t: claim(t, "alh", membership_number="12345"),
        lambda t: claim(t, "alh", membership_number="1234567"),
    ),
    Case(
        "registration-number-vitality-member-number",
        lambda t: claim(t, "slh", membership_number="1234567890"),
        lambda t: claim(t, "slh"),
    ),
    Case("member-not-found", lambda t: claim(t, membership_number="10000099"), lambda t: claim(t)),
    Case("member-name-mismatch", lambda t: claim(t, last_name="Benet"), lambda t: claim(t, last_name="BENNETT")),
    Case("member-date-of-birth-mismatch", lambda t: claim(t, birth_date="1980-04-13"), lambda t: claim(t)),
    Case("member-postcode-mismatch", lambda t: claim(t, postcode="SW1A 2AA"), lambda t: claim(t, postcode="sw1a1aa")),
    Case(
        "member-cover-not-active",
        lambda t: claim(
            t,
            membership_number="10000009",
            first_name="Harry",
            last_name="Whitfield",
            birth_date="1968-02-14",
            postcode="LS1 4DY",
        ),
        lambda t: claim(t),
    ),
    Case(
        "authorisation-format",
        lambda t: claim(t, "nuh", auth_code="12-34"),
        lambda t: claim(t, "nuh", auth_code="123456/12/1234/123"),
    ),
    Case("first-date-of-service-missing", without_first_date, lambda t: claim(t)),
    Case(
        "first-date-of-service-future",
        lambda t: claim(t, service_date=t + dt.timedelta(days=1)),
        lambda t: claim(t, service_date=t),
    ),
    Case(
        "insurer-time-limit",
        lambda t: claim(t, "slh", service_date=t - dt.timedelta(days=100)),
        lambda t: claim(t, "slh", service_date=t - dt.timedelta(days=80)),
    ),
    Case("provider-unknown", lambda t: claim(t, provider="651978"), lambda t: claim(t, provider="0651978")),
    Case(
        "provider-not-recognised",
        lambda t: claim(t, "slh", provider="0712345"),
        lambda t: claim(t, "slh", provider="0698765"),
    ),
    Case("payee-unknown", lambda t: claim(t, payee="600999999"), lambda t: claim(t, payee="600654321")),
    Case("location-unknown", lambda t: claim(t, location="600000001"), lambda t: claim(t, location="600654321")),
    Case("diagnosis-required", lambda t: claim(t, diagnosis=None), lambda t: claim(t, "nuh", diagnosis=None)),
    Case("diagnosis-format", lambda t: claim(t, diagnosis="ABC"), lambda t: claim(t, diagnosis="I48")),
    Case("line-code-missing", with_uncoded_line, lambda t: claim(t, lines=[{"isc": "SCON2", "unit_price": "100.00"}])),
    Case(
        "service-code-unknown",
        lambda t: claim(t, lines=[{"isc": "ZZZ99", "unit_price": "100.00"}]),
        lambda t: claim(t, lines=[{"isc": "SAUD1", "unit_price": "100.00"}]),
    ),
    Case(
        "procedure-code-unknown",
        lambda t: claim(t, lines=[{"ccsd": "99999", "unit_price": "100.00"}]),
        lambda t: claim(t, lines=[{"ccsd": "25000", "unit_price": "100.00"}]),
    ),
    Case(
        "procedure-code-inactive",
        lambda t: claim(t, lines=[{"ccsd": "AC100", "unit_price": "100.00"}]),
        lambda t: claim(t, lines=[{"ccsd": "W8520", "unit_price": "900.00"}]),
    ),
    Case(
        "procedure-code-not-accepted",
        lambda t: claim(t, lines=[{"ccsd": "E2880", "unit_price": "100.00"}]),
        lambda t: claim(t, "nuh", lines=[{"ccsd": "E2880", "unit_price": "100.00"}]),
    ),
    Case(
        "quantity-invalid",
        lambda t: claim(t, lines=[{"isc": "SCON1", "unit_price": "100.00", "quantity": 0}]),
        lambda t: claim(t, lines=[{"isc": "SCON1", "unit_price": "100.00", "quantity": 2}]),
    ),
    Case(
        "net-total-mismatch",
        lambda t: claim(t, lines=[{"isc": "SCON1", "unit_price": "100.00", "net": "90.00"}]),
        lambda t: claim(t, lines=[{"isc": "SCON1", "unit_price": "100.00", "net": "100.00"}]),
    ),
    Case(
        "fee-above-maximum",
        lambda t: claim(t, lines=[{"ccsd": "W8520", "unit_price": "950.01"}]),
        lambda t: claim(t, lines=[{"ccsd": "W8520", "unit_price": "950.00"}]),
    ),
    Case(
        "service-date-future",
        lambda t: claim(t, lines=[{"isc": "SCON1", "unit_price": "100.00", "date": t + dt.timedelta(days=1)}]),
        lambda t: claim(t, lines=[{"isc": "SCON1", "unit_price": "100.00", "date": t}]),
    ),
]


def test_every_rule_in_the_table_has_a_case():
    assert {case.rule_id for case in CASES} == set(RULES)


def _validated(api, failing_claim, passing_claim):
    fail_answer, pass_answer = api.submit(failing_claim), api.submit(passing_claim)
    assert fail_answer.status_code == 201, fail_answer.text
    assert pass_answer.status_code == 201, pass_answer.text
    api.advance(61)
    return api.bill(fail_answer.json()["id"]), api.bill(pass_answer.json()["id"])


@pytest.mark.parametrize("case", CASES, ids=[case.rule_id for case in CASES])
def test_rule_fails_the_bill_that_breaks_it_and_accepts_the_one_that_keeps_it(api, today, case):
    if case.prepare:
        case.prepare(api, today)
    failed, passed = _validated(api, case.failing(today), case.passing(today))
    rule = RULES[case.rule_id]
    assert bill_status(failed) == "AwaitingCorrection"
    matching = [error for error in errors_of(failed) if error["rule"] == case.rule_id]
    assert matching, errors_of(failed)
    assert matching[0]["field"] == rule.field and matching[0]["level"] == rule.level
    assert matching[0]["error"] and matching[0]["suggestion"]
    if rule.level == "line":
        assert matching[0]["line"] == 1
    assert errors_of(passed) == [] and bill_status(passed) == "Validated"


@pytest.mark.parametrize(
    "insurer, number, valid",
    [
        ("alh", "123456", True),
        ("alh", "12345678", True),
        ("alh", "123456789", False),
        ("alz", "P1234", True),
        ("alz", "P123456789", True),
        ("alz", "P123", False),
        # Aetna Americas members are Allianz Partners members with W numbers.
        ("alz", "W123456789", True),
        ("alz", "W1234567890-01", True),
        ("alz", "W1234 12345", True),
        ("alz", "W1234 123456-12", True),
        ("alz", "W12345", False),
        ("aet", "W123456789", True),  # a bill to the retired `aet` entry goes to Allianz Partners
        ("bui", "BI-1234-5678-9012", True),
        ("bui", "BI-1234-5678-901", False),
        ("slh", "4012345", False),
    ],
)
def test_membership_number_formats_of_format_checked_insurers(api, today, insurer, number, valid):
    bill_id = api.submit(claim(today, insurer, membership_number=number)).json()["id"]
    api.advance(61)
    rules_broken = {error["rule"] for error in errors_of(api.bill(bill_id))}
    assert ("registration-number-format" not in rules_broken) == valid, rules_broken


@pytest.mark.parametrize(
    "insurer, auth_code, valid",
    [
        ("alz-w", "C123456", True),
        ("alz-w", "C12345678901", False),
        ("alz-w", "12345", True),
        ("alz-w", "1234", False),
        ("alz-w", "AUTH-123", False),  # an Aetna Americas member's code is Aetna's
        ("alh", "ABC12345", True),
        ("alh", "A-B12345", True),
        ("alh", "AB-12345", False),
        ("alz", "AUTH-123", True),
        ("alz", "AUTH 123", False),
        ("nuh", "123456\\12\\1234\\123", True),
        ("nuh", "123456/12", True),
        ("nuh", "123456/1", False),
        ("ppp", "anything at all!", True),  # AXA does not validate authorisation numbers
    ],
)
def test_authorisation_number_formats(api, today, insurer, auth_code, valid):
    membership = {"alh": "1234567", "alz": "P12345", "alz-w": "W123456789"}
    overrides = {"membership_number": membership[insurer]} if insurer in membership else {}
    insurer = insurer.removesuffix("-w")
    bill_id = api.submit(claim(today, insurer, auth_code=auth_code, **overrides)).json()["id"]
    api.advance(61)
    rules_broken = {error["rule"] for error in errors_of(api.bill(bill_id))}
    assert ("authorisation-format" not in rules_broken) == valid, rules_broken


@pytest.mark.parametrize(
    "insurer, days_ago, valid",
    [
        ("bup", 170, True),
        ("bup", 200, False),
        ("ppp", 170, True),
        ("ppp", 200, False),
        ("nuh", 400, True),  # Aviva has no published time limit
    ],
)
def test_insurer_time_limits(api, today, insurer, days_ago, valid):
    bill_id = api.submit(claim(today, insurer, service_date=today - dt.timedelta(days=days_ago))).json()["id"]
    api.advance(61)
    rules_broken = {error["rule"] for error in errors_of(api.bill(bill_id))}
    assert ("insurer-time-limit" not in rules_broken) == valid, rules_broken


def test_fee_above_maximum_is_no_error_where_agreed_fees_are_not_required(api, today):
    bill_id = api.submit(claim(today, "nuh", lines=[{"ccsd": "W8520", "unit_price": "1200.00"}])).json()["id"]
    api.advance(61)
    assert errors_of(api.bill(bill_id)) == []
