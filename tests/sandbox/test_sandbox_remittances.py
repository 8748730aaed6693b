"""Adjudication after collection, remittance batches, acknowledgement, summary search."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import httpx
import pytest
from fhir.resources.R4B.bundle import Bundle

from sandbox.testing import SandboxApi, assert_operation_outcome, example_claim, start_sandbox

TODAY = dt.date(2026, 6, 15)
NOAH = dict(
    insurer="nuh",
    membership_number="100200300",
    first_name="Noah",
    last_name="Patel",
    birth_date="1992-01-15",
    postcode="BS1 4DJ",
)
MIA = dict(
    insurer="slh",
    membership_number="40123456",
    first_name="Mia",
    last_name="Robinson",
    birth_date="1995-08-19",
    postcode="G1 1XQ",
)


def _decimal_json(answer: httpx.Response):
    return json.loads(answer.content, parse_float=Decimal)


def _resources(bundle, resource_type):
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == resource_type]


@pytest.fixture(scope="module")
def remitted(tmp_path_factory):
    """A sandbox where three bills (pay in full, shortfall, rejected) have been remitted."""
    sandbox = start_sandbox(tmp_path_factory.mktemp("remit"), clock_start="2026-06-15T09:00:00Z")
    api = SandboxApi(sandbox)
    answer = api.http.put(
        "/_sandbox/insurers/slh/adjudication",
        headers=sandbox.admin_headers,
        json={"mode": "reject", "reason": "Treatment not covered by the policy"},
    )
    assert answer.status_code == 200, answer.text
    bills = {
        "bupa": api.submit(
            example_claim(
                invoice_number="R-BUP-1",
                service_date=TODAY,
                lines=[{"isc": "SCON1", "unit_price": "180.00"}, {"ccsd": "20110", "unit_price": "55.50"}],
            )
        ).json()["id"],
        "aviva": api.submit(
            example_claim(
                invoice_number="R-NUH-1",
                service_date=TODAY,
                diagnosis=None,
                **NOAH,
                lines=[{"ccsd": "W8520", "unit_price": "1200.00"}, {"isc": "SCON1", "unit_price": "150.00"}],
            )
        ).json()["id"],
        "vitality": api.submit(
            example_claim(
                invoice_number="R-SLH-1",
                service_date=TODAY,
                diagnosis=None,
                **MIA,
                lines=[{"isc": "SCON2", "unit_price": "120.00"}],
            )
        ).json()["id"],
    }
    api.advance(60 + 60 + 3600)
    pending_before = api.search("list_pending_remittances_endpoint").json()
    api.advance(86400)
    yield api, bills, pending_before
    api.close()
    sandbox.stop()


def test_no_remittance_before_the_insurer_pays(remitted):
    _, _, pending_before = remitted
    assert pending_before["total"] == 0


def test_pending_batches_are_payment_reconciliations_one_per_insurer(remitted):
    api, _, _ = remitted
    bundle = api.search("list_pending_remittances_endpoint").json()
    Bundle.model_validate(bundle)
    batches = _resources(bundle, "PaymentReconciliation")
    assert sorted(b["paymentIssuer"]["identifier"]["value"] for b in batches) == ["bup", "nuh", "slh"]
    assert {tag["code"] for tag in bundle["meta"]["tag"]} == {"count", "page", "maxCount"}


def _details(api, insurer):
    batch = next(
        b
        for b in _resources(api.search("list_pending_remittances_endpoint").json(), "PaymentReconciliation")
        if b["paymentIssuer"]["identifier"]["value"] == insurer
    )
    answer = api.search("get_remittance_details_endpoint", remittanceId=batch["id"])
    assert answer.status_code == 200, answer.text
    Bundle.model_validate(answer.json())
    return batch["id"], _decimal_json(answer)


def test_pay_in_full(remitted):
    api, bills, _ = remitted
    _, bundle = _details(api, "bup")
    [payment] = _resources(bundle, "PaymentReconciliation")
    assert payment["paymentAmount"] == {"value": Decimal("235.50"), "currency": "GBP"}
    [claim_response] = _resources(bundle, "ClaimResponse")
    assert claim_response["id"] == bills["bupa"] and claim_response["outcome"] == "complete"
    assert claim_response["payment"]["type"]["coding"][0]["code"] == "complete"


def test_pay_to_insurer_maximum_leaves_a_shortfall_with_a_reason(remitted):
    api, bills, _ = remitted
    _, bundle = _details(api, "nuh")
    [payment] = _resources(bundle, "PaymentReconciliation")
    assert payment["paymentAmount"]["value"] == Decimal("1100.00")  # 950.00 maximum + 150.00 in full
    detail = payment["detail"][0]
    assert detail["request"]["identifier"]["value"] == "R-NUH-1"
    [claim_response] = _resources(bundle, "ClaimResponse")
    assert claim_response["outcome"] == "partial"
    first_line = claim_response["item"][0]["adjudication"]
    shortfall = next(a for a in first_line if a["category"]["coding"][0]["code"] == "shortfall")
    assert shortfall["amount"] == {"value": Decimal("250.00"), "currency": "GBP"}
    assert "Benefit maximum" in shortfall["reason"]["text"]
    assert all(a["category"]["coding"][0]["code"] != "shortfall" for a in claim_response["item"][1]["adjudication"])


def test_reject_with_a_reason(remitted):
    api, _, _ = remitted
    _, bundle = _details(api, "slh")
    [payment] = _resources(bundle, "PaymentReconciliation")
    assert payment["paymentAmount"]["value"] == Decimal("0.00")
    [claim_response] = _resources(bundle, "ClaimResponse")
    shortfall = next(
        a for a in claim_response["item"][0]["adjudication"] if a["category"]["coding"][0]["code"] == "shortfall"
    )
    assert shortfall["reason"]["coding"][0]["code"] == "rejected"
    assert shortfall["reason"]["text"] == "Treatment not covered by the policy"


def test_bill_status_shows_the_remittance(remitted):
    api, bills, _ = remitted
    bill = _decimal_json(
        api.http.get(f"{api.endpoints['submit_claim_endpoint']}/{bills['aviva']}", headers=api.headers())
    )
    assert any(e["url"].endswith("/remittance-id") for e in bill["extension"])
    assert bill["payment"]["amount"] == {"value": Decimal("1100.00"), "currency": "GBP"}


@pytest.mark.parametrize(
    "filters, expected",
    [
        ({}, {"R-BUP-1", "R-NUH-1", "R-SLH-1"}),
        ({"insurer": "nuh"}, {"R-NUH-1"}),
        ({"provider": "0651978"}, {"R-BUP-1", "R-NUH-1", "R-SLH-1"}),
        ({"provider": "0712345"}, set()),
        ({"invoiceNumber": "R-BUP-1"}, {"R-BUP-1"}),
        ({"patientName": "robinson"}, {"R-SLH-1"}),
        ({"membershipNumber": "100200300"}, {"R-NUH-1"}),
        ({"dateCreated": "2026-06-16"}, {"R-BUP-1", "R-NUH-1", "R-SLH-1"}),
        ({"dateCreated": "lt2026-06-16"}, set()),
        ({"datePaid": "ge2026-06-16"}, {"R-BUP-1", "R-NUH-1", "R-SLH-1"}),
        ({"paymentAmount": "1100.00"}, {"R-NUH-1"}),
        ({"paymentAmount": "gt200"}, {"R-BUP-1", "R-NUH-1"}),
        ({"amountInvoiced": "le235.50"}, {"R-BUP-1", "R-SLH-1"}),
        ({"hasShortFall": "true"}, {"R-NUH-1", "R-SLH-1"}),
        ({"hasShortFall": "false"}, {"R-BUP-1"}),
    ],
)
def test_remittance_summary_search_filters(remitted, filters, expected):
    api, _, _ = remitted
    bundle = api.search("search_remittance_summary_endpoint", **filters).json()
    Bundle.model_validate(bundle)
    found = {r["detail"][0]["request"]["identifier"]["value"] for r in _resources(bundle, "PaymentReconciliation")}
    assert found == expected


def test_remittance_summary_search_by_payment_reference(remitted):
    api, _, _ = remitted
    everything = _resources(api.search("search_remittance_summary_endpoint").json(), "PaymentReconciliation")
    reference = next(r for r in everything if r["detail"][0]["request"]["identifier"]["value"] == "R-NUH-1")[
        "paymentIdentifier"
    ]["value"]
    bundle = api.search("search_remittance_summary_endpoint", paymentReference=reference).json()
    assert [r["detail"][0]["request"]["identifier"]["value"] for r in _resources(bundle, "PaymentReconciliation")] == [
        "R-NUH-1"
    ]


def test_acknowledged_batches_leave_the_pending_list(remitted):
    api, _, _ = remitted
    remittance_id, _ = _details(api, "bup")
    answer = api.search("acknowledge_remittance_endpoint", remittanceId=remittance_id)
    assert answer.status_code == 200 and answer.json()["resourceType"] == "OperationOutcome"
    pending = _resources(api.search("list_pending_remittances_endpoint").json(), "PaymentReconciliation")
    assert remittance_id not in {b["id"] for b in pending}
    assert api.search("acknowledge_remittance_endpoint", remittanceId=remittance_id).status_code == 200
    # Still fetchable after acknowledgement.
    assert api.search("get_remittance_details_endpoint", remittanceId=remittance_id).status_code == 200
    assert_operation_outcome(api.search("acknowledge_remittance_endpoint", remittanceId="REM404"), 404, "REM404")
    assert_operation_outcome(api.search("get_remittance_details_endpoint"), 400, "remittanceId")


def test_adjudication_mode_must_be_known(remitted):
    api, _, _ = remitted
    answer = api.http.put(
        "/_sandbox/insurers/bup/adjudication", headers=api.sandbox.admin_headers, json={"mode": "pay-double"}
    )
    assert_operation_outcome(answer, 400, "mode")
