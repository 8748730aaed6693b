"""/api/v1/card-payments: the list (newest first, a page at a time, by patient, invoice and
status), one payment with its allocations and refunds, and a refund through Stripe; the billing
capability; another practice's payment a 404; a bad amount a 422 naming the field."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client

from openpractice.card_payments import services
from openpractice.card_payments.models import CardPayment, CardRefund
from openpractice.practices.roles import Role
from tests.token_api import TokenApi

pytestmark = pytest.mark.django_db
KEY = "sk_test_openpractice_secret"


@pytest.fixture
def biller_api(world, api_token_for):
    return TokenApi(api_token_for(world.user, world.practice))


def _paid_by_card(practice, world, stub, invoice=None):
    """A payment made on the stub's checkout page, its events applied (no endpoint registered)."""
    session = services.open_checkout(
        practice=practice, patient=world.patient, invoice=invoice, success_url="http://x/ok", cancel_url="http://x/no"
    )
    stub.app.pay(session.session_id)
    for event in list(stub.app.accounts[KEY].events.values()):
        services.handle_event(practice=practice, event=event)
    return CardPayment.objects.get(checkout_session=session)


def _recorded(practice, world, intent, amount, invoices):
    return services.record_card_payment(
        practice=practice,
        payment_intent=intent,
        amount=Decimal(amount),
        patient_id=world.patient.pk,
        invoice_ids=[i.pk for i in invoices],
    )


def test_the_list_is_newest_first_a_page_at_a_time(practice, world, debts, stripe_keys, biller_api):
    first, second = debts.self_pay("Consultation"), debts.self_pay("Follow-up")
    older = _recorded(practice, world, "pi_a", "50.00", [first])
    middle = _recorded(practice, world, "pi_b", "60.00", [second])
    newest = _recorded(practice, world, "pi_c", "10.00", [first])
    page = biller_api.get("/card-payments?limit=2").json()
    assert [r["id"] for r in page["rows"]] == [newest.pk, middle.pk] and page["next_after"] == middle.pk
    assert page["rows"][0] == {
        **page["rows"][0],
        "patient_id": world.patient.pk,
        "payment_intent": "pi_c",
        "amount": "10.00",
        "refundable": "10.00",
        "status": "paid",
    }
    rest = biller_api.get(f"/card-payments?limit=2&after={page['next_after']}").json()
    assert [r["id"] for r in rest["rows"]] == [older.pk] and rest["next_after"] is None


def test_the_list_filters_by_patient_invoice_and_status(
    practice, world, debts, stripe_keys, biller_api, make_member, insurer_contact
):
    first, second = debts.self_pay("Consultation"), debts.self_pay("Follow-up")
    on_first = _recorded(practice, world, "pi_a", "50.00", [first])
    on_second = _recorded(practice, world, "pi_b", "60.00", [second])
    CardPayment.objects.filter(pk=on_second.pk).update(refunded=Decimal("60.00"))
    found = biller_api.get(f"/card-payments?invoice_id={first.pk}").json()["rows"]
    assert [r["id"] for r in found] == [on_first.pk]
    assert [r["id"] for r in biller_api.get("/card-payments?status=refunded").json()["rows"]] == [on_second.pk]
    assert [r["id"] for r in biller_api.get("/card-payments?status=paid").json()["rows"]] == [on_first.pk]
    assert biller_api.get("/card-payments?status=part_refunded").json()["rows"] == []
    assert len(biller_api.get(f"/card-payments?patient_id={world.patient.pk}").json()["rows"]) == 2
    assert biller_api.get(f"/card-payments?patient_id={world.patient.pk + 1000}").json()["rows"] == []
    wrong = biller_api.get("/card-payments?status=lost")
    assert wrong.status_code == 422 and wrong.json()["detail"][0]["loc"][-1] == "status"


def test_one_payment_with_its_allocations_and_refunds(practice, world, debts, stripe_keys, stub, biller_api):
    invoice = debts.self_pay("Consultation")
    payment = _paid_by_card(practice, world, stub)
    services.refund_card_payment(practice=practice, card_payment=payment, amount=Decimal("30.00"), reason="Goodwill")
    found = biller_api.get(f"/card-payments/{payment.pk}")
    assert found.status_code == 200, found.content
    body = found.json()
    assert body["amount"] == "180.00" and body["refunded"] == "30.00" and body["refundable"] == "150.00"
    assert body["status"] == "part_refunded" and body["checkout_session"] == payment.checkout_session.session_id
    [allocation] = body["allocations"]
    assert allocation["invoice_id"] == invoice.pk and allocation["invoice_number"] == invoice.number
    assert allocation["amount"] == "180.00" and allocation["refunded"] == "30.00"
    [refund] = body["refunds"]
    assert refund["amount"] == "30.00" and refund["reason"] == "Goodwill" and refund["refund_id"].startswith("re_")


def test_refund_through_the_api(practice, world, debts, stripe_keys, stub, biller_api):
    invoice = debts.self_pay("Consultation")
    payment = _paid_by_card(practice, world, stub)
    made = biller_api.post(f"/card-payments/{payment.pk}/refunds", {"amount": "80.00", "reason": "Overcharged"})
    assert made.status_code == 201, made.content
    assert made.json()["refunded"] == "80.00" and made.json()["refunds"][0]["amount"] == "80.00"
    invoice.refresh_from_db()
    assert invoice.balance == Decimal("80.00")
    charge = next(iter(stub.app.accounts[KEY].charges.values()))
    assert charge["amount_refunded"] == 8000
    # The rest, then nothing more.
    assert biller_api.post(f"/card-payments/{payment.pk}/refunds", {"amount": "100", "reason": "x"}).status_code == 201
    over = biller_api.post(f"/card-payments/{payment.pk}/refunds", {"amount": "0.01", "reason": "x"})
    assert over.status_code == 422 and "at most £0.00" in over.json()["detail"][0]["msg"]
    assert CardRefund.objects.count() == 2


@pytest.mark.parametrize(
    ("amount", "says"),
    [
        ("0", "more than £0.00 and at most £180.00"),
        ("-5.00", "more than £0.00 and at most £180.00"),
        ("180.01", "more than £0.00 and at most £180.00"),
        ("12.345", "at most two decimal places"),
        ("ten pounds", 'such as "12.50"'),
        ("1e3", 'such as "12.50"'),
        ("", 'such as "12.50"'),
    ],
)
def test_a_bad_refund_amount_names_the_field(practice, world, debts, stripe_keys, stub, biller_api, amount, says):
    debts.self_pay("Consultation")
    payment = _paid_by_card(practice, world, stub)
    refused = biller_api.post(f"/card-payments/{payment.pk}/refunds", {"amount": amount, "reason": "Goodwill"})
    assert refused.status_code == 422
    [detail] = refused.json()["detail"]
    assert detail["loc"] == ["body", "amount"] and says in detail["msg"] and detail["type"] == "invalid"
    assert (
        not CardRefund.objects.exists() and next(iter(stub.app.accounts[KEY].charges.values()))["amount_refunded"] == 0
    )


def test_a_refund_needs_a_reason(practice, world, debts, stripe_keys, stub, biller_api):
    debts.self_pay("Consultation")
    payment = _paid_by_card(practice, world, stub)
    refused = biller_api.post(f"/card-payments/{payment.pk}/refunds", {"amount": "10.00", "reason": " "})
    assert refused.status_code == 422 and refused.json()["detail"][0]["loc"] == ["body", "reason"]


def test_another_practices_payment_is_404(
    practice, world, debts, stripe_keys, other_practice, other_owner, api_token_for
):
    invoice = debts.self_pay("Consultation")
    payment = _recorded(practice, world, "pi_secret", "50.00", [invoice])
    theirs = TokenApi(api_token_for(other_owner, other_practice))
    assert theirs.get(f"/card-payments/{payment.pk}").status_code == 404
    assert theirs.post(f"/card-payments/{payment.pk}/refunds", {"amount": "1.00", "reason": "x"}).status_code == 404
    assert theirs.get("/card-payments").json()["rows"] == []
    assert theirs.get(f"/card-payments?patient_id={world.patient.pk}").json()["rows"] == []
    payment.refresh_from_db()
    assert payment.refunded == 0


def test_the_billing_capability_is_needed(practice, world, debts, stripe_keys, make_member, api_token_for):
    invoice = debts.self_pay("Consultation")
    payment = _recorded(practice, world, "pi_x", "50.00", [invoice])
    receptionist = TokenApi(api_token_for(make_member(practice, Role.RECEPTIONIST), practice))
    assert receptionist.get("/card-payments").status_code == 403
    assert receptionist.get(f"/card-payments/{payment.pk}").status_code == 403
    assert receptionist.post(f"/card-payments/{payment.pk}/refunds", {"amount": "1", "reason": "x"}).status_code == 403
    assert Client().get("/api/v1/card-payments").status_code == 401
