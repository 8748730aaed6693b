"""The Stripe stub tries a failed webhook delivery again, as Stripe does: an answer outside 2xx or
no answer at all is retried after each of its delays in turn, signed afresh, then given up; a
delivery that succeeds is not sent again. No database: the stub and a little receiver only."""

from __future__ import annotations

import http.server
import json
import socket
import threading
import time

import httpx
import pytest

from stripe_stub.app import StripeStub
from stripe_stub.testing import running_stub

KEY = "sk_test_retries"


class Receiver:
    """An endpoint answering each delivery with the next status given (the last one repeats)."""

    def __init__(self, statuses: list[int]):
        self.statuses, self.received = list(statuses), []
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append((json.loads(body)["id"], self.headers["Stripe-Signature"], time.monotonic()))
                status = receiver.statuses.pop(0) if len(receiver.statuses) > 1 else receiver.statuses[0]
                self.send_response(status)
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def _endpoint(stub, url: str) -> dict:
    answer = httpx.post(
        f"{stub.url}/v1/webhook_endpoints",
        headers={"Authorization": f"Bearer {KEY}"},
        data={"url": url, "enabled_events[]": "checkout.session.completed"},
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def _paid_session(stub) -> str:
    """A checkout session paid on the stub: its checkout.session.completed is delivered."""
    made = httpx.post(
        f"{stub.url}/v1/checkout/sessions",
        headers={"Authorization": f"Bearer {KEY}"},
        data={
            "mode": "payment",
            "success_url": "http://x/ok",
            "line_items[0][quantity]": "1",
            "line_items[0][price_data][currency]": "gbp",
            "line_items[0][price_data][unit_amount]": "1800",
            "line_items[0][price_data][product_data][name]": "Consultation",
        },
    )
    assert made.status_code == 200, made.text
    stub.app.pay(made.json()["id"])
    return made.json()["id"]


def _wait_for(condition, seconds: float = 5.0):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


@pytest.fixture
def receiver_factory():
    made = []

    def make(statuses):
        made.append(Receiver(statuses))
        return made[-1]

    yield make
    for receiver in made:
        receiver.close()


def test_a_failed_delivery_is_tried_again_until_it_is_taken(receiver_factory):
    receiver = receiver_factory([500, 503, 200])
    with running_stub(retry_delays=(0.05, 0.1, 0.2, 0.4)) as stub:
        _endpoint(stub, receiver.url)
        _paid_session(stub)
        _wait_for(lambda: len(receiver.received) == 3)
        time.sleep(0.6)  # longer than every delay left: nothing more comes
        assert len(receiver.received) == 3 and stub.app.retries_pending() == 0
        assert len({event_id for event_id, _, _ in receiver.received}) == 1
        assert [(d.attempt, d.status) for d in stub.app.deliveries] == [(1, 500), (2, 503), (3, 200)]
        # Backing off: each wait at least its delay.
        times = [at for _, _, at in receiver.received]
        assert times[1] - times[0] >= 0.05 and times[2] - times[1] >= 0.1


def test_the_retries_are_bounded(receiver_factory):
    receiver = receiver_factory([500])
    with running_stub(retry_delays=(0.02, 0.04, 0.08)) as stub:
        _endpoint(stub, receiver.url)
        _paid_session(stub)
        _wait_for(lambda: len(receiver.received) == 4)
        time.sleep(0.4)
        assert len(receiver.received) == 4 and stub.app.retries_pending() == 0
        assert [d.attempt for d in stub.app.deliveries] == [1, 2, 3, 4]
        assert not any(d.ok for d in stub.app.deliveries)


def test_no_answer_is_retried_too():
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with running_stub(retry_delays=(0.02, 0.02)) as stub:
        _endpoint(stub, f"http://127.0.0.1:{port}/hook")
        _paid_session(stub)
        _wait_for(lambda: len(stub.app.deliveries) == 3)
        assert [(d.attempt, d.status) for d in stub.app.deliveries] == [(1, None), (2, None), (3, None)]
        assert all(d.error for d in stub.app.deliveries)


def test_a_success_is_sent_once_and_each_retry_is_signed_afresh(receiver_factory):
    fine, flaky = receiver_factory([200]), receiver_factory([500, 200])
    with running_stub(retry_delays=(1.1,)) as stub:
        _endpoint(stub, fine.url)
        _endpoint(stub, flaky.url)
        _paid_session(stub)
        _wait_for(lambda: len(flaky.received) == 2)
        assert len(fine.received) == 1
        first, second = (signature for _, signature, _ in flaky.received)
        assert first.split(",")[0] != second.split(",")[0]  # t=… is the time of each attempt


def test_an_endpoint_registered_again_gets_no_retry_of_the_old_one(receiver_factory):
    receiver = receiver_factory([500, 200])
    with running_stub(retry_delays=(0.3,)) as stub:
        _endpoint(stub, receiver.url)
        _paid_session(stub)
        _endpoint(stub, receiver.url)  # a new endpoint (a new secret) at the same address
        time.sleep(0.6)
        assert len(receiver.received) == 1 and stub.app.retries_pending() == 0


def test_the_admin_resend_is_not_retried(receiver_factory):
    receiver = receiver_factory([500])
    with running_stub(deliver=False, retry_delays=(0.02,)) as stub:
        _endpoint(stub, receiver.url)
        _paid_session(stub)
        events = httpx.get(f"{stub.url}/_stub/events", headers={"X-Stub-Admin-Token": stub.admin_token}).json()
        completed = [e["id"] for e in events if e["type"] == "checkout.session.completed"]
        sent = httpx.post(
            f"{stub.url}/_stub/resend", headers={"X-Stub-Admin-Token": stub.admin_token}, json={"events": completed}
        ).json()
        assert [(d["status"], d["attempt"]) for d in sent] == [(500, 1)]
        time.sleep(0.2)
        assert len(receiver.received) == 1


def test_the_stub_retries_by_default_with_backoff():
    delays = StripeStub().retry_delays
    assert 3 <= len(delays) <= 10 and all(b > a for a, b in zip(delays, delays[1:], strict=False))
