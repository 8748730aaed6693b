"""Healthcode's own words and addresses in the sandbox: the documented discovery path (and the
first path, kept as an alias), the HC-API-Version header, and the bill statuses Healthcode
publishes, each one the sandbox can produce."""

from __future__ import annotations

import httpx
import pytest

from sandbox import bills
from sandbox.testing import SandboxApi, assert_operation_outcome, bill_status, example_claim, unique_invoice


def test_discovery_is_at_healthcodes_documented_path_and_the_old_path_answers_the_same(shared_sandbox):
    documented = httpx.get(f"{shared_sandbox.url}/.well-known/discovery-document.json")
    assert documented.status_code == 200 and documented.headers["content-type"].startswith("application/json")
    old = httpx.get(f"{shared_sandbox.url}/.well-known/healthcode-discovery")
    assert old.status_code == 200 and old.json() == documented.json()
    index = httpx.get(f"{shared_sandbox.url}/").json()
    assert index["discovery"] == f"{shared_sandbox.url}/.well-known/discovery-document.json"


def test_hc_api_version_missing_means_1_and_1_is_answered(api):
    without = api.http.post(
        api.endpoints["list_insurers_endpoint"],
        data={"page": "1"},
        headers={k: v for k, v in api.headers().items() if k != "HC-API-Version"},
    )
    assert without.status_code == 200
    assert api.search("list_insurers_endpoint").status_code == 200  # sends HC-API-Version: 1


@pytest.mark.parametrize("version", ["2", "0", "v1", "1.1"])
def test_an_unknown_hc_api_version_is_a_clear_operation_outcome(api, version):
    answer = api.http.post(
        api.endpoints["list_insurers_endpoint"], data={"page": "1"}, headers=api.headers(**{"HC-API-Version": version})
    )
    assert_operation_outcome(answer, 400, f"HC-API-Version '{version}' is not a version of this API")
    issue = answer.json()["issue"][0]
    assert issue["code"] == "not-supported" and issue["expression"] == ["HC-API-Version"]
    assert "version 1" in issue["diagnostics"]


def test_a_bill_goes_unprocessed_in_process_then_validated_in_healthcodes_words(api, today):
    bill_id = api.submit(example_claim(invoice_number=unique_invoice(), service_date=today)).json()["id"]
    assert bill_status(api.bill(bill_id)) == "Unprocessed"
    api.advance(30)
    in_process = api.bill(bill_id)
    assert bill_status(in_process) == "In-process" and in_process["outcome"] == "queued"
    assert "error" not in in_process  # errors only once the checks are done
    api.advance(30)
    assert bill_status(api.bill(bill_id)) == "Validated"
    api.advance(60)
    assert bill_status(api.bill(bill_id)) == "AwaitingCollection"


def test_a_bill_that_breaks_a_rule_is_awaiting_correction(api, today):
    claim = example_claim(invoice_number=unique_invoice(), service_date=today, membership_number="123")
    bill_id = api.submit(claim).json()["id"]
    api.advance(61)
    bill = api.bill(bill_id)
    assert bill_status(bill) == "AwaitingCorrection" and bill["outcome"] == "error" and bill["error"]


def test_a_bill_for_nothing_is_not_required_and_stays_so(api, today):
    lines = [{"isc": "SCON1", "ccsd": "20300", "unit_price": "0.00", "quantity": 1}]
    answer = api.submit(example_claim(invoice_number=unique_invoice(), service_date=today, lines=lines))
    assert answer.status_code == 201, answer.text
    bill_id = answer.json()["id"]
    api.advance(61)
    assert bill_status(api.bill(bill_id)) == "NotRequired"
    api.advance(60 + 3600)
    assert bill_status(api.bill(bill_id)) == "NotRequired"


def test_a_status_search_for_an_unknown_bill_finds_nothing(api):
    # The client reads an empty answer for a bill id as Healthcode's NotFound.
    answer = api.search("claim_status_endpoint", billId="HCB99999999")
    assert answer.status_code == 200 and answer.json()["total"] == 0


@pytest.mark.parametrize("word", ["Unspecified", "NotFound", "SomethingHealthcodeAddsLater"])
def test_reported_status_mode_reports_any_word(fresh_sandbox, word):
    api = SandboxApi(fresh_sandbox)
    try:
        bill_id = api.submit(example_claim(invoice_number=unique_invoice(), service_date=api.today())).json()["id"]
        put = api.http.put("/_sandbox/faults", json={"reported_status": word}, headers=fresh_sandbox.admin_headers)
        assert put.status_code == 200 and put.json()["reported_status"] == word
        bill = api.bill(bill_id)
        assert bill_status(bill) == word and bill["disposition"] == word
        api.http.put("/_sandbox/faults", json={}, headers=fresh_sandbox.admin_headers)
        assert bill_status(api.bill(bill_id)) == "Unprocessed"
    finally:
        api.close()


def test_the_sandbox_publishes_every_status_healthcode_does():
    assert set(bills.PUBLISHED_STATUSES) == {
        "Unprocessed",
        "In-process",
        "NotRequired",
        "AwaitingCorrection",
        "Validated",
        "Cancelled",
        "AwaitingCollection",
        "Collected",
        "NotFound",
        "Unspecified",
    }
