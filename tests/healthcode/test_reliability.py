"""Must show: during a bulk submission against a clearing house that fails 30% of calls with a
5xx, times out and drops connections (half of those after it has made the bill), every invoice
ends with exactly one bill: none lost, none duplicated. Then the same with the worker killed
(SIGKILL) in the middle of the batch and started again.

Real processes throughout: the sandbox, `manage.py db_worker` on a file-based SQLite database,
`manage.py sync_healthcode` as the schedule's recovery. 1,000 invoices: bench/healthcode.py."""

import time

import pytest

from bench.harness import Installation
from sandbox.testing import start_sandbox

COUNT = 80
FAULTS = {
    "error_rate": 0.3,
    "timeout_rate": 0.05,
    "timeout_seconds": 3,
    "drop_rate": 0.05,
    "after_processing_rate": 0.5,
    "fault_seed": 6,
}


def _assert_exactly_one_bill_each(installation: Installation, expected: int) -> None:
    numbers = installation.invoice_numbers()
    assert len(numbers) == expected
    bills = installation.bills_per_invoice()
    duplicated = {n: b for n, b in bills.items() if len(b) > 1}
    lost = [n for n in numbers if n not in bills]
    assert not duplicated, f"duplicated bills: {duplicated}"
    assert not lost, f"invoices with no bill: {lost}"
    faults = installation._query("SELECT COUNT(*) FROM healthcode_apiexchange WHERE status_code >= 500 OR error != ''")
    assert faults[0][0] > expected // 10, "the faults did not strike: nothing was tested"
    ours = installation.our_bills()
    assert {n: ours.get(n) for n in numbers} == {n: bills[n][0] for n in numbers}, "our records disagree"


@pytest.fixture
def faulty_sandbox(tmp_path):
    sandbox = start_sandbox(tmp_path / "sandbox", **FAULTS)
    yield sandbox
    sandbox.stop()


def test_bulk_submission_under_faults_gives_exactly_one_bill_each(tmp_path, faulty_sandbox):
    installation = Installation(tmp_path / "op", faulty_sandbox, timeout_seconds=1)
    try:
        installation.prepare(count=COUNT)
        assert installation.submit_all()["queued"] == COUNT
        installation.start_worker()
        states = installation.wait_until_settled(expected=COUNT, timeout=240)
        assert states.get("accepted") == COUNT, states
        _assert_exactly_one_bill_each(installation, COUNT)
    finally:
        installation.stop_workers()


def test_worker_killed_mid_batch_and_restarted(tmp_path, faulty_sandbox):
    installation = Installation(tmp_path / "op", faulty_sandbox, timeout_seconds=1)
    try:
        installation.prepare(count=COUNT)
        installation.submit_all()
        worker = installation.start_worker("first")
        deadline = time.monotonic() + 120
        while installation.states().get("accepted", 0) < COUNT // 4:  # well into the batch
            assert time.monotonic() < deadline, installation.states()
            time.sleep(0.05)
        installation.kill(worker)
        in_flight = installation.states()
        assert in_flight.get("accepted", 0) < COUNT, "the batch finished before the kill: nothing was tested"
        installation.start_worker("second")
        states = installation.wait_until_settled(expected=COUNT, timeout=240, recover_every=4)
        assert states.get("accepted") == COUNT, states
        _assert_exactly_one_bill_each(installation, COUNT)
    finally:
        installation.stop_workers()
