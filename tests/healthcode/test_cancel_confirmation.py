"""Cancel bill asks first: the invoice panel's button opens a page naming the bill and the insurer
(GET, reads only); only its POST cancels the bill at Healthcode."""

import pytest
from django.test import Client

from openpractice.billing.models import HealthcodeStatus
from openpractice.healthcode import submission as hc
from openpractice.healthcode.models import ApiExchange


def _client(email="billing@demo.openpractice.test"):
    from openpractice.accounts.models import User

    client = Client()
    client.force_login(User.objects.get(email=email))
    return client


@pytest.fixture
def sent_invoice(demo, make_invoice, healthcode_sandbox):
    invoice = make_invoice(last_name="Patel")
    hc.deliver(hc.submit_invoice(invoice=invoice, enqueue=False).pk)
    invoice.refresh_from_db()
    return invoice


def test_the_panel_button_asks_rather_than_cancels(demo, sent_invoice):
    page = _client().get(f"/invoices/{sent_invoice.pk}/").content.decode()
    assert f'<form method="get" action="/invoices/{sent_invoice.pk}/cancel/">' in page
    assert "Cancel bill…" in page


def test_the_question_names_the_bill_and_cancels_nothing(demo, sent_invoice):
    calls = ApiExchange.objects.count()
    answer = _client().get(f"/invoices/{sent_invoice.pk}/cancel/")
    assert answer.status_code == 200
    page = answer.content.decode()
    assert f"Cancel the bill for invoice {sent_invoice.number} to Aviva at Healthcode?" in page
    assert f"Cancel the bill for invoice {sent_invoice.number}</button>" in page
    sent_invoice.refresh_from_db()
    assert sent_invoice.healthcode_status != HealthcodeStatus.CANCELLED
    assert ApiExchange.objects.count() == calls  # asking never calls the clearing house


def test_the_post_cancels(demo, sent_invoice):
    answer = _client().post(f"/invoices/{sent_invoice.pk}/cancel/")
    assert answer.status_code == 302
    sent_invoice.refresh_from_db()
    assert sent_invoice.healthcode_status == HealthcodeStatus.CANCELLED


def test_another_practices_bill_is_not_found(demo, sent_invoice, make_practice, make_member):
    stranger = make_member(make_practice("Elsewhere Clinic"))
    client = Client()
    client.force_login(stranger)
    assert client.get(f"/invoices/{sent_invoice.pk}/cancel/").status_code == 404


def test_a_receptionist_cannot_open_it(demo, sent_invoice, make_member):
    from openpractice.practices.roles import Role

    client = Client()
    client.force_login(make_member(demo, role=Role.RECEPTIONIST))
    assert client.get(f"/invoices/{sent_invoice.pk}/cancel/").status_code == 403
