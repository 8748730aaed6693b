"""The pay link's button: the still-open Checkout Session is reused for the same link and amount;
opening new ones is limited per link and per client address (429 with words on the page)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from openpractice.card_payments import links, services, throttle
from openpractice.card_payments.errors import CardPaymentError, TooManyAttempts
from openpractice.card_payments.models import CheckoutSession, CheckoutStatus

pytestmark = pytest.mark.django_db

KEY = "sk_test_openpractice_secret"


def _open(practice, patient, invoice=None, client_ip=""):
    return services.open_checkout(
        practice=practice,
        patient=patient,
        invoice=invoice,
        success_url="http://x/ok",
        cancel_url="http://x/no",
        client_ip=client_ip,
    )


def _close_all():
    """As if every session so far had expired (the next press must open a new one)."""
    CheckoutSession.objects.update(status=CheckoutStatus.EXPIRED)


@pytest.fixture
def few(monkeypatch):
    monkeypatch.setattr(throttle, "PER_LINK", 2)
    monkeypatch.setattr(throttle, "PER_ADDRESS", 3)


# -- reuse ---------------------------------------------------------------------------------------
def test_pressing_again_reuses_the_open_session(practice, world, debts, stripe_keys, stub):
    debts.self_pay("Consultation")
    first = _open(practice, world.patient)
    again = _open(practice, world.patient)
    assert again.pk == first.pk and CheckoutSession.objects.count() == 1
    assert len(stub.app.accounts[KEY].sessions) == 1
    assert first.expires_at is not None and first.expires_at > timezone.now() + dt.timedelta(hours=23)


def test_a_different_amount_opens_a_new_session(practice, world, debts, stripe_keys, stub):
    invoice = debts.self_pay("Consultation")
    first = _open(practice, world.patient)
    debts.pay(invoice, "30.00")  # paid in part meanwhile: £150 owed now
    second = _open(practice, world.patient)
    assert second.pk != first.pk and second.amount == Decimal("150.00")
    debts.self_pay("Follow-up")  # another invoice: the account total changes
    third = _open(practice, world.patient)
    assert third.pk not in (first.pk, second.pk) and third.amount == Decimal("270.50")


def test_the_invoice_link_and_the_account_link_keep_their_own_sessions(practice, world, debts, stripe_keys, stub):
    invoice = debts.self_pay("Consultation")
    everything = _open(practice, world.patient)
    one = _open(practice, world.patient, invoice)
    assert one.pk != everything.pk and one.amount == everything.amount
    assert _open(practice, world.patient, invoice).pk == one.pk
    assert _open(practice, world.patient).pk == everything.pk


def test_a_session_stripe_expired_is_not_reused(practice, world, debts, stripe_keys, stub):
    debts.self_pay()
    first = _open(practice, world.patient)
    stub.app.accounts[KEY].sessions[first.session_id]["status"] = "expired"  # its event was never heard
    second = _open(practice, world.patient)
    first.refresh_from_db()
    assert second.pk != first.pk and first.status == CheckoutStatus.EXPIRED


def test_a_session_about_to_expire_is_not_handed_out(practice, world, debts, stripe_keys, stub):
    debts.self_pay()
    first = _open(practice, world.patient)
    CheckoutSession.objects.filter(pk=first.pk).update(expires_at=timezone.now() + dt.timedelta(minutes=5))
    assert _open(practice, world.patient).pk != first.pk


def test_a_session_just_paid_is_not_opened_again(practice, world, debts, stripe_keys, stub):
    debts.self_pay()
    first = _open(practice, world.patient)
    stub.app.pay(first.session_id)  # paid at Stripe; its webhook not here yet
    with pytest.raises(CardPaymentError) as refused:
        _open(practice, world.patient)
    assert refused.value.code == "already_paid" and "just been paid" in refused.value.message
    assert CheckoutSession.objects.count() == 1


# -- the limit -----------------------------------------------------------------------------------
def test_new_sessions_are_limited_per_link(practice, world, debts, stripe_keys, stub, few):
    invoice = debts.self_pay()
    for _ in range(2):
        _open(practice, world.patient)
        _close_all()
    with pytest.raises(TooManyAttempts) as refused:
        _open(practice, world.patient)
    assert refused.value.code == "throttled" and 0 < refused.value.retry_after <= throttle.WINDOW_SECONDS
    assert refused.value.message.startswith("Too many attempts to pay: try again in ")
    assert CheckoutSession.objects.count() == 2 and len(stub.app.accounts[KEY].sessions) == 2
    # Another link (the one invoice's) counts on its own.
    assert _open(practice, world.patient, invoice).invoice_id == invoice.pk


def test_reusing_the_open_session_is_not_counted(practice, world, debts, stripe_keys, stub, few):
    debts.self_pay()
    first = _open(practice, world.patient)
    for _ in range(5):
        assert _open(practice, world.patient).pk == first.pk


def test_new_sessions_are_limited_per_address(practice, world, debts, stripe_keys, stub, few):
    invoice = debts.self_pay("Consultation")
    other = debts.self_pay("Follow-up")
    _open(practice, world.patient, client_ip="203.0.113.9")
    _open(practice, world.patient, invoice, client_ip="203.0.113.9")
    _open(practice, world.patient, other, client_ip="203.0.113.9")
    _close_all()
    with pytest.raises(TooManyAttempts):
        _open(practice, world.patient, client_ip="203.0.113.9")
    assert _open(practice, world.patient, client_ip="198.51.100.7").amount == Decimal("300.50")


def test_the_wait_is_in_minutes_to_the_window_end():
    assert throttle.seconds_left(now=1200.0) == 600 and throttle.seconds_left(now=1799.5) == 1
    assert throttle.in_minutes(600) == "10 minutes" and throttle.in_minutes(59) == "1 minute"
    assert throttle.in_minutes(61) == "2 minutes"


# -- the page ------------------------------------------------------------------------------------
def _pay_url(practice, patient, invoice=None):
    return links.pay_url(
        practice_id=practice.pk, patient_id=patient.pk, invoice_id=invoice and invoice.pk, base_url="http://testserver"
    )


def test_several_presses_go_to_one_session(practice, world, debts, stripe_keys, stub):
    debts.self_pay()
    url = _pay_url(practice, world.patient)
    answers = [Client().post(url) for _ in range(4)]
    assert {a.status_code for a in answers} == {302}
    assert len({a["Location"] for a in answers}) == 1
    assert CheckoutSession.objects.count() == 1 and len(stub.app.accounts[KEY].sessions) == 1


def test_over_the_limit_the_page_says_wait_with_429(practice, world, debts, stripe_keys, stub, monkeypatch):
    monkeypatch.setattr(throttle, "PER_LINK", 2)
    invoice = debts.self_pay()
    url = _pay_url(practice, world.patient)
    for _ in range(2):
        assert Client().post(url).status_code == 302
        _close_all()
    page = Client().post(url)
    assert page.status_code == 429 and 0 < int(page["Retry-After"]) <= throttle.WINDOW_SECONDS
    text = page.content.decode()
    assert "Too many attempts to pay: try again in " in text and " minute" in text
    assert CheckoutSession.objects.count() == 2
    # A different token (the invoice's own link) is not affected.
    answer = Client().post(_pay_url(practice, world.patient, invoice))
    assert answer.status_code == 302 and answer["Location"].startswith(stub.url + "/pay/cs_test_")
    # Nor is looking at the page.
    assert Client().get(url).status_code == 200
