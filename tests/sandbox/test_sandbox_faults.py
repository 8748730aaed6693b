"""Fault injection: latency, 5xx, timeouts, dropped connections, expired tokens,
duplicate remittance delivery; deterministic for a seed."""

from __future__ import annotations

import datetime as dt
import time

import httpx
import pytest

from sandbox.testing import SandboxApi, assert_operation_outcome, example_claim, start_sandbox

CLOCK_START = "2026-06-15T09:00:00Z"


@pytest.fixture()
def faulty(tmp_path):
    """A sandbox and a client holding a token, with faults then set through the admin API."""
    sandbox = start_sandbox(tmp_path, clock_start=CLOCK_START)
    api = SandboxApi(sandbox, timeout=5.0)

    def set_faults(**settings):
        answer = api.http.put("/_sandbox/faults", json=settings, headers=sandbox.admin_headers)
        assert answer.status_code == 200, answer.text
        return answer.json()

    yield api, set_faults
    api.close()
    sandbox.stop()


def test_error_rate_answers_503_with_an_operation_outcome(faulty):
    api, set_faults = faulty
    set_faults(error_rate=1.0)
    assert_operation_outcome(api.search("list_insurers_endpoint"), 503, "Injected")
    # Discovery and admin are never faulted, so tests can always see and repair the sandbox.
    assert api.http.get("/.well-known/discovery-document.json").status_code == 200
    set_faults()
    assert api.search("list_insurers_endpoint").status_code == 200


def test_a_fault_after_processing_keeps_the_bill_and_a_retry_finds_it(faulty):
    api, set_faults = faulty
    claim = example_claim(invoice_number="AFTER1", invoice_version="after-v1", service_date=dt.date(2026, 6, 15))
    set_faults(error_rate=1.0, after_processing_rate=1.0)
    assert_operation_outcome(api.submit(claim), 503, "Injected")
    set_faults(drop_rate=1.0, after_processing_rate=1.0)
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        api.submit(claim)
    set_faults()
    retry = api.submit(claim)
    assert retry.status_code == 200 and retry.headers["idempotent-replayed"] == "true"
    assert api.search("claim_status_endpoint", invoiceNumber="AFTER1").json()["total"] == 1


def test_a_fault_before_processing_leaves_nothing_behind(faulty):
    api, set_faults = faulty
    claim = example_claim(invoice_number="BEFORE1", service_date=dt.date(2026, 6, 15))
    set_faults(error_rate=1.0, after_processing_rate=0.0)
    assert_operation_outcome(api.submit(claim), 503, "Injected")
    set_faults()
    assert api.search("claim_status_endpoint", invoiceNumber="BEFORE1").json()["total"] == 0
    assert api.submit(claim).status_code == 201


def test_latency_is_added(faulty):
    api, set_faults = faulty
    set_faults(latency_ms=300)
    started = time.monotonic()
    assert api.search("list_insurers_endpoint").status_code == 200
    assert time.monotonic() - started >= 0.3


def test_timeouts_outlast_the_client(faulty):
    api, set_faults = faulty
    set_faults(timeout_rate=1.0, timeout_seconds=1.0)
    with pytest.raises(httpx.TimeoutException):
        api.http.post(api.endpoints["list_insurers_endpoint"], headers=api.headers(), timeout=0.3)


def test_dropped_connections_get_no_answer(faulty):
    api, set_faults = faulty
    set_faults(drop_rate=1.0)
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        api.search("list_insurers_endpoint")
    set_faults()
    assert api.search("list_insurers_endpoint").status_code == 200  # the server is still fine


def test_expired_token_fault(faulty):
    api, set_faults = faulty
    set_faults(expired_token_rate=1.0)
    answer = api.search("list_insurers_endpoint")
    assert_operation_outcome(answer, 401, "expired")
    assert 'error="invalid_token"' in answer.headers["www-authenticate"]


def test_faults_are_deterministic_for_a_seed(faulty):
    api, set_faults = faulty

    def statuses():
        return [api.search("list_insurers_endpoint", count=1).status_code for _ in range(24)]

    set_faults(error_rate=0.5, seed=7)
    first = statuses()
    set_faults(error_rate=0.5, seed=8)
    other = statuses()
    set_faults(error_rate=0.5, seed=7)
    assert statuses() == first
    assert first != other and {200, 503} == set(first)


def test_fault_settings_are_checked(faulty):
    api, _ = faulty
    answer = api.http.put("/_sandbox/faults", json={"error_rate": 2}, headers=api.sandbox.admin_headers)
    assert_operation_outcome(answer, 400, "error_rate")
    answer = api.http.put("/_sandbox/faults", json={"chaos": 1}, headers=api.sandbox.admin_headers)
    assert_operation_outcome(answer, 400, "chaos")


def test_cli_flags_set_faults_for_the_run(tmp_path):
    sandbox = start_sandbox(tmp_path, error_rate=1.0, fault_seed=3)
    try:
        answer = httpx.post(f"{sandbox.url}/oauth2/token", data={"grant_type": "client_credentials"})
        assert answer.status_code == 503
        faults = httpx.get(f"{sandbox.url}/_sandbox/faults", headers=sandbox.admin_headers).json()
        assert faults["error_rate"] == 1.0 and faults["seed"] == 3
    finally:
        sandbox.stop()


def test_duplicate_delivery_of_a_remittance_batch(tmp_path):
    sandbox = start_sandbox(tmp_path, clock_start=CLOCK_START, duplicate_remittances=True)
    api = SandboxApi(sandbox)
    try:
        api.submit(example_claim(invoice_number="DUPREM1", service_date=dt.date(2026, 6, 15)))
        api.advance(60 + 60 + 3600 + 86400)

        def pending_ids():
            bundle = api.search("list_pending_remittances_endpoint").json()
            return [entry["resource"]["id"] for entry in bundle["entry"]]

        [batch] = pending_ids()
        api.search("acknowledge_remittance_endpoint", remittanceId=batch)
        assert pending_ids() == [batch]  # delivered again: clients must not post it twice
        api.search("acknowledge_remittance_endpoint", remittanceId=batch)
        assert pending_ids() == []
    finally:
        api.close()
        sandbox.stop()
