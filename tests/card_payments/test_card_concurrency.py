"""Two deliveries of one payment at the same moment (its two events, on two connections) record it
once: PostgreSQL only (SQLite runs one writer at a time)."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import connection, connections

from openpractice.billing.models import Invoice, Payment
from openpractice.card_payments import services
from openpractice.card_payments.models import CardPayment, CardRefund

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("reference_codes"),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent writers need PostgreSQL"),
]


def _at_once(practice, batch: list[dict]) -> list[BaseException]:
    barrier = threading.Barrier(len(batch))
    errors: list[BaseException] = []

    def deliver(event):
        try:
            barrier.wait(10)
            services.handle_event(practice=practice, event=event)
        except BaseException as exc:  # reported to the test below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=deliver, args=(e,)) for e in batch]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return errors


def test_a_payments_two_events_at_once_record_it_once(practice, world, debts, stripe_keys, events):
    invoice = debts.self_pay("Consultation")
    completed = events.session_completed("pi_race", 18000, world.patient, [invoice])
    succeeded = events.intent_succeeded("pi_race", 18000, world.patient, [invoice])
    assert _at_once(practice, [completed, succeeded, dict(succeeded)]) == []
    assert CardPayment.objects.count() == 1 and Payment.objects.filter(invoice=invoice).count() == 1
    assert Invoice.objects.get(pk=invoice.pk).balance == 0


def test_refund_steps_at_once_record_each_once(practice, world, debts, stripe_keys, events):
    invoice = debts.self_pay("Consultation")
    services.handle_event(practice=practice, event=events.intent_succeeded("pi_r2", 18000, world.patient, [invoice]))
    first = events.charge_refunded("pi_r2", 18000, 4000, "re_1")
    second = events.charge_refunded("pi_r2", 18000, 9000, "re_2")
    assert _at_once(practice, [first, second, dict(second)]) == []
    assert CardPayment.objects.get().refunded == Decimal("90.00")
    assert sum(r.amount for r in CardRefund.objects.all()) == Decimal("90.00")
    assert Invoice.objects.get(pk=invoice.pk).balance == Decimal("90.00")
