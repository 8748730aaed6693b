"""Submit to Healthcode asks first: the invoice panel's button opens a confirmation (GET, reads
only) with the bill's summary and what will happen; only its POST sends the bill."""

import datetime as dt
import re

import httpx
import pytest
from django.test import Client

from openpractice.billing.models import RecordStatus
from openpractice.healthcode.models import ApiExchange, Submission


def _client(email="billing@demo.openpractice.test"):
    from openpractice.accounts.models import User

    client = Client()
    client.force_login(User.objects.get(email=email))
    return client


@pytest.fixture
def passing_invoice(demo, make_invoice, healthcode_sandbox):
    invoice = make_invoice(quantity=2)
    # Bupa keeps a member database: its answer for these details lets the check pass.
    assert _client().post(f"/invoices/{invoice.pk}/check-membership/").status_code == 302
    return invoice


def test_the_panel_button_opens_the_confirmation_with_the_bills_summary(passing_invoice, monkeypatch):
    invoice = passing_invoice
    biller = _client()
    panel = biller.get(f"/invoices/{invoice.pk}/").content.decode()
    assert re.search(
        rf'<form method="get" action="/invoices/{invoice.pk}/submit/"><button type="submit" id="submit-healthcode" >',
        panel,
    )

    calls = []
    monkeypatch.setattr(httpx.Client, "send", lambda self, request, *a, **k: calls.append(request.url))
    exchanges = ApiExchange.objects.count()
    page = biller.get(f"/invoices/{invoice.pk}/submit/")
    assert page.status_code == 200
    html = page.content.decode()
    summary = re.search(r'id="submit-summary">(.*?)</section>', html, re.S).group(1)
    for shown in (
        "Oliver Bennett",  # patient
        "Bupa",  # insurer
        "<code>bup</code>",
        "10000001",  # membership number
        "Dr Asha Patel (0651978)",  # practitioner
        "Initial consultation",  # the line
        '<strong id="submit-total">£360.00</strong>',  # 2 × Bupa's 180.00
    ):
        assert shown in summary, shown
    assert "The draft is issued first" in html and "as version 1" in html
    assert 'id="confirm-submit"' in html and f'action="/invoices/{invoice.pk}/submit/"' in html
    # Opening the confirmation sent nothing and wrote nothing.
    assert calls == [] and not Submission.objects.exists() and ApiExchange.objects.count() == exchanges
    invoice.refresh_from_db()
    assert invoice.record_status == RecordStatus.DRAFT


def test_confirming_sends_the_bill(passing_invoice):
    response = _client().post(f"/invoices/{passing_invoice.pk}/submit/")
    assert response.status_code == 302 and response["Location"] == f"/invoices/{passing_invoice.pk}/"
    assert Submission.objects.filter(invoice=passing_invoice, version=1).count() == 1


def test_a_bill_that_fails_the_check_is_not_offered(demo, make_invoice):
    invoice = make_invoice(service_date=dt.date.today() + dt.timedelta(days=3))  # FDOS after today
    html = _client().get(f"/invoices/{invoice.pk}/submit/").content.decode()
    assert 'id="confirm-submit"' not in html
    assert re.search(r'id="submit-refused">The pre-submission check found \d+ problem', html)


def test_a_patient_bill_has_nothing_to_confirm(demo, make_invoice):
    invoice = make_invoice(bill_to="patient")
    html = _client().get(f"/invoices/{invoice.pk}/submit/").content.decode()
    assert "only an insurer's bill goes to Healthcode" in html and 'id="confirm-submit"' not in html


def test_the_confirmation_is_for_billers_of_this_practice(demo, make_invoice, make_practice, make_member):
    from openpractice.practices.roles import Role

    invoice = make_invoice()
    assert _client("reception@demo.openpractice.test").get(f"/invoices/{invoice.pk}/submit/").status_code == 403
    stranger = make_member(make_practice("Elsewhere"), Role.OWNER, email="owner@elsewhere.test")
    client = Client()
    client.force_login(stranger)
    assert client.get(f"/invoices/{invoice.pk}/submit/").status_code == 404
