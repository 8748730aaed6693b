"""card_payments.selectors.refunds_on_invoice reads by hand (openpractice.db.rows, issue 18): the
invoice page's refund rows are what the ORM read gave (each allocation with its refund and the
refund's card payment, in the order refunded), with nothing left to read."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext

from openpractice.card_payments import selectors, services
from openpractice.card_payments.models import CardRefundAllocation


def _fields(obj):
    return {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields}


def _rows(found):
    return [(_fields(a), _fields(a.refund), _fields(a.refund.card_payment)) for a in found]


def test_refunds_on_an_invoice_are_the_orm_read(world, debts, events, stripe_keys):
    invoice = debts.self_pay("Consultation")
    other = debts.self_pay("Consultation")
    assert selectors.refunds_on_invoice(invoice_id=invoice.pk) == []
    services.handle_event(
        practice=world.practice, event=events.intent_succeeded("pi_inv", 18000, world.patient, [invoice])
    )
    services.handle_event(practice=world.practice, event=events.charge_refunded("pi_inv", 18000, 2500, "re_one"))
    services.handle_event(practice=world.practice, event=events.charge_refunded("pi_inv", 18000, 4000, "re_two"))
    expected = list(
        CardRefundAllocation.objects.filter(invoice_id=invoice.pk)
        .select_related("refund__card_payment")
        .order_by("refund__refunded_on", "id")
    )
    found = selectors.refunds_on_invoice(invoice_id=invoice.pk)
    with CaptureQueriesContext(connection) as captured:
        assert _rows(found) == _rows(expected) and len(found) == 2
    assert not captured.captured_queries
    assert selectors.refunds_on_invoice(invoice_id=other.pk) == []
