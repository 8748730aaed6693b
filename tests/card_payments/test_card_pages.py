"""The webhook edge (signature, repeats, order), the pay link's pages, the settings page and the
link on the invoice PDF and the account page."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest
from card_helpers import signed
from django.template.loader import render_to_string
from django.test import Client
from django.urls import reverse

from openpractice.card_payments import links
from openpractice.card_payments.models import CardPayment, CheckoutSession, StripeEvent

pytestmark = pytest.mark.django_db


def _post(url, event, **kwargs):
    payload, header = signed(event, **kwargs)
    return Client().post(url, data=payload, content_type="application/json", HTTP_STRIPE_SIGNATURE=header)


@pytest.fixture
def hook(stripe_keys):
    return reverse("card_payments:webhook", kwargs={"key": stripe_keys.webhook_key})


def test_a_signed_event_is_recorded_and_a_repeat_says_so(world, debts, events, hook):
    invoice = debts.self_pay()
    event = events.intent_succeeded("pi_w1", 18000, world.patient, [invoice])
    first = _post(hook, event)
    assert first.status_code == 200 and first.json()["repeat"] is False, first.content
    again = _post(hook, event)
    assert again.status_code == 200 and again.json()["repeat"] is True
    invoice.refresh_from_db()
    assert invoice.balance == 0 and CardPayment.objects.count() == 1


def test_a_bad_signature_is_400_with_words_and_records_nothing(world, debts, events, hook):
    invoice = debts.self_pay()
    event = events.intent_succeeded("pi_w2", 18000, world.patient, [invoice])
    answer = _post(hook, event, secret="whsec_someone_else")
    assert answer.status_code == 400
    assert "Stripe-Signature header did not verify" in answer.json()["error"]
    missing = Client().post(hook, data=b"{}", content_type="application/json")
    assert missing.status_code == 400 and "did not verify" in missing.json()["error"]
    stale = _post(hook, event, timestamp=int(time.time()) - 3600)
    assert stale.status_code == 400
    assert not StripeEvent.objects.exists() and not CardPayment.objects.exists()


def test_a_tampered_body_fails_its_signature(world, debts, events, hook):
    invoice = debts.self_pay()
    payload, header = signed(events.intent_succeeded("pi_w3", 100, world.patient, [invoice]))
    tampered = payload.replace(b'"amount_received": 100', b'"amount_received": 18000')
    answer = Client().post(hook, data=tampered, content_type="application/json", HTTP_STRIPE_SIGNATURE=header)
    assert answer.status_code == 400


def test_an_unknown_endpoint_is_404(events):
    answer = Client().post("/payments/stripe/webhook/nope/", data=b"{}", content_type="application/json")
    assert answer.status_code == 404


def test_events_in_any_order_settle_the_same(world, debts, events, hook):
    invoice = debts.self_pay("Consultation")
    sequence = [
        events.charge_refunded("pi_w4", 18000, 6000, "re_x"),
        events.session_completed("pi_w4", 18000, world.patient, [invoice]),
        events.intent_succeeded("pi_w4", 18000, world.patient, [invoice]),
    ]
    for event in sequence + sequence[::-1]:
        assert _post(hook, event).status_code == 200
    invoice.refresh_from_db()
    assert invoice.balance == Decimal("60.00")


def test_the_pay_page_shows_what_is_owed_and_writes_nothing(practice, world, debts, stripe_keys):
    invoice = debts.self_pay("Consultation")
    url = links.pay_url(practice_id=practice.pk, patient_id=world.patient.pk, base_url="http://testserver")
    page = Client().get(url)
    assert page.status_code == 200
    assert invoice.number in page.content.decode() and "Pay £180.00 by card" in page.content.decode()
    assert not CheckoutSession.objects.exists()


def test_the_pay_button_goes_to_stripe_checkout(practice, world, debts, stripe_keys, stub):
    debts.self_pay("Consultation")
    url = links.pay_url(practice_id=practice.pk, patient_id=world.patient.pk, base_url="http://testserver")
    answer = Client(enforce_csrf_checks=False).post(url)
    assert answer.status_code == 302 and answer["Location"].startswith(stub.url + "/pay/cs_test_")


def test_a_forged_or_foreign_link_is_404(practice, other_practice, world, stripe_keys):
    assert Client().get("/pay/not-a-token/").status_code == 404
    forged = links.token_for(practice_id=other_practice.pk, patient_id=world.patient.pk)
    assert Client().get(f"/pay/{forged}/").status_code == 404


def test_nothing_owed_says_so(practice, world, stripe_keys):
    url = links.pay_url(practice_id=practice.pk, patient_id=world.patient.pk, base_url="http://testserver")
    assert "Nothing to pay" in Client().get(url).content.decode()


def test_settings_never_echo_the_secrets(owner_client, stripe_keys):
    page = owner_client.get(reverse("card_payments:settings")).content.decode()
    assert "sk_test_openpractice_secret" not in page and "whsec_test" not in page
    assert reverse("card_payments:webhook", kwargs={"key": stripe_keys.webhook_key}) in page
    integrations = owner_client.get(reverse("healthcode:integrations")).content.decode()
    assert "Stripe" in integrations and "sk_test_openpractice_secret" not in integrations


def test_settings_save_keys(owner_client, practice):
    answer = owner_client.post(
        reverse("card_payments:settings"),
        {"publishable_key": "pk_test_a", "secret_key": "sk_test_b", "webhook_secret": "whsec_c"},
    )
    assert answer.status_code == 302
    wrong = owner_client.post(reverse("card_payments:settings"), {"publishable_key": "pk_test_a", "secret_key": "nope"})
    assert "Stripe&#x27;s start with sk_test_" in wrong.content.decode()


def test_settings_need_the_integrations_capability(receptionist_client):
    assert receptionist_client.get(reverse("card_payments:settings")).status_code == 403


def test_the_invoice_pdf_and_the_account_page_carry_the_link(practice, world, debts, stripe_keys, client_for, biller):
    invoice = debts.self_pay("Consultation")
    html = render_to_string("billing/pdf.html", {"invoice": invoice, "practice": practice})
    assert "Pay online by card" in html and "/pay/" in html
    account = client_for(biller).get(reverse("receivables:patient_account", args=[world.patient.pk]))
    assert 'id="patient-pay-link"' in account.content.decode()


def test_no_link_without_stripe_or_on_an_insurer_bill(practice, world, debts):
    invoice = debts.self_pay("Consultation")
    assert "/pay/" not in render_to_string("billing/pdf.html", {"invoice": invoice, "practice": practice})
    insurer_bill = world.invoice("Consultation")
    assert "/pay/" not in render_to_string("billing/pdf.html", {"invoice": insurer_bill, "practice": practice})


def test_the_thank_you_page_says_received_once_recorded(practice, world, debts, stripe_keys, stub, events):
    invoice = debts.self_pay("Consultation")
    link = links.pay_url(practice_id=practice.pk, patient_id=world.patient.pk, base_url="http://testserver")
    Client().post(link)
    session = CheckoutSession.objects.get()
    done = f"{link}done/?session={session.session_id}"
    assert "being confirmed" in Client().get(done).content.decode()
    intent = "pi_thanks"
    for event in (
        events.intent_succeeded(intent, 18000, world.patient, [invoice]),
        events.session_completed(intent, 18000, world.patient, [invoice], session=session.session_id),
    ):
        assert (
            _post(reverse("card_payments:webhook", kwargs={"key": stripe_keys.webhook_key}), event).status_code == 200
        )
    assert "is received" in Client().get(done).content.decode()


def test_the_chase_templates_carry_the_pay_link(practice, world, stripe_keys):
    from openpractice.receivables.selectors import merge_fields

    link = merge_fields(practice=practice, patient=world.patient)["payment_link"]
    assert link.startswith("http") and "/pay/" in link and links.read_token(link.rsplit("/pay/")[1].strip("/"))


def test_without_stripe_the_templates_say_where_the_link_will_go(practice, world):
    from openpractice.receivables.selectors import merge_fields

    assert merge_fields(practice=practice, patient=world.patient)["payment_link"] == "[payment link]"


def test_the_statement_carries_the_pay_link(practice, world, debts, stripe_keys):
    from openpractice.receivables import statements

    debts.self_pay("Consultation")
    statement = statements.build_statement(practice=practice, patient=world.patient)
    assert "/pay/" in statement.payment_link
    assert statement.payment_link in statements.statements_html([statement])


def test_the_invoice_page_lists_card_refunds_against_its_payments(
    world, debts, events, stripe_keys, client_for, biller
):
    from openpractice.card_payments import services

    invoice = debts.self_pay("Consultation")
    services.handle_event(
        practice=world.practice, event=events.intent_succeeded("pi_inv", 18000, world.patient, [invoice])
    )
    services.handle_event(practice=world.practice, event=events.charge_refunded("pi_inv", 18000, 2500, "re_inv"))
    page = client_for(biller).get(reverse("billing:detail", args=[invoice.pk])).content.decode()
    assert "Card refund · Stripe pi_inv" in page and "−£25.00" in page
