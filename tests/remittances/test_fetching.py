"""Fetching remittances from the real sandbox: list → fetch → store → post → acknowledge, and the
cases that must lose nothing and post nothing twice: a second fetch, a duplicate delivery, a crash
before the acknowledgement and a crash between storing and posting."""

from __future__ import annotations

from decimal import Decimal

import pytest
from remit_helpers import as_csv, collected_invoice, csv_options

from openpractice.billing.models import PaymentOutcome
from openpractice.healthcode.client import HealthcodeError
from openpractice.remittances import fetching, services
from openpractice.remittances.models import Allocation, BatchStatus, RemittanceBatch

ADJUDICATED = 130 + 3600 + 86400 + 5  # validated, collected, then a day to the remittance


def _advance(sandbox, seconds=ADJUDICATED):
    from sandbox.testing import SandboxApi

    api = SandboxApi(sandbox)
    api.advance(seconds)
    api.close()


def _pending(practice) -> list[str]:
    with fetching._client(practice) as client:
        return fetching.pending_ids(client)


def _our_batches(practice, invoice):
    return RemittanceBatch.objects.filter(practice=practice, lines__invoice=invoice).distinct()


def test_fetch_posts_once_and_acknowledges(demo_remit, remit_sandbox):
    invoice = collected_invoice(demo_remit)
    _advance(remit_sandbox)
    report = fetching.fetch_remittances(practice=demo_remit)
    assert report.stored >= 1 and report.posted >= 1 and report.acknowledged >= 1, report.message
    invoice.refresh_from_db()
    assert invoice.payment_outcome == PaymentOutcome.PAID and invoice.balance == 0
    (batch,) = _our_batches(demo_remit, invoice)
    assert batch.status == BatchStatus.POSTED and batch.acknowledged_at and batch.payment_reference.startswith("BACS-")
    assert batch.external_id not in _pending(demo_remit)
    again = fetching.fetch_remittances(practice=demo_remit)
    assert again.posted == 0
    assert Allocation.objects.filter(invoice=invoice).count() == 1
    # The remittance summary search finds the same payment by invoice number and by shortfall.
    with fetching._client(demo_remit) as client:
        found = client.search_remittance_summary(invoiceNumber=invoice.number).json()
        none_short = client.search_remittance_summary(invoiceNumber=invoice.number, hasShortFall="true").json()
    assert found["total"] == 1 and none_short["total"] == 0
    (entry,) = found["entry"]
    assert entry["resource"]["paymentIdentifier"]["value"] == batch.payment_reference


def test_crash_before_acknowledge_loses_nothing_and_posts_nothing_twice(demo_remit, remit_sandbox, monkeypatch):
    invoice = collected_invoice(demo_remit, last_name="Clarke")
    _advance(remit_sandbox)

    def refuse(self, **kwargs):
        raise HealthcodeError("the connection dropped", code="unreachable")

    from openpractice.healthcode.client import HealthcodeClient

    with monkeypatch.context() as patch:
        patch.setattr(HealthcodeClient, "acknowledge_remittance", refuse)
        report = fetching.fetch_remittances(practice=demo_remit)
    assert report.acknowledged == 0 and any("not acknowledged" in f for f in report.failed)
    (batch,) = _our_batches(demo_remit, invoice)
    assert batch.status == BatchStatus.POSTED and batch.acknowledged_at is None
    assert batch.external_id in _pending(demo_remit)  # still pending at the clearing house
    paid_once = list(Allocation.objects.filter(invoice=invoice).values_list("amount", flat=True))

    report = fetching.fetch_remittances(practice=demo_remit)
    batch.refresh_from_db()
    assert batch.acknowledged_at is not None and batch.external_id not in _pending(demo_remit)
    assert list(Allocation.objects.filter(invoice=invoice).values_list("amount", flat=True)) == paid_once
    invoice.refresh_from_db()
    assert invoice.paid_total == invoice.total


def test_crash_between_store_and_post(demo_remit, remit_sandbox, monkeypatch):
    invoice = collected_invoice(demo_remit, last_name="Patel")
    _advance(remit_sandbox)
    with monkeypatch.context() as patch:

        def crash(**kwargs):
            raise RuntimeError("worker killed")

        patch.setattr(services, "post_batch", crash)
        with pytest.raises(RuntimeError):
            fetching.fetch_remittances(practice=demo_remit)
    stored = RemittanceBatch.objects.filter(practice=demo_remit, status=BatchStatus.RECEIVED)
    assert stored.exists() and not Allocation.objects.filter(invoice=invoice).exists()
    assert all(b.acknowledged_at is None for b in stored)
    fetching.fetch_remittances(practice=demo_remit)
    invoice.refresh_from_db()
    assert invoice.balance == 0 and Allocation.objects.filter(invoice=invoice).count() == 1
    assert not RemittanceBatch.objects.filter(practice=demo_remit, status=BatchStatus.RECEIVED).exists()


@pytest.mark.parametrize("remit_sandbox", [{"duplicate_remittances": True}], indirect=True)
def test_duplicate_delivery_posts_nothing_twice(demo_remit, remit_sandbox):
    sandbox = remit_sandbox
    invoice = collected_invoice(demo_remit, last_name="Turner")
    _advance(sandbox)
    first = fetching.fetch_remittances(practice=demo_remit)
    assert first.posted == 1, first.message
    (batch,) = _our_batches(demo_remit, invoice)
    assert batch.external_id in _pending(demo_remit)  # delivered again, same id
    second = fetching.fetch_remittances(practice=demo_remit)
    assert second.already_had == 1 and second.posted == 0 and second.acknowledged == 1
    assert Allocation.objects.filter(invoice=invoice).count() == 1
    invoice.refresh_from_db()
    assert invoice.paid_total == invoice.total == Decimal(invoice.total)


def test_the_same_remittance_fetched_and_as_csv_files_posts_once(demo_remit, remit_sandbox):
    """The clearing house's remittance (fetched through its API) and the same payment as CSV files
    (LF and CRLF, with and without bill ids), in either order: the bill is paid once."""
    from openpractice.remittances.errors import RemittanceError
    from openpractice.remittances.models import LineStatus

    first = collected_invoice(demo_remit, last_name="Bennett")
    _advance(remit_sandbox)
    with fetching._client(demo_remit) as client:
        (remittance_id,) = [i for i in fetching.pending_ids(client)]
        body = client.get_remittance_details(remittance_id=remittance_id).json(parse_float=Decimal)
    files = [
        (as_csv(body), True),
        (as_csv(body, newline="\r\n"), True),
        (as_csv(body, bill_ids=False), False),
        (as_csv(body, bill_ids=False, newline="\r\n"), False),
    ]
    # A CSV first (as a biller might, before the fetch runs), then the fetch, then the other files.
    batch = services.import_file(practice=demo_remit, content=files[0][0], **csv_options(body))
    first.refresh_from_db()
    assert first.paid_total == first.total and batch.lines.get().status == LineStatus.ALLOCATED
    report = fetching.fetch_remittances(practice=demo_remit)
    assert report.posted == 0 and report.acknowledged == 1, report.message
    assert remittance_id not in _pending(demo_remit)
    for content, bill_ids in files[1:]:
        with pytest.raises(RemittanceError) as refused:
            services.import_file(practice=demo_remit, content=content, **csv_options(body, bill_ids=bill_ids))
        assert refused.value.code == "duplicate"
    first.refresh_from_db()
    assert first.paid_total == first.total and Allocation.objects.filter(invoice=first).count() == 1

    # And the other order: fetched first, then every CSV form.
    second = collected_invoice(demo_remit, last_name="Clarke")
    _advance(remit_sandbox)
    report = fetching.fetch_remittances(practice=demo_remit)
    assert report.posted == 1, report.message
    (fetched,) = _our_batches(demo_remit, second)
    with fetching._client(demo_remit) as client:
        body = client.get_remittance_details(remittance_id=fetched.external_id).json(parse_float=Decimal)
    for content, bill_ids in [
        (as_csv(body), True),
        (as_csv(body, newline="\r\n"), True),
        (as_csv(body, bill_ids=False), False),
        (as_csv(body, bill_ids=False, newline="\r\n"), False),
    ]:
        with pytest.raises(RemittanceError) as refused:
            services.import_file(practice=demo_remit, content=content, **csv_options(body, bill_ids=bill_ids))
        assert refused.value.code == "duplicate"
    second.refresh_from_db()
    assert second.paid_total == second.total and Allocation.objects.filter(invoice=second).count() == 1
