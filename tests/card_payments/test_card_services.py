"""Card payments' services: keys at rest, the checkout through the stub, and each event applied
once whatever its repeats or order."""

from __future__ import annotations

from decimal import Decimal

import pytest
from card_helpers import WEBHOOK_SECRET

from openpractice.billing.models import Payment, PaymentOutcome
from openpractice.card_payments import services
from openpractice.card_payments.errors import CardPaymentError
from openpractice.card_payments.models import CardPayment, CardRefund, EventOutcome, StripeIntegration
from openpractice.receivables.models import AccountActivity, ActivityKind

pytestmark = pytest.mark.django_db


def test_keys_are_stored_encrypted_and_a_blank_keeps_them(practice, stripe_keys):
    row = StripeIntegration.objects.get(practice=practice)
    assert "sk_test_openpractice_secret" not in row.secret_key_encrypted
    assert WEBHOOK_SECRET not in row.webhook_secret_encrypted
    services.save_stripe_keys(practice=practice, publishable_key="pk_test_other", secret_key="", webhook_secret="")
    row.refresh_from_db()
    assert row.publishable_key == "pk_test_other" and row.secret_key_is_set and row.webhook_secret_is_set


def test_test_and_live_keys_are_never_mixed(practice):
    with pytest.raises(CardPaymentError) as refused:
        services.save_stripe_keys(practice=practice, publishable_key="pk_live_x", secret_key="sk_test_x")
    assert refused.value.field == "secret_key"
    with pytest.raises(CardPaymentError) as wrong:
        services.save_stripe_keys(practice=practice, publishable_key="sk_test_x", secret_key="sk_test_x")
    assert wrong.value.field == "publishable_key"


def test_connection_and_webhook_registration_through_the_stub(practice, stripe_keys, stub):
    ok, message = services.test_connection(practice=practice)
    assert ok, message
    services.register_webhook_endpoint(practice=practice, url="http://127.0.0.1:9/hook/")
    endpoint = next(iter(stub.app.accounts["sk_test_openpractice_secret"].endpoints.values()))
    from openpractice.card_payments.stripe_client import webhook_secret

    assert webhook_secret(StripeIntegration.objects.get(practice=practice)) == endpoint["secret"]


def test_a_wrong_secret_key_fails_the_test_with_stripes_words(practice, stub):
    services.save_stripe_keys(practice=practice, publishable_key="pk_live_x", secret_key="sk_live_nope")
    ok, message = services.test_connection(practice=practice)
    assert not ok and "Invalid API Key" in message and "sk_live_nope" not in message


def test_checkout_is_for_what_is_owed_now(practice, world, debts, stripe_keys, stub):
    first, second = debts.self_pay("Consultation"), debts.self_pay("Follow-up")
    session = services.open_checkout(
        practice=practice, patient=world.patient, success_url="http://x/ok", cancel_url="http://x/no"
    )
    assert session.amount == Decimal("300.50") and session.invoice_ids == [first.pk, second.pk]
    stubbed = stub.app.accounts["sk_test_openpractice_secret"].sessions[session.session_id]
    assert stubbed["amount_total"] == 30050 and stubbed["metadata"]["openpractice_patient"] == str(world.patient.pk)
    one = services.open_checkout(
        practice=practice, patient=world.patient, invoice=second, success_url="http://x/ok", cancel_url="http://x/no"
    )
    assert one.amount == Decimal("120.50")


def test_nothing_owed_opens_no_checkout(practice, world, stripe_keys, stub):
    with pytest.raises(CardPaymentError) as refused:
        services.open_checkout(practice=practice, patient=world.patient, success_url="http://x", cancel_url="http://x")
    assert refused.value.code == "nothing_owed"


def test_no_keys_no_checkout(practice, world, debts):
    debts.self_pay()
    with pytest.raises(CardPaymentError) as refused:
        services.open_checkout(practice=practice, patient=world.patient, success_url="http://x", cancel_url="http://x")
    assert refused.value.code == "not_set_up"


def test_both_events_of_a_payment_record_it_once(practice, world, debts, stripe_keys, events):
    invoice = debts.self_pay("Consultation")
    completed = events.session_completed("pi_1", 18000, world.patient, [invoice])
    succeeded = events.intent_succeeded("pi_1", 18000, world.patient, [invoice])
    for event in (succeeded, completed, succeeded, completed):
        services.handle_event(practice=practice, event=event)
    invoice.refresh_from_db()
    assert invoice.balance == 0 and invoice.payment_outcome == PaymentOutcome.PAID
    assert CardPayment.objects.count() == 1 and Payment.objects.filter(invoice=invoice).count() == 1
    assert AccountActivity.objects.filter(kind=ActivityKind.CARD_PAID, patient=world.patient).count() == 1


def test_a_repeat_is_recorded_nowhere(practice, world, debts, stripe_keys, events):
    invoice = debts.self_pay()
    event = events.intent_succeeded("pi_2", 18000, world.patient, [invoice])
    row, first = services.handle_event(practice=practice, event=event)
    again, first_again = services.handle_event(practice=practice, event=event)
    assert first and not first_again and row.pk == again.pk and row.outcome == EventOutcome.PROCESSED


def test_a_payment_goes_to_its_invoices_then_the_oldest_open_and_keeps_the_rest(
    practice, world, debts, stripe_keys, events
):
    import datetime as dt

    old = debts.self_pay("Follow-up", invoice_date=dt.date.today() - dt.timedelta(days=40))
    named = debts.self_pay("Consultation")
    services.handle_event(practice=practice, event=events.intent_succeeded("pi_3", 40000, world.patient, [named]))
    named.refresh_from_db()
    old.refresh_from_db()
    assert named.balance == 0 and old.balance == 0
    payment = CardPayment.objects.get(payment_intent="pi_3")
    assert payment.unallocated == Decimal("400.00") - Decimal("180.00") - Decimal("120.50")
    assert [a.invoice_id for a in payment.allocations.all()] == [named.pk, old.pk]


def test_a_refund_gives_back_the_unallocated_first_then_the_newest_allocation(
    practice, world, debts, stripe_keys, events
):
    invoice = debts.self_pay("Consultation")
    services.handle_event(practice=practice, event=events.intent_succeeded("pi_4", 20000, world.patient, [invoice]))
    services.handle_event(practice=practice, event=events.charge_refunded("pi_4", 20000, 5000, "re_1"))
    invoice.refresh_from_db()
    payment = CardPayment.objects.get(payment_intent="pi_4")
    assert payment.unallocated == 0 and payment.refunded == Decimal("50.00")
    assert invoice.balance == Decimal("30.00") and invoice.payment_outcome == PaymentOutcome.PART_PAID
    assert AccountActivity.objects.filter(kind=ActivityKind.CARD_REFUNDED).count() == 1


def test_refund_events_repeated_and_out_of_order_count_once(practice, world, debts, stripe_keys, events):
    invoice = debts.self_pay("Consultation")
    pay = events.intent_succeeded("pi_5", 18000, world.patient, [invoice])
    first_refund = events.charge_refunded("pi_5", 18000, 3000, "re_a")
    second_refund = events.charge_refunded("pi_5", 18000, 10000, "re_b")
    # The refunds arrive before the payment, the later one first, and everything twice.
    for event in (second_refund, first_refund, pay, second_refund, first_refund, pay):
        services.handle_event(practice=practice, event=event)
    invoice.refresh_from_db()
    payment = CardPayment.objects.get(payment_intent="pi_5")
    assert payment.refunded == Decimal("100.00") and invoice.balance == Decimal("100.00")
    assert sum(r.amount for r in CardRefund.objects.all()) == Decimal("100.00")


def test_an_event_for_another_practice_or_not_ours_is_ignored(
    practice, other_practice, world, debts, stripe_keys, events
):
    invoice = debts.self_pay()
    foreign = events.intent_succeeded("pi_6", 18000, world.patient, [invoice])
    foreign["data"]["object"]["metadata"]["openpractice_practice"] = str(other_practice.pk)
    row, _ = services.handle_event(practice=practice, event=foreign)
    assert row.outcome == EventOutcome.IGNORED and not CardPayment.objects.exists()


def test_refund_through_stripe_is_recorded_once_with_its_webhook(practice, world, debts, stripe_keys, stub):
    invoice = debts.self_pay("Consultation")
    session = services.open_checkout(
        practice=practice, patient=world.patient, success_url="http://x/ok", cancel_url="http://x/no"
    )
    stub.app.pay(session.session_id)  # no endpoint registered: the events are applied by hand below
    account = stub.app.accounts["sk_test_openpractice_secret"]
    for event in account.events.values():
        services.handle_event(practice=practice, event=event)
    payment = CardPayment.objects.get()
    services.refund_card_payment(practice=practice, card_payment=payment, amount=Decimal("80.00"), reason="Goodwill")
    for event in list(account.events.values()):
        services.handle_event(practice=practice, event=event)
    invoice.refresh_from_db()
    payment.refresh_from_db()
    assert payment.refunded == Decimal("80.00") and invoice.balance == Decimal("80.00")
    assert CardRefund.objects.count() == 1
