"""Invoice pages: create from a patient, detail with the check, PDF, permissions and tenancy."""

import datetime as dt

import pytest
from django.test import Client

from openpractice.billing.models import Invoice
from openpractice.patients.models import Patient
from openpractice.practices.models import Membership
from openpractice.products.models import Product


def _client(email):
    from openpractice.accounts.models import User

    client = Client()
    client.force_login(User.objects.get(email=email))
    return client


@pytest.fixture
def biller(demo):
    return _client("billing@demo.openpractice.test")


def test_create_an_insurer_invoice_from_the_patient(demo, biller):
    patient = Patient.objects.get(practice=demo, last_name="Bennett")
    assert biller.get(f"/patients/{patient.pk}/invoices/").status_code == 200
    page = biller.get(f"/invoices/new/?patient={patient.pk}")
    assert page.status_code == 200 and b"Service setting" in page.content
    insurance = patient.relationships.get(relationship_type="insurance")
    product = Product.objects.get(practice=demo, name="Initial consultation")
    doctor = Membership.objects.get(practice=demo, user__email="dr.patel@demo.openpractice.test")
    today = dt.date.today().isoformat()
    response = biller.post(
        f"/invoices/new/?patient={patient.pk}",
        {
            "patient": patient.pk,
            "bill_to": "insurer",
            "insurance": insurance.pk,
            "practitioner": doctor.pk,
            "invoice_date": today,
            "service_setting": "outpatient",
            "primary_diagnosis": "M17.1",
            "payee_kind": "practitioner",
            "lines-TOTAL_FORMS": "2",
            "lines-INITIAL_FORMS": "0",
            "lines-0-product": product.pk,
            "lines-0-service_date": today,
            "lines-0-quantity": "1",
            "lines-1-product": "",
            "lines-1-service_date": "",
            "lines-1-quantity": "1",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    invoice = Invoice.objects.get(practice=demo, patient=patient)
    assert str(invoice.total) == "180.00" and invoice.lines.get().price_source == "contract"
    detail = biller.get(f"/invoices/{invoice.pk}/")
    assert detail.status_code == 200
    assert b"Pre-submission check" in detail.content and b"Submit to Healthcode" in detail.content
    pdf = biller.get(f"/invoices/{invoice.pk}/pdf/")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert biller.get("/invoices/").status_code == 200
    assert biller.get("/invoices/?view=not_ready").status_code == 200
    assert biller.get("/invoices/?healthcode_status=failed&age=0-30").status_code == 200


def test_form_errors_name_the_field(demo, biller):
    patient = Patient.objects.get(practice=demo, last_name="Bennett")
    response = biller.post(
        f"/invoices/new/?patient={patient.pk}",
        {
            "patient": patient.pk,
            "bill_to": "insurer",
            "invoice_date": "",
            "service_setting": "outpatient",
            "payee_kind": "practitioner",
            "lines-TOTAL_FORMS": "1",
            "lines-INITIAL_FORMS": "0",
            "lines-0-product": "",
            "lines-0-service_date": "",
            "lines-0-quantity": "1",
        },
    )
    assert response.status_code == 422
    assert b'id="id_invoice_date_error"' in response.content and b'id="id_practitioner_error"' in response.content
    assert not Invoice.objects.exists()


def test_receptionist_cannot_raise_invoices(demo):
    reception = _client("reception@demo.openpractice.test")
    assert reception.get("/invoices/").status_code == 200
    assert reception.get("/invoices/new/").status_code == 403


def test_another_practices_invoice_is_404(demo, make_invoice, make_practice, make_member):
    from openpractice.practices.roles import Role

    invoice = make_invoice()
    other = make_practice("Elsewhere")
    stranger = make_member(other, Role.OWNER, email="owner@elsewhere.test")
    client = Client()
    client.force_login(stranger)
    for url in (f"/invoices/{invoice.pk}/", f"/invoices/{invoice.pk}/pdf/", f"/invoices/{invoice.pk}/edit/"):
        assert client.get(url).status_code == 404, url
    assert client.post(f"/invoices/{invoice.pk}/submit/").status_code == 404
