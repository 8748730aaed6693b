"""The invoice form's page and its running total, as a browser without JavaScript sees them:
practitioners only with the signed-in one first and chosen, a day case product's setting and
admission date asked for on the first save, the total shown before saving and equal to the saved
one. No clearing house needed."""

import datetime as dt
import json
import re
from decimal import Decimal
from html import unescape

import pytest
from django.test import Client

from openpractice.billing.models import Invoice
from openpractice.practices.roles import Role
from tests.billing.test_invoice_form_rules import Clinic

TODAY = dt.date.today().isoformat()


@pytest.fixture
def clinic(practice, make_member, insurer_contact):
    from openpractice.accounts.services import save_practitioner_profile

    clinic = Clinic(practice, make_member, insurer_contact)
    # A consultant who owns the practice: a practitioner (details with a Healthcode identifier)
    # with billing rights, which the practitioner role alone does not carry.
    save_practitioner_profile(membership=clinic.owner, healthcode_identifier="0712345")
    return clinic


def _client(membership):
    client = Client()
    client.force_login(membership.user)
    return client


def _options(html: str, name: str) -> list[tuple[str, bool]]:
    select = re.search(rf'<select name="{name}"[^>]*>(.*?)</select>', html, re.S).group(1)
    return [(label.strip(), "selected" in attrs) for attrs, label in re.findall(r"<option([^>]*)>([^<]*)<", select)]


def _form(clinic, **changes):
    data = {
        "patient": clinic.patient.pk,
        "bill_to": "insurer",
        "insurance": clinic.insurance.pk,
        "practitioner": clinic.owner.pk,
        "invoice_date": TODAY,
        "service_setting": "consulting_room",
        "payee_kind": "practitioner",
        "lines-TOTAL_FORMS": "2",
        "lines-INITIAL_FORMS": "0",
        "lines-0-product": clinic.knee.pk,
        "lines-0-service_date": TODAY,
        "lines-0-quantity": "1",
        "lines-1-product": "",
        "lines-1-service_date": "",
        "lines-1-quantity": "1",
    }
    data.update(changes)
    return data


def test_the_signed_in_practitioner_is_first_and_chosen_and_only_practitioners_are_listed(clinic):
    html = _client(clinic.owner).get(f"/invoices/new/?patient={clinic.patient.pk}").content.decode()
    assert _options(html, "practitioner") == [
        ("---------", False),
        ("Olivia Owner (0712345)", True),
        ("Dr Adam Able (no Healthcode identifier)", False),
        ("Dr Zara Young (0651978)", False),
    ]
    assert "Rita Reception" not in html and "Ben Biller" not in html


def test_a_biller_chooses_unless_the_practice_has_one_practitioner(clinic):
    biller = _client(clinic.biller)
    url = f"/invoices/new/?patient={clinic.patient.pk}"
    chosen = [label for label, selected in _options(biller.get(url).content.decode(), "practitioner") if selected]
    assert chosen == ["---------"]
    for gone in (clinic.adam, clinic.owner):
        gone.is_active = False
        gone.save()
    assert _options(biller.get(url).content.decode(), "practitioner")[1:] == [("Dr Zara Young (0651978)", True)]


def test_the_page_offers_the_stay_fields_and_the_script(clinic):
    html = _client(clinic.owner).get(f"/invoices/new/?patient={clinic.patient.pk}").content.decode()
    assert "js/invoice-form.js" in html and "data-stay-fields" in html
    settings = re.search(r'data-product-settings="([^"]*)"', html).group(1)
    assert json.loads(unescape(settings)) == {str(clinic.knee.pk): "daycase", str(clinic.hip.pk): "inpatient"}
    assert 'id="invoice-total"' in html and "£0.00" in html
    assert "<script>" not in html  # the strict CSP: no inline script


def test_a_day_case_product_is_caught_on_the_first_save(clinic):
    owner = _client(clinic.owner)
    url = f"/invoices/new/?patient={clinic.patient.pk}"
    response = owner.post(url, _form(clinic))
    assert response.status_code == 422
    html = response.content.decode()
    assert 'id="id_service_setting_error"' in html
    assert "Knee arthroscopy is day case surgery: choose Daycase" in html
    response = owner.post(url, _form(clinic, service_setting="daycase"))
    assert response.status_code == 422
    assert re.search(r'id="id_admission_date_error">Enter the admission date: a daycase bill needs it', response.text)
    assert not Invoice.objects.exists()
    response = owner.post(url, _form(clinic, service_setting="daycase", admission_date=TODAY))
    assert response.status_code == 302
    invoice = Invoice.objects.get()
    assert (invoice.service_setting, invoice.admission_date.isoformat(), invoice.total) == (
        "daycase",
        TODAY,
        Decimal("950.00"),
    )


def test_without_javascript_update_the_total_sets_the_setting_and_shows_no_errors_yet(clinic):
    response = _client(clinic.owner).post(
        f"/invoices/new/?patient={clinic.patient.pk}", _form(clinic, update_total="1", practitioner="")
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert re.search(r'<option value="daycase" selected>', html)
    assert 'class="error"' not in html  # errors wait for Save
    assert re.search(r'id="invoice-total" data-amount="950.00">£950.00<', html)
    assert not Invoice.objects.exists()


def test_the_running_total_is_the_saved_total(clinic):
    owner = _client(clinic.owner)
    data = _form(
        clinic,
        service_setting="daycase",
        admission_date=TODAY,
        **{
            "lines-0-quantity": "2",
            "lines-1-product": clinic.report.pk,
            "lines-1-service_date": TODAY,
            "lines-1-quantity": "3",
        },
    )
    quote = owner.post("/invoices/new/total/", data)
    assert quote.status_code == 200
    shown = re.search(r'id="invoice-total" data-amount="([\d.]+)">(£[\d,.]+)<', quote.text)
    assert shown.groups() == ("2259.96", "£2,259.96")  # 2 × 950.00 contract + 3 × 99.99 with 20% VAT
    assert "Bupa contract price" in quote.text and "list price" in quote.text
    assert not Invoice.objects.exists()  # the total writes nothing
    assert owner.post(f"/invoices/new/?patient={clinic.patient.pk}", data).status_code == 302
    assert Invoice.objects.get().total == Decimal(shown.group(1))


def test_the_running_total_for_the_patient_uses_list_prices_and_skips_unfinished_lines(clinic):
    data = _form(clinic, bill_to="patient", **{"lines-1-product": clinic.hip.pk, "lines-1-quantity": "0"})
    quote = _client(clinic.owner).post("/invoices/new/total/", data)
    assert re.search(r'id="invoice-total" data-amount="1100.00">£1,100.00<', quote.text)
    assert "left out of the total" in quote.text


def test_the_running_total_is_for_billers_of_this_practice_only(clinic, make_practice, make_member):
    data = _form(clinic)
    assert _client(clinic.reception).post("/invoices/new/total/", data).status_code == 403
    assert _client(clinic.owner).get("/invoices/new/total/").status_code == 405
    other = make_practice("Elsewhere")
    stranger = make_member(other, Role.OWNER, email="owner@elsewhere.test")
    client = Client()
    client.force_login(stranger)
    assert client.post("/invoices/new/total/", data).status_code == 404
