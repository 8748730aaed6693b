"""Property: every balance equals its ledger after any sequence of card payments, refunds, their
webhooks (repeated, reordered, refunds before payments), manual payments, write-offs and their
reversals (issue 16's Must-show)."""

from __future__ import annotations

import math
from decimal import Decimal

import pytest
from django.db import transaction
from django.db.models import Sum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openpractice.billing import services as billing
from openpractice.billing.models import Invoice, Payment
from openpractice.billing.services import payment_outcome_for
from openpractice.card_payments import services
from openpractice.card_payments.models import CardPayment, CardRefundAllocation, StripeEvent
from openpractice.domain_errors import DomainError
from openpractice.receivables import services as receivables
from openpractice.receivables.models import WriteOffEntry

pytestmark = pytest.mark.django_db
ZERO = Decimal("0.00")
INVOICES = 3
INTENTS = 3

steps = st.lists(
    st.one_of(
        st.tuples(st.just("pay"), st.integers(0, INTENTS - 1), st.integers(1, 70_000), st.sets(st.integers(0, 2))),
        st.tuples(st.just("refund"), st.integers(0, INTENTS - 1), st.integers(1, 100)),
        st.tuples(st.just("deliver"), st.integers(0, 200)),
        st.tuples(st.just("manual"), st.integers(0, INVOICES - 1), st.integers(1, 20_000)),
        st.tuples(st.just("write_off"), st.integers(0, INVOICES - 1), st.integers(1, 20_000)),
        st.tuples(st.just("reverse"), st.integers(0, 10)),
    ),
    max_size=30,
)


def _sum(queryset, field="amount") -> Decimal:
    # SQLite adds NUMERIC columns as floats (0.0600000000000001): to pennies, as the reports do
    return Decimal(str(queryset.aggregate(s=Sum(field))["s"] or ZERO)).quantize(Decimal("0.01"))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=steps)
def test_every_balance_equals_its_ledger(practice, world, debts, stripe_keys, events, steps):
    with transaction.atomic():
        invoices = [debts.self_pay(name) for name in ("Consultation", "Follow-up", "Scan")]
        paid_intents: dict[str, int] = {}  # intent -> pence paid
        refunded_to: dict[str, int] = {}  # intent -> the last cumulative refund made
        made: list[dict] = []
        tag = f"{len(StripeEvent.objects.all())}"

        def deliver(event):
            services.handle_event(practice=practice, event=event)

        for step in steps:
            kind = step[0]
            try:
                if kind == "pay":
                    intent = f"pi_{tag}_{step[1]}"
                    if intent in paid_intents:
                        continue
                    paid_intents[intent] = step[2]
                    chosen = [invoices[i] for i in sorted(step[3])]
                    made.append(events.session_completed(intent, step[2], world.patient, chosen))
                    made.append(events.intent_succeeded(intent, step[2], world.patient, chosen))
                elif kind == "refund":
                    intent = f"pi_{tag}_{step[1]}"
                    if intent not in paid_intents:
                        continue
                    target = max(refunded_to.get(intent, 0), math.ceil(paid_intents[intent] * step[2] / 100))
                    refunded_to[intent] = target
                    made.append(events.charge_refunded(intent, paid_intents[intent], target))
                elif kind == "deliver" and made:
                    deliver(made[step[1] % len(made)])
                elif kind == "manual":
                    billing.record_payment(
                        invoice=invoices[step[1]],
                        amount=Decimal(step[2]) / 100,
                        received_on=invoices[step[1]].invoice_date,
                        method="cash",
                    )
                elif kind == "write_off":
                    request = receivables.request_write_off(
                        invoice=invoices[step[1]], amount=Decimal(step[2]) / 100, reason="Hardship"
                    )
                    receivables.approve_write_off(write_off=request)
                elif kind == "reverse":
                    open_entries = list(
                        WriteOffEntry.objects.filter(
                            invoice__in=invoices, reverses__isnull=True, reversed_by__isnull=True
                        ).order_by("id")
                    )
                    if open_entries:
                        receivables.reverse_write_off(entry=open_entries[step[1] % len(open_entries)], reason="Paid")
            except DomainError:
                pass  # refused by a rule (more than the balance, say): the ledger must still add up
        # Everything is delivered in the end, in the order made (after whatever came before).
        for event in made:
            deliver(event)

        for invoice in invoices:
            invoice = Invoice.objects.get(pk=invoice.pk)
            payments = _sum(Payment.objects.filter(invoice=invoice))
            refunds = _sum(CardRefundAllocation.objects.filter(invoice=invoice))
            written_off = _sum(WriteOffEntry.objects.filter(invoice=invoice))
            assert invoice.paid_total == payments - refunds
            assert invoice.written_off_total == written_off
            assert invoice.balance == invoice.total - (payments - refunds) - invoice.credited_total - written_off
            assert invoice.balance >= 0
            assert invoice.payment_outcome == payment_outcome_for(
                total=invoice.total,
                paid_total=invoice.paid_total,
                credited_total=invoice.credited_total,
                written_off_total=invoice.written_off_total,
            )
        for intent, pence in paid_intents.items():
            payment = CardPayment.objects.get(practice=practice, payment_intent=intent)
            assert payment.amount == Decimal(pence) / 100
            allocated = _sum(payment.allocations.all())
            taken_back = _sum(CardRefundAllocation.objects.filter(allocation__card_payment=payment))
            assert payment.amount - payment.refunded == allocated - taken_back + payment.unallocated
            assert payment.refunded == Decimal(refunded_to.get(intent, 0)) / 100
            assert _sum(payment.refunds.all()) == payment.refunded
        transaction.set_rollback(True)
