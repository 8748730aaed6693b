"""The client's retries and support record, the Claim mapping read back by the clearing house's own
parser, Find Member answers, failed -> corrected -> resubmitted as a linked version, cancel."""

import datetime as dt
import json

import httpx
import pytest

from openpractice.billing.models import HealthcodeStatus
from openpractice.healthcode import claims
from openpractice.healthcode import submission as hc
from openpractice.healthcode.checking import facts_for_invoice
from openpractice.healthcode.client import HealthcodeClient
from openpractice.healthcode.errors import SubmissionError
from openpractice.healthcode.models import ApiExchange, SubmissionState


def _mock_client(handler, recorder=None, retries=3):
    return HealthcodeClient(
        discovery_url="http://hc.test/.well-known/discovery-document.json",
        site_id="HC1",
        api_key_id="id",
        api_key="very-secret-key",
        transport=httpx.MockTransport(handler),
        recorder=recorder,
        retries=retries,
        backoff=0,
    )


def _discovery_and_token(request):
    if request.url.path.endswith("discovery-document.json"):
        return httpx.Response(
            200, json={"token_endpoint": "http://hc.test/token", "submit_claim_endpoint": "http://hc.test/bills"}
        )
    if request.url.path == "/token":
        return httpx.Response(200, json={"access_token": "tok-123", "expires_in": 3600})
    return None


def test_retries_5xx_and_network_errors_but_not_4xx():
    from openpractice.healthcode.client import clear_caches

    clear_caches()
    calls = []

    def handler(request):
        answer = _discovery_and_token(request)
        if answer:
            return answer
        calls.append(request.headers["Idempotency-Key"])
        if len(calls) == 1:
            return httpx.Response(503)
        if len(calls) == 2:
            raise httpx.ReadTimeout("slow", request=request)
        if len(calls) == 3:
            raise httpx.RemoteProtocolError("dropped", request=request)
        return httpx.Response(201, json={"ok": True})

    records = []
    with _mock_client(handler, recorder=records.append) as client:
        assert client.submit_claim("{}", idempotency_key="k-1").status_code == 201
    assert calls == ["k-1"] * 4  # the same key on every attempt
    text = json.dumps(records)
    assert "very-secret-key" not in text and "tok-123" not in text and "Bearer [redacted]" in text
    assert [r["status_code"] for r in records if r["endpoint"] == "submit_claim_endpoint"] == [503, None, None, 201]

    clear_caches()
    refused = []

    def refusing(request):
        answer = _discovery_and_token(request)
        if answer:
            return answer
        refused.append(1)
        return httpx.Response(422, json={"resourceType": "OperationOutcome", "issue": []})

    with _mock_client(refusing) as client:
        assert client.submit_claim("{}", idempotency_key="k-2").status_code == 422
    assert refused == [1]


def test_token_refreshed_once_on_401():
    from openpractice.healthcode.client import clear_caches

    clear_caches()
    tokens, seen = iter(["old", "new"]), []

    def handler(request):
        if request.url.path.endswith("discovery-document.json"):
            return httpx.Response(
                200, json={"token_endpoint": "http://hc.test/token", "submit_claim_endpoint": "http://hc.test/bills"}
            )
        if request.url.path == "/token":
            return httpx.Response(200, json={"access_token": next(tokens), "expires_in": 3600})
        seen.append(request.headers["Authorization"])
        return httpx.Response(401) if len(seen) == 1 else httpx.Response(201)

    with _mock_client(handler) as client:
        assert client.submit_claim("{}", idempotency_key="k").status_code == 201
    assert seen == ["Bearer old", "Bearer new"]


def test_the_claim_reads_back_as_the_same_bill(make_invoice):
    from sandbox.claim_mapping import bill_from_claim, check_fhir_structure

    invoice = make_invoice(authorisation_code="AUTH123")
    from openpractice.billing import services

    invoice = services.issue_invoice(invoice=invoice)
    facts = facts_for_invoice(invoice)
    from decimal import Decimal

    claim = json.loads(claims.dumps(claims.build_claim(facts, version_key="op-1-inv-1-v1")), parse_float=Decimal)
    check_fhir_structure(claim)
    bill = bill_from_claim(claim)
    assert (
        bill.invoice_number,
        bill.insurer_identifier,
        bill.membership_number,
        bill.provider_number,
        bill.setting,
        bill.diagnosis,
        bill.auth_code,
    ) == (invoice.number, "bup", "10000001", "0651978", "O", "M17.1", "AUTH123")
    assert bill.first_date_of_service == invoice.first_date_of_service
    line = bill.lines[0]
    assert (line.service_code, line.procedure_code, str(line.unit_price), str(line.net_amount)) == (
        "SCON1",
        "20300",
        "180.00",
        "180.00",
    )
    assert '"value":180.00' in claims.dumps(claims.build_claim(facts, version_key="k"))


def test_find_member_answers(demo, make_invoice):
    from openpractice.healthcode.membership import describe
    from openpractice.healthcode.services import check_membership
    from openpractice.patients.models import Patient, PatientRelationship

    bennett = PatientRelationship.objects.get(practice=demo, registration_number="10000001")
    assert check_membership(relationship=bennett).outcome == "match"
    Patient.objects.filter(pk=bennett.patient_id).update(postcode="ZZ1 1ZZ")
    bennett.refresh_from_db()
    differs = check_membership(relationship=bennett)
    assert differs.outcome == "mismatch" and differs.differing_fields == ["postCode"]
    assert "postcode" in describe(differs)
    PatientRelationship.objects.filter(pk=bennett.pk).update(registration_number="10000077")
    bennett.refresh_from_db()
    assert check_membership(relationship=bennett).outcome == "not_found"
    lapsed = check_membership(
        relationship=PatientRelationship.objects.get(registration_number="100200300"), active_on=dt.date(2021, 6, 1)
    )  # before Noah Patel's cover began
    assert lapsed.outcome == "lapsed" and "not active" in describe(lapsed)


def test_failed_bill_is_corrected_and_resubmitted_as_a_linked_version(demo, make_invoice, healthcode_sandbox):
    from sandbox.testing import SandboxApi

    invoice = make_invoice()
    # Wrong in a way only the clearing house knows (the check warns: membership not checked).
    from openpractice.patients.models import PatientRelationship

    PatientRelationship.objects.filter(pk=invoice.insurance_id).update(registration_number="10000077")
    first = hc.submit_invoice(invoice=invoice, enqueue=False)
    assert hc.deliver(first.pk) == SubmissionState.ACCEPTED
    SandboxApi(healthcode_sandbox).advance(61)
    first = hc.refresh_status(submission=first)
    invoice.refresh_from_db()
    assert invoice.healthcode_status == HealthcodeStatus.FAILED
    assert [e["field"] for e in first.errors] == ["RegistrationNo"]
    assert "clearing" not in first.events.last().message and "AwaitingCorrection" in first.events.last().message

    PatientRelationship.objects.filter(pk=invoice.insurance_id).update(registration_number="10000001")
    second = hc.submit_invoice(invoice=invoice, enqueue=False)
    assert (second.version, second.replaces_id) == (2, first.pk)
    assert first.bill_id in second.claim_json and "-v2-" in second.idempotency_key
    hc.deliver(second.pk)
    SandboxApi(healthcode_sandbox).advance(61)
    second = hc.refresh_status(submission=second)
    assert second.healthcode_status == HealthcodeStatus.VALIDATED
    with pytest.raises(SubmissionError, match="already with Healthcode"):
        hc.submit_invoice(invoice=invoice, enqueue=False)

    hc.cancel_bill(invoice=invoice)
    invoice.refresh_from_db()
    assert invoice.healthcode_status == HealthcodeStatus.CANCELLED
    assert ApiExchange.objects.filter(practice=demo, endpoint="cancel_claim_endpoint").exists()


def test_cannot_cancel_after_collection(demo, make_invoice, healthcode_sandbox):
    from sandbox.testing import SandboxApi

    invoice = make_invoice(last_name="Patel")
    submission = hc.submit_invoice(invoice=invoice, enqueue=False)
    hc.deliver(submission.pk)
    SandboxApi(healthcode_sandbox).advance(3700 + 130)
    hc.refresh_invoice(invoice=invoice)
    with pytest.raises(SubmissionError, match="cannot be cancelled"):
        hc.cancel_bill(invoice=invoice)


def test_code_set_sync_brings_the_clearing_houses_dates(demo):
    from openpractice.coding.selectors import get_code
    from openpractice.healthcode.services import sync_code_sets_from_clearing_house

    assert get_code(practice=demo, system="ccsd", code="AC100").source == "sample"  # the public sample
    outcome = sync_code_sets_from_clearing_house(practice=demo)
    assert outcome["ccsd"]["rows"] >= 11 and outcome["isc"]["rows"] >= 8
    synced = get_code(practice=demo, system="ccsd", code="AC100")
    assert synced.source == "clearing_house" and synced.active_to == dt.date(2019, 12, 31)
    again = sync_code_sets_from_clearing_house(practice=demo)
    assert again["ccsd"]["added"] == 0 and again["ccsd"]["changed"] == 0  # idempotent


def test_bulk_page_and_progress(demo, make_invoice):
    from django.test import Client

    from openpractice.accounts.models import User

    ready = [make_invoice() for _ in range(3)]
    not_ready = make_invoice(service_date=dt.date.today() + dt.timedelta(days=5))
    client = Client()
    client.force_login(User.objects.get(email="billing@demo.openpractice.test"))
    response = client.post("/invoices/bulk/", {"invoice": [i.pk for i in ready] + [not_ready.pk], "confirmed": "yes"})
    assert response.status_code == 302
    page = client.get(response["Location"])
    assert page.status_code == 200 and b"Not sent (1)" in page.content and b"FDOS" in page.content
    progress = client.get(response["Location"] + "progress/")
    assert b'hx-trigger="every 1s"' in progress.content and b"0</strong> of 3" in progress.content
    from openpractice.healthcode.models import Submission

    for submission in Submission.objects.filter(invoice__in=ready):
        hc.deliver(submission.pk)
    done = client.get(response["Location"] + "progress/")
    assert b"3</strong> of 3" in done.content and b"hx-trigger" not in done.content
