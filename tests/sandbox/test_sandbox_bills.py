"""Submit bill, idempotency, lifecycle on the sandbox clock, correction, cancel, status."""

from __future__ import annotations

import concurrent.futures
import datetime as dt

from fhir.resources.R4B.claimresponse import ClaimResponse

from sandbox.fhir import dumps
from sandbox.testing import assert_operation_outcome, bill_status, errors_of, example_claim, unique_invoice


def _extension(resource, name):
    return next((e for e in resource["extension"] if e["url"].endswith("/" + name)), None)


def test_submit_answers_201_with_a_bill_id_and_a_valid_claim_response(api, today):
    invoice = unique_invoice()
    answer = api.submit(example_claim(invoice_number=invoice, service_date=today))
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["resourceType"] == "ClaimResponse" and body["id"].startswith("HCB")
    assert body["outcome"] == "queued" and bill_status(body) == "Unprocessed"
    assert answer.headers["location"].endswith(f"/api/v1/bills/{body['id']}")
    ClaimResponse.model_validate(body)  # a real FHIR R4 ClaimResponse
    fetched = api.http.get(answer.headers["location"], headers=api.headers())
    assert fetched.status_code == 200 and fetched.json()["id"] == body["id"]


def test_same_idempotency_key_returns_the_same_bill(api, today):
    claim = example_claim(invoice_number=unique_invoice(), service_date=today)
    first = api.submit(claim, idempotency_key="key-abc-1")
    again = api.submit(claim, idempotency_key="key-abc-1")
    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["idempotent-replayed"] == "true"


def test_same_invoice_version_identifier_returns_the_same_bill(api, today):
    claim = example_claim(invoice_number=unique_invoice(), invoice_version="inv-77-v1", service_date=today)
    first = api.submit(claim)
    claim["created"] = (today - dt.timedelta(days=0)).isoformat() + "T10:00:00Z"  # rebuilt on retry
    again = api.submit(claim)
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]


def test_identical_body_without_key_is_the_same_submission(api, today):
    claim = example_claim(invoice_number=unique_invoice(), service_date=today)
    assert api.submit(claim).json()["id"] == api.submit(claim).json()["id"]


def test_idempotency_key_reused_for_another_invoice_is_409(api, today):
    api.submit(example_claim(invoice_number=unique_invoice(), service_date=today), idempotency_key="key-reuse")
    answer = api.submit(example_claim(invoice_number=unique_invoice(), service_date=today), idempotency_key="key-reuse")
    assert_operation_outcome(answer, 409, "Idempotency key")


def test_concurrent_retries_of_one_invoice_version_make_one_bill(api, today):
    claim = example_claim(invoice_number=unique_invoice(), invoice_version="concurrent-v1", service_date=today)
    body = dumps(claim)

    def send(_):
        return api.http.post(
            api.endpoints["submit_claim_endpoint"],
            content=body,
            headers=api.headers(**{"Content-Type": "application/fhir+json"}),
        )

    with concurrent.futures.ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(send, range(12)))
    assert {answer.json()["id"] for answer in answers} == {answers[0].json()["id"]}
    assert sorted(answer.status_code for answer in answers).count(201) == 1
    by_invoice = api.search("claim_status_endpoint", invoiceNumber=claim["identifier"][0]["value"]).json()
    assert by_invoice["total"] == 1


def test_valid_bill_moves_validated_then_awaiting_collection_then_collected(api, today):
    bill_id = api.submit(example_claim(invoice_number=unique_invoice(), service_date=today)).json()["id"]
    assert bill_status(api.bill(bill_id)) == "Unprocessed"
    api.advance(60)
    bill = api.bill(bill_id)
    assert bill_status(bill) == "Validated" and bill["outcome"] == "complete" and "error" not in bill
    api.advance(60)
    assert bill_status(api.bill(bill_id)) == "AwaitingCollection"
    api.advance(3600)
    bill = api.bill(bill_id)
    assert bill_status(bill) == "Collected"
    assert _extension(bill, "collected-at")["valueDateTime"].endswith("Z")  # receipt time


def test_failed_bill_carries_bill_and_line_errors_as_field_error_suggestion(api, today):
    claim = example_claim(
        invoice_number=unique_invoice(),
        service_date=today,
        setting="X",
        lines=[{"isc": "SCON1", "unit_price": "100.00"}, {"ccsd": "99999", "unit_price": "50.00"}],
    )
    bill_id = api.submit(claim).json()["id"]
    assert "error" not in api.bill(bill_id)  # not reported before validation
    api.advance(61)
    bill = api.bill(bill_id)
    assert bill_status(bill) == "AwaitingCorrection" and bill["outcome"] == "error"
    errors = errors_of(bill)
    setting = next(e for e in errors if e["rule"] == "setting-invalid")
    assert setting["level"] == "bill" and setting["field"] == "Setting" and setting["line"] is None
    assert "I (in-patient)" in setting["suggestion"]
    code = next(e for e in errors if e["rule"] == "procedure-code-unknown")
    assert code["level"] == "line" and code["field"] == "ProcCode" and code["line"] == 2
    ClaimResponse.model_validate(bill)


def test_failed_bill_is_corrected_by_a_submission_that_replaces_it(api, today):
    invoice = unique_invoice()
    failed_id = api.submit(example_claim(invoice_number=invoice, service_date=today, last_name="Benet")).json()["id"]
    api.advance(61)
    assert bill_status(api.bill(failed_id)) == "AwaitingCorrection"
    answer = api.submit(example_claim(invoice_number=invoice, service_date=today, replaces=failed_id))
    assert answer.status_code == 201
    corrected_id = answer.json()["id"]
    assert _extension(answer.json(), "replaces")["valueString"] == failed_id
    assert _extension(api.bill(failed_id), "replaced-by")["valueString"] == corrected_id
    api.advance(61)
    assert bill_status(api.bill(corrected_id)) == "Validated"  # the same invoice number is no duplicate
    again = api.submit(
        example_claim(
            invoice_number=invoice, service_date=today, replaces=failed_id, invoice_version="another-correction"
        )
    )
    assert_operation_outcome(again, 409, "already been replaced")


def test_only_a_failed_bill_can_be_replaced(api, today):
    valid_id = api.submit(example_claim(invoice_number=unique_invoice(), service_date=today)).json()["id"]
    api.advance(61)
    answer = api.submit(example_claim(invoice_number=unique_invoice(), service_date=today, replaces=valid_id))
    assert_operation_outcome(answer, 409, "only a bill awaiting correction")
    unknown = api.submit(example_claim(invoice_number=unique_invoice(), service_date=today, replaces="HCB99999999"))
    assert_operation_outcome(unknown, 422, "HCB99999999")


def test_cancel_until_collection(api, today):
    early = api.submit(example_claim(invoice_number=unique_invoice(), service_date=today)).json()["id"]
    late = api.submit(example_claim(invoice_number=unique_invoice(), service_date=today)).json()["id"]
    cancelled = api.search("cancel_claim_endpoint", billId=early)
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled" and bill_status(cancelled.json()) == "Cancelled"
    assert api.search("cancel_claim_endpoint", billId=early).status_code == 200  # repeat is harmless
    api.advance(60 + 60 + 3600)
    assert bill_status(api.bill(early)) == "Cancelled"
    assert bill_status(api.bill(late)) == "Collected"
    assert_operation_outcome(api.search("cancel_claim_endpoint", billId=late), 409, "collected")
    assert_operation_outcome(api.search("cancel_claim_endpoint", billId="HCB99999999"), 404, "HCB99999999")


def test_cancelled_invoice_number_can_be_used_again(api, today):
    invoice = unique_invoice()
    first = api.submit(example_claim(invoice_number=invoice, service_date=today)).json()["id"]
    api.search("cancel_claim_endpoint", billId=first)
    second = api.submit(example_claim(invoice_number=invoice, invoice_version="v2", service_date=today)).json()["id"]
    api.advance(61)
    assert bill_status(api.bill(second)) == "Validated"


def test_status_by_bill_id_and_by_invoice_number(api, today):
    invoice = unique_invoice()
    bill_id = api.submit(example_claim(invoice_number=invoice, service_date=today)).json()["id"]
    by_id = api.search("claim_status_endpoint", billId=bill_id).json()
    assert by_id["resourceType"] == "Bundle" and by_id["entry"][0]["resource"]["id"] == bill_id
    by_invoice = api.search("claim_status_endpoint", invoiceNumber=invoice, insurerIdentifier="bup").json()
    assert [e["resource"]["id"] for e in by_invoice["entry"]] == [bill_id]
    assert api.search("claim_status_endpoint", invoiceNumber=invoice, insurerIdentifier="nuh").json()["total"] == 0
    assert api.search("claim_status_endpoint", billId="HCB99999999").json()["total"] == 0
    assert_operation_outcome(api.search("claim_status_endpoint"), 400, "billId")
