"""The invoice page while its bill moves at Healthcode (billing/_live.html, views.invoice_live): the
page polls, the poll answers 204 while the invoice is as the page saw it, and once the status (or a
payment) changed it answers the badges, the Healthcode panel with its history, the money and the
payments and remittance panels together, out of band; polling stops at a final status. Remittance
payments are rows of the payments panel, read from the remittances ledger, and add up with
billing's own payments to the paid total."""

from __future__ import annotations

import re
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone

sys.path.insert(0, str(Path(__file__).parent.parent / "remittances"))
from remit_helpers import World, bundle, receive

from openpractice.billing import services as billing
from openpractice.billing.models import HealthcodeStatus, Invoice
from openpractice.healthcode.models import Submission, SubmissionEvent


@pytest.fixture
def world(practice, make_member, insurer_contact):
    return World(practice, make_member, insurer_contact)


@pytest.fixture
def biller(world, client_for):
    return client_for(world.user)


def _sent(world, status=HealthcodeStatus.QUEUED) -> Invoice:
    invoice = world.invoice()
    submission = Submission.objects.create(
        practice=world.practice, invoice=invoice, version=1, idempotency_key=f"k-{invoice.pk}"
    )
    SubmissionEvent.objects.create(practice=world.practice, submission=submission, to_status="queued")
    _move(invoice, status)
    return invoice


def _move(invoice, status, message=""):
    """What the worker does when Healthcode answers: an event, and the invoice's status."""
    submission = Submission.objects.get(invoice=invoice)
    SubmissionEvent.objects.create(
        practice=invoice.practice, submission=submission, to_status=status, message=message or f"Now {status}"
    )
    Submission.objects.filter(pk=submission.pk).update(healthcode_status=status)
    billing.set_clearing_house_status(invoice=billing.lock_invoice(invoice.pk, invoice.practice_id), status=status)


def _seen(html: str) -> str:
    return re.search(r"\?seen=([0-9.]+)", html).group(1)


def test_the_page_polls_while_the_bill_moves_and_the_poll_swaps_nothing_until_it_changes(world, biller):
    invoice = _sent(world)
    page = biller.get(f"/invoices/{invoice.pk}/").content.decode()
    assert f'hx-get="/invoices/{invoice.pk}/live/?seen=' in page and 'hx-trigger="every 2s"' in page
    assert ">Refresh</a>" in page  # with JavaScript off
    seen = _seen(page)
    assert biller.get(f"/invoices/{invoice.pk}/live/?seen={seen}").status_code == 204


def test_a_poll_that_finds_nothing_new_reads_the_invoice_row_alone(world, biller):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    invoice = _sent(world)
    seen = _seen(biller.get(f"/invoices/{invoice.pk}/").content.decode())
    with CaptureQueriesContext(connection) as quiet:
        assert biller.get(f"/invoices/{invoice.pk}/live/?seen={seen}").status_code == 204
    touched = " ".join(q["sql"] for q in quiet.captured_queries)
    assert '"billing_invoice"' in touched
    for table in ("billing_invoiceline", "billing_payment", "billing_creditnote", "patients_patient"):
        assert f'"{table}"' not in touched, table  # the rows are read only when there is something to draw


def test_a_status_change_swaps_badge_history_money_and_payments_together(world, biller):
    invoice = _sent(world, HealthcodeStatus.UNPROCESSED)
    page = biller.get(f"/invoices/{invoice.pk}/").content.decode()
    assert 'hx-trigger="every 5s"' in page
    seen = _seen(page)
    _move(invoice, HealthcodeStatus.VALIDATED, message="Validated by the insurer")
    answer = biller.get(f"/invoices/{invoice.pk}/live/?seen={seen}")
    html = answer.content.decode()
    assert answer.status_code == 200
    for part in ("invoice-badges", "invoice-healthcode", "invoice-money", "invoice-payments", "invoice-remittances"):
        assert re.search(rf'id="{part}"[^>]*hx-swap-oob="true"', html), part
    assert "Validated by the insurer" in html  # the history
    assert 'id="hc-status"><span class="badge ok">Validated' in html.replace("\n", "")
    assert f"?seen={seen}" not in html and 'hx-trigger="every 5s"' in html  # polls on, from here


def test_polling_stops_at_a_final_status(world, biller):
    invoice = _sent(world, HealthcodeStatus.AWAITING_COLLECTION)
    seen = _seen(biller.get(f"/invoices/{invoice.pk}/").content.decode())
    _move(invoice, HealthcodeStatus.COLLECTED)
    html = biller.get(f"/invoices/{invoice.pk}/live/?seen={seen}").content.decode()
    assert '<div id="invoice-live"></div>' in html and "Collected" in html
    page = biller.get(f"/invoices/{invoice.pk}/").content.decode()
    assert "/live/" not in page and ">Refresh</a>" not in page
    for status in (HealthcodeStatus.FAILED, HealthcodeStatus.CANCELLED):
        _move(invoice, status)
        assert "/live/" not in biller.get(f"/invoices/{invoice.pk}/").content.decode()


def test_unsent_and_patient_invoices_do_not_poll(world, biller):
    for invoice in (world.invoice(), world.invoice(bill_to="patient")):
        assert "/live/" not in biller.get(f"/invoices/{invoice.pk}/").content.decode()


def test_the_poll_only_reads(world, biller):
    invoice = _sent(world)
    stamp = Invoice.objects.get(pk=invoice.pk).updated_at
    events = SubmissionEvent.objects.count()
    biller.get(f"/invoices/{invoice.pk}/live/?seen=0")
    assert Invoice.objects.get(pk=invoice.pk).updated_at == stamp and SubmissionEvent.objects.count() == events


def test_another_practices_invoice_is_404(world, make_member, client_for, other_practice):
    from openpractice.practices.roles import Role

    invoice = _sent(world)
    assert client_for(make_member(other_practice, Role.OWNER)).get(f"/invoices/{invoice.pk}/live/").status_code == 404


# -- remittance payments in the payments panel -----------------------------------------------------
def test_a_remittance_payment_is_in_the_payments_panel(world, biller):
    invoice = world.invoice()
    assert "None yet." in biller.get(f"/invoices/{invoice.pk}/").content.decode()
    batch = receive(world.practice, bundle([{"invoice": invoice}]))
    page = biller.get(f"/invoices/{invoice.pk}/").content.decode()
    payments = page.split('id="invoice-payments"')[1].split("</div>")[0]
    assert "None yet." not in payments
    assert batch.payment_reference in payments and "£180.00" in payments and f"/remittances/{batch.pk}/" in payments


def test_the_panels_rows_add_up_to_the_paid_total(world, client_for):
    """Billing's payments, the insurer's part-payment, the shortfall moved to the patient, and a
    payment reversed (its row and its reversal leave the panel): the rows shown make the paid
    total, which is what the balance is computed from."""
    from openpractice.remittances import selectors, services
    from openpractice.remittances.models import Allocation, AllocationKind

    part, reversed_one, rejected = world.invoice("Scan"), world.invoice(), world.invoice("Follow-up")
    batch = receive(
        world.practice,
        bundle(
            [
                {"invoice": part, "paid": ["200.00"]},
                {"invoice": reversed_one},
                {"invoice": rejected, "paid": ["0.00"], "reason": "Not covered"},
            ]
        ),
    )
    billing.record_payment(invoice=Invoice.objects.get(pk=part.pk), amount="1.00", received_on=timezone.localdate())
    services.transfer_shortfall(line=batch.lines.get(invoice=part), user=world.user)
    paid = Allocation.objects.get(invoice=reversed_one, kind=AllocationKind.INSURER_PAYMENT)
    services.reverse_allocation(allocation=paid, reason="Wrong invoice", user=world.user)
    for invoice in (part, reversed_one, rejected):
        invoice.refresh_from_db()
        rows = selectors.payments_for_invoice(practice=world.practice, invoice=invoice)
        own = sum((p.amount for p in invoice.payments.all()), Decimal("0.00"))
        assert sum((r["amount"] for r in rows), Decimal("0.00")) + own == invoice.paid_total, invoice
    kinds = [r["kind"] for r in selectors.payments_for_invoice(practice=world.practice, invoice=part)]
    assert kinds == ["insurer_payment", "shortfall_transfer"]
    assert selectors.payments_for_invoice(practice=world.practice, invoice=reversed_one) == []
    assert selectors.payments_for_invoice(practice=world.practice, invoice=rejected) == []
    page = client_for(world.user).get(f"/invoices/{part.pk}/").content.decode()
    assert "Shortfall moved to the patient: <a" in page
