"""State survives a restart; demo seeding is idempotent; many clients at once."""

from __future__ import annotations

import concurrent.futures
import datetime as dt

from sandbox.testing import SandboxApi, bill_status, example_claim, unique_invoice


def test_state_survives_a_restart(fresh_sandbox):
    api = SandboxApi(fresh_sandbox)
    claim = example_claim(invoice_number="RESTART1", invoice_version="restart-v1", service_date=dt.date(2026, 6, 15))
    bill_id = api.submit(claim).json()["id"]
    clock_before = api.advance(120)
    insurers_before = api.search("list_insurers_endpoint").json()["total"]
    api.http.put("/_sandbox/faults", json={"latency_ms": 5}, headers=fresh_sandbox.admin_headers)

    fresh_sandbox.restart()

    assert api.http.get("/_sandbox/clock", headers=fresh_sandbox.admin_headers).json()["now"] == clock_before
    assert api.search("list_insurers_endpoint").json()["total"] == insurers_before  # token and seed kept
    assert bill_status(api.bill(bill_id)) == "AwaitingCollection"
    again = api.submit(claim)
    assert again.status_code == 200 and again.json()["id"] == bill_id  # idempotency survives too
    # Faults are per run: a restart without flags clears them.
    assert api.http.get("/_sandbox/faults", headers=fresh_sandbox.admin_headers).json()["latency_ms"] == 0
    api.close()


def test_many_concurrent_submissions_all_succeed(api, today):
    claims = [example_claim(invoice_number=unique_invoice("C"), service_date=today) for _ in range(40)]
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(api.submit, claims))
    assert [answer.status_code for answer in answers] == [201] * 40
    assert len({answer.json()["id"] for answer in answers}) == 40
