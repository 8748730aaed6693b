"""Reference APIs (insurers, code sets) and Find Member."""

from __future__ import annotations

import pytest
from fhir.resources.R4B.bundle import Bundle

from sandbox.testing import assert_operation_outcome


def _tags(bundle):
    return {tag["code"]: int(tag["display"]) for tag in bundle["meta"]["tag"]}


def _resources(bundle, resource_type):
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == resource_type]


def _outcome(bundle):
    return next((e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "OperationOutcome"), None)


def test_insurers_are_organizations_in_a_paged_bundle(api):
    first = api.search("list_insurers_endpoint", page=1, count=5).json()
    Bundle.model_validate(first)
    assert first["type"] == "searchset"
    tags = _tags(first)
    assert tags["page"] == 1 and tags["count"] == 5 and tags["maxCount"] >= 13
    everything = api.search("list_insurers_endpoint", count=100).json()
    identifiers = {o["identifier"][0]["value"] for o in _resources(everything, "Organization")}
    assert {"bup", "bui", "ppp", "nuh", "slh", "cin", "tih", "wpa", "pzo"} <= identifiers
    last = api.search("list_insurers_endpoint", page=3, count=5).json()
    assert _tags(last)["count"] == tags["maxCount"] - 10


def test_insurer_says_which_find_member_fields_it_needs(api):
    bupa = _resources(api.search("list_insurers_endpoint", identifier="bup").json(), "Organization")[0]
    required = {e["valueString"] for e in bupa["extension"] if e["url"].endswith("/find-member-required-field")}
    assert required == {"membershipNumber", "lastName", "dateOfBirth", "postCode"}
    wpa = _resources(api.search("list_insurers_endpoint", name="wpa").json(), "Organization")[0]
    assert {e["valueString"] for e in wpa["extension"] if e["url"].endswith("/find-member-required-field")} == {
        "membershipNumber"
    }


@pytest.mark.parametrize(
    "code_set, code",
    [
        ("procedure-code", "W8500"),
        ("service-type", "SCON1"),
        ("condition-code", "M17.1"),
    ],
)
def test_code_sets_are_served_from_marked_samples(api, code_set, code):
    bundle = api.search("search_code_set_endpoint", codeSet=code_set, code=code).json()
    Bundle.model_validate(bundle)
    [entry] = _resources(bundle, "Basic")
    assert entry["code"]["coding"][0]["code"] == code
    assert any(e["url"].endswith("/sample") and e["valueBoolean"] for e in entry["extension"])


def test_isc_sample_codes_say_sample_and_text_search_works(api):
    bundle = api.search("search_code_set_endpoint", codeSet="service-type", search="consultation").json()
    displays = [r["code"]["text"] for r in _resources(bundle, "Basic")]
    assert displays and all(display.startswith("SAMPLE") for display in displays)


def test_procedure_codes_filtered_by_insurer_and_date(api):
    for_bupa = api.search(
        "search_code_set_endpoint", codeSet="procedure-code", insurerIdentifier="bup", count=100
    ).json()
    codes = {r["code"]["coding"][0]["code"] for r in _resources(for_bupa, "Basic")}
    assert "W8500" in codes and "E2880" not in codes
    active = api.search("search_code_set_endpoint", codeSet="procedure-code", activeOn="2026-01-01", count=100).json()
    assert "AC100" not in {r["code"]["coding"][0]["code"] for r in _resources(active, "Basic")}


def test_code_set_is_required(api):
    assert_operation_outcome(api.search("search_code_set_endpoint", codeSet="nope"), 400, "codeSet")


BENNETT = dict(
    insurerIdentifier="bup",
    membershipNumber="10000001",
    firstName="Oliver",
    lastName="Bennett",
    dateOfBirth="1980-04-12",
    postCode="SW1A 1AA",
)


def test_find_member_matches_a_database_member(api):
    bundle = api.search("find_member_endpoint", **BENNETT).json()
    Bundle.model_validate(bundle)
    [coverage] = _resources(bundle, "Coverage")
    assert coverage["status"] == "active" and coverage["subscriberId"] == "10000001"
    assert coverage["beneficiary"]["display"] == "Oliver Bennett"
    assert coverage["payor"][0]["identifier"]["value"] == "bup"
    assert _outcome(bundle) is None


@pytest.mark.parametrize(
    "field, wrong",
    [
        ("lastName", "Benet"),
        ("dateOfBirth", "1980-04-13"),
        ("postCode", "SW1A 2AA"),
        ("firstName", "Olivia"),
        ("sex", "female"),
    ],
)
def test_find_member_says_which_field_differs(api, field, wrong):
    bundle = api.search("find_member_endpoint", **{**BENNETT, field: wrong}).json()
    issues = _outcome(bundle)["issue"]
    assert [issue["expression"] for issue in issues] == [[field]]
    assert (
        "beneficiary" not in _resources(bundle, "Coverage")[0]
        or _resources(bundle, "Coverage")[0]["beneficiary"]["display"] == "member"
    )


def test_find_member_reports_lapsed_cover(api):
    bundle = api.search(
        "find_member_endpoint",
        insurerIdentifier="slh",
        membershipNumber="40123499",
        lastName="Hall",
        dateOfBirth="1979-04-04",
        postCode="NG1 5FS",
    ).json()
    [coverage] = _resources(bundle, "Coverage")
    assert coverage["status"] == "cancelled" and coverage["period"]["end"] == "2024-12-31"
    assert "lapsed" in _outcome(bundle)["issue"][0]["diagnostics"]
    # ... but it was active on an earlier date.
    earlier = api.search(
        "find_member_endpoint",
        insurerIdentifier="slh",
        membershipNumber="40123499",
        lastName="Hall",
        dateOfBirth="1979-04-04",
        postCode="NG1 5FS",
        policyActiveOn="2024-06-01",
    ).json()
    assert _resources(earlier, "Coverage")[0]["status"] == "active"


def test_find_member_unknown_number_and_bad_format(api):
    unknown = api.search("find_member_endpoint", **{**BENNETT, "membershipNumber": "10000099"}).json()
    assert _resources(unknown, "Coverage") == [] and _outcome(unknown)["issue"][0]["code"] == "not-found"
    bad = api.search("find_member_endpoint", **{**BENNETT, "membershipNumber": "ABC"}).json()
    assert _resources(bad, "Coverage") == [] and _outcome(bad)["issue"][0]["code"] == "invalid"
    vitality = api.search(
        "find_member_endpoint",
        insurerIdentifier="slh",
        membershipNumber="1234567890",
        lastName="Robinson",
        dateOfBirth="1995-08-19",
        postCode="G1 1XQ",
    ).json()
    assert "member number" in _outcome(vitality)["issue"][0]["diagnostics"]


@pytest.mark.parametrize(
    "number",
    [
        "AXA-AB123456",
        "AB1234567C",
        "1234567A",
        "AXA/A1234567",
        "HOL/A1234567",
        "AB123456",
        "ABC12345",
        "12345678AB12",
        "AB12345678",
        "1234567",
        "123456",
        "AXI12345678",
        "OGI12345678",
        "INTL7123456",
        "INTL71234567",
    ],
)
def test_every_axa_family_format_is_recognised(api, number):
    bundle = api.search(
        "find_member_endpoint",
        insurerIdentifier="ppp",
        membershipNumber=number,
        lastName="Anyone",
        dateOfBirth="1970-01-01",
        postCode="AB1 2CD",
    ).json()
    # A well-formed number reaches the database lookup: found (HOL/A1234567) or not-found, never "invalid".
    outcome = _outcome(bundle)
    assert outcome is None or outcome["issue"][0]["code"] != "invalid"


@pytest.mark.parametrize("number", ["AXA-A1234567", "AB12345", "INTL712345", "XYZ12345678", "AB.1234567C"])
def test_malformed_axa_numbers_are_refused_by_format(api, number):
    bundle = api.search(
        "find_member_endpoint",
        insurerIdentifier="ppp",
        membershipNumber=number,
        lastName="Anyone",
        dateOfBirth="1970-01-01",
        postCode="AB1 2CD",
    ).json()
    assert _outcome(bundle)["issue"][0]["code"] == "invalid"


def test_format_only_insurer_answers_by_format(api):
    good = api.search("find_member_endpoint", insurerIdentifier="bui", membershipNumber="BI-1234-5678-9012").json()
    [coverage] = _resources(good, "Coverage")
    assert any(e["url"].endswith("/checked-by") and e["valueCode"] == "format" for e in coverage["extension"])
    bad = api.search("find_member_endpoint", insurerIdentifier="bui", membershipNumber="BI-1234").json()
    assert _resources(bad, "Coverage") == []


def test_find_member_names_missing_fields_and_unknown_insurer(api):
    answer = api.search("find_member_endpoint", insurerIdentifier="bup", membershipNumber="10000001")
    assert_operation_outcome(answer, 400, "dateOfBirth")
    assert "postCode" in answer.text and "lastName" in answer.text
    assert_operation_outcome(api.search("find_member_endpoint", insurerIdentifier="xxx"), 400, "insurerIdentifier")
    assert_operation_outcome(
        api.search("find_member_endpoint", **{**BENNETT, "dateOfBirth": "12/04/1980"}), 400, "dateOfBirth"
    )
