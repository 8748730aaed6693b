"""Bulk submission as the workers run it: a chunk queued in one transaction, delivered from sender
threads, recorded in bulk, with the same guarantees as one bill at a time: one bill per invoice
version however often a chunk is sent, an event per state change, every exchange recorded with
secrets redacted, and the invoice's history."""

import logging

import httpx
import pytest
from django.db import connection

from openpractice.billing.models import HealthcodeStatus, Invoice
from openpractice.healthcode import connection as connection_module
from openpractice.healthcode import submission as hc
from openpractice.healthcode.models import ApiExchange, Submission, SubmissionEvent, SubmissionState
from openpractice.healthcode.submission import delivery


def _bills_at_clearing_house(sandbox, submission_ids):
    """submission id -> every bill the clearing house made for its idempotency key (read from the
    clearing house's own database: invoice numbers repeat across tests, keys never do)."""
    import sqlite3
    from pathlib import Path

    keys = dict(Submission.objects.filter(pk__in=submission_ids).values_list("idempotency_key", "pk"))
    found = {pk: [] for pk in keys.values()}
    database = sqlite3.connect(f"file:{Path(sandbox.data_dir) / 'sandbox.sqlite3'}?mode=ro", uri=True, timeout=30)
    try:
        for key, bill_id in database.execute(
            "SELECT idempotency_key, bill_id FROM bills WHERE idempotency_key LIKE 'header:op-%'"
        ):
            if key[len("header:") :] in keys:
                found[keys[key[len("header:") :]]].append(bill_id)
    finally:
        database.close()
    return found


def _queue(demo, invoices):
    bulk = hc.submit_many(practice=demo, invoice_ids=[i.pk for i in invoices])
    return bulk, list(Submission.objects.filter(bulk=bulk).order_by("pk").values_list("pk", flat=True))


def test_a_chunk_is_queued_and_delivered_with_every_record(demo, make_invoice, healthcode_sandbox):
    invoices = [make_invoice() for _ in range(6)]
    already = make_invoice()
    hc.submit_invoice(invoice=already, enqueue=False)
    bulk, ids = _queue(demo, invoices + [already])
    assert len(ids) == 6
    assert [s["why"] for s in bulk.skipped] == ["This invoice is already with Healthcode (Sending to Healthcode)."]
    numbers = set()
    for invoice in Invoice.objects.filter(pk__in=[i.pk for i in invoices]):
        assert invoice.record_status == "issued" and invoice.healthcode_status == HealthcodeStatus.QUEUED
        numbers.add(invoice.number)
        reasons = list(invoice.history.order_by("history_id").values_list("history_change_reason", flat=True))
        assert reasons[-2:] == [f"Issued as {invoice.number}", "Healthcode: Sending to Healthcode"]
    assert len(numbers) == 6

    assert hc.deliver_concurrently(ids, threads=4) == {"accepted": 6}
    for submission in Submission.objects.filter(pk__in=ids):
        assert submission.state == SubmissionState.ACCEPTED and submission.bill_id
        assert submission.healthcode_status == HealthcodeStatus.UNPROCESSED and submission.attempts == 1
        assert [e.to_status for e in submission.events.order_by("id")] == ["queued", "unprocessed"]
        assert submission.invoice.healthcode_status == HealthcodeStatus.UNPROCESSED
        assert (
            submission.invoice.history.first().history_change_reason
            == f"Healthcode: {HealthcodeStatus.UNPROCESSED.label}"
        )
    exchanges = ApiExchange.objects.filter(practice=demo, endpoint="submit_claim_endpoint")
    assert exchanges.count() == 6
    for exchange in exchanges:
        assert exchange.request_headers["Authorization"] == "Bearer [redacted]" and exchange.status_code == 201
        assert healthcode_sandbox.client_secret not in exchange.request_body + exchange.response_body
    bills = _bills_at_clearing_house(healthcode_sandbox, ids)
    assert all(found == [Submission.objects.get(pk=pk).bill_id] for pk, found in bills.items()), bills

    # Sent again: settled rows are skipped, nothing new is written.
    events = SubmissionEvent.objects.count()
    assert hc.deliver_concurrently(ids, threads=4) == {"accepted": 6}
    assert SubmissionEvent.objects.count() == events and exchanges.count() == 6


def test_a_chunk_is_queued_in_one_transaction_not_one_invoice_at_a_time(demo, make_invoice, caplog):
    """The chunk path itself works: nothing falls back to queueing one invoice at a time (which
    would pass every other test here, only slower), and the invoices' fields are billing's."""
    invoices = [make_invoice() for _ in range(4)]
    with caplog.at_level(logging.WARNING, logger="openpractice.healthcode"):
        bulk, ids = _queue(demo, invoices)
    assert "fell back" not in caplog.text
    assert len(ids) == 4 and bulk.skipped == []
    rows = list(Invoice.objects.filter(pk__in=[i.pk for i in invoices]).order_by("pk"))
    numbers = [int(row.number[-6:]) for row in rows]
    assert numbers == list(range(numbers[0], numbers[0] + 4))  # one take of numbers, in id order
    assert {(row.record_status, row.healthcode_status, row.version) for row in rows} == {
        ("issued", HealthcodeStatus.QUEUED, 1)
    }


def test_a_chunk_resent_after_a_crash_gets_the_same_bills(demo, make_invoice, healthcode_sandbox):
    """A worker killed after sending, before recording: the rows are still `sending`; recovery
    sends them again with the same keys and the clearing house replays the same bills."""
    _, ids = _queue(demo, [make_invoice() for _ in range(4)])
    hc.deliver_concurrently(ids, threads=4)
    first = dict(Submission.objects.filter(pk__in=ids).values_list("pk", "bill_id"))
    Submission.objects.filter(pk__in=ids).update(state=SubmissionState.SENDING, bill_id="")
    assert hc.deliver_concurrently(ids, threads=2) == {"accepted": 4}
    assert dict(Submission.objects.filter(pk__in=ids).values_list("pk", "bill_id")) == first
    assert _bills_at_clearing_house(healthcode_sandbox, ids) == {pk: [bill] for pk, bill in first.items()}
    assert all(
        "replayed" in e.message
        for e in SubmissionEvent.objects.filter(submission_id__in=ids, to_status="unprocessed").order_by("id")[4:]
    )


def test_a_chunk_with_refusals_and_network_trouble(demo, make_invoice, monkeypatch):
    """4xx: refused with the clearing house's words; 5xx after retries: back to the queue; the
    others in the chunk are accepted; every exchange is recorded."""
    _, ids = _queue(demo, [make_invoice() for _ in range(3)])
    refused, unavailable = ids[0], ids[1]
    keys = dict(Submission.objects.filter(pk__in=ids).values_list("idempotency_key", "pk"))

    def handler(request):
        if request.url.path.endswith("discovery-document.json"):
            return httpx.Response(
                200, json={"token_endpoint": "http://hc.test/token", "submit_claim_endpoint": "http://hc.test/bills"}
            )
        if request.url.path == "/token":
            return httpx.Response(200, json={"access_token": "tok-bulk", "expires_in": 3600})
        pk = keys[request.headers["Idempotency-Key"]]
        if pk == refused:
            return httpx.Response(
                422,
                json={
                    "resourceType": "OperationOutcome",
                    "issue": [
                        {
                            "severity": "error",
                            "code": "required",
                            "diagnostics": "Membership number is missing",
                            "expression": ["RegistrationNo"],
                        }
                    ],
                },
            )
        if pk == unavailable:
            return httpx.Response(503, json={"resourceType": "OperationOutcome", "issue": []})
        return httpx.Response(
            201,
            json={
                "resourceType": "ClaimResponse",
                "id": "HCB00000042",
                "extension": [
                    {
                        "url": "https://openpractice.org/fhir/healthcode/StructureDefinition/bill-status",
                        "valueString": "Unprocessed",
                    }
                ],
            },
        )

    from openpractice.healthcode.client import HealthcodeClient

    def mock_client(*, practice, recorder, **options):
        return HealthcodeClient(
            discovery_url="http://hc.test/.well-known/discovery-document.json",
            site_id="HC1",
            api_key_id="id",
            api_key="very-secret-key",
            transport=httpx.MockTransport(handler),
            recorder=recorder,
            retries=1,
            backoff=0,
        )

    monkeypatch.setattr(connection_module, "client_for", mock_client)
    monkeypatch.setattr(connection_module, "_clients", __import__("threading").local())
    monkeypatch.setattr(delivery, "enqueue_delivery", lambda *a, **k: None)
    outcome = hc.deliver_concurrently(ids, threads=3)
    states = dict(Submission.objects.filter(pk__in=ids).values_list("pk", "state"))
    assert outcome == {"rejected": 1, "queued": 1, "accepted": 1}
    assert states == {refused: "rejected", unavailable: "queued", ids[2]: "accepted"}
    assert "Membership number is missing" in Submission.objects.get(pk=refused).events.last().message
    assert Invoice.objects.get(submissions__pk=refused).healthcode_status == HealthcodeStatus.FAILED
    exchanges = ApiExchange.objects.filter(endpoint="submit_claim_endpoint")
    assert exchanges.count() == 1 + 2 + 1  # the 503 was tried twice
    assert "very-secret-key" not in "".join(e.request_body for e in ApiExchange.objects.all())


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks across threads need PostgreSQL")
@pytest.mark.django_db(transaction=True)  # runs last (billing's conftest): its flush removes reference data
def test_concurrent_chunk_deliveries_make_one_bill_per_invoice_version(request, healthcode_sandbox):
    """Two workers given the same chunk at once (a recovery racing a slow worker): the row locks
    and the guard let each submission through once; the idempotency key covers the rest."""
    from concurrent.futures import ThreadPoolExecutor

    from django.core.management import call_command
    from django.db import connections

    call_command("load_reference_codes")
    demo = request.getfixturevalue("demo")
    make_invoice = request.getfixturevalue("make_invoice")
    _, ids = _queue(demo, [make_invoice() for _ in range(10)])

    def worker(_):
        try:
            return hc.deliver_concurrently(ids, threads=4)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(3) as pool:
        list(pool.map(worker, range(3)))
    rows = dict(Submission.objects.filter(pk__in=ids).values_list("pk", "bill_id"))
    assert set(Submission.objects.filter(pk__in=ids).values_list("state", flat=True)) == {"accepted"}
    assert _bills_at_clearing_house(healthcode_sandbox, ids) == {pk: [bill] for pk, bill in rows.items()}
    for pk in ids:  # one queued and one accepted event each, however many workers raced
        assert list(SubmissionEvent.objects.filter(submission_id=pk).values_list("to_status", flat=True)) == [
            "queued",
            "unprocessed",
        ]
