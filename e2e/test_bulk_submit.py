"""Bulk: the biller ticks invoices in the list, submits them all, and reads the summary; the
"Not ready to submit" tab says why the others were held back."""

import datetime as dt

import pytest
from playwright.sync_api import expect

from e2e.conftest import IMMEDIATE_TASKS
from e2e.test_invoice_to_collected import _demo_practice_on
from openpractice.home.management.commands.seed_demo import DEMO_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_bulk_submit_with_progress_and_summary(
    page,
    live_server,
    login,
    screenshot,
    console_errors,
    sandbox,  # noqa: F811 (the fixture)
    settings,
):
    from openpractice.billing import services
    from openpractice.patients.models import Patient, PatientRelationship
    from openpractice.practices.models import Membership
    from openpractice.products.models import Product

    settings.TASKS = IMMEDIATE_TASKS
    practice = _demo_practice_on(sandbox)
    PatientRelationship.objects.filter(practice=practice, registration_number="10000011").update(
        registration_number="10000001", registration_key="10000001"
    )
    doctor = Membership.objects.get(practice=practice, user__email__startswith="dr.patel")
    consultation = Product.objects.get(practice=practice, name="Initial consultation")
    today = dt.date.today()
    for last_name in ["Bennett", "Clarke", "Patel", "Robinson", "Turner"]:
        patient = Patient.objects.get(practice=practice, last_name=last_name)
        day = today + dt.timedelta(days=3) if last_name == "Turner" else today  # Turner's is dated ahead
        services.create_invoice(
            practice=practice,
            data={
                "bill_to": "insurer",
                "patient": patient,
                "insurance": patient.relationships.get(relationship_type="insurance"),
                "practitioner": doctor,
                "invoice_date": today,
                "primary_diagnosis": "M17.1",
                "service_setting": "outpatient",
            },
            lines=[{"product": consultation, "service_date": day, "quantity": 1}],
        )
    login("billing@demo.openpractice.test", DEMO_PASSWORD)
    page.goto(f"{live_server.url}/invoices/?view=not_ready")
    expect(page.locator("table.data")).to_contain_text("Turner")
    expect(page.locator("table.data")).to_contain_text("FDOS")
    screenshot(page, "invoices-not-ready")

    page.goto(f"{live_server.url}/invoices/")
    page.get_by_label("Select all").check()
    expect(page.get_by_role("button", name="Submit 5 selected to Healthcode")).to_be_visible()
    screenshot(page, "invoices-selected")
    page.get_by_role("button", name="Submit 5 selected to Healthcode").click()
    expect(page.locator("#bulk-count")).to_have_text("5")  # asked first: how many, to whom, how much
    page.get_by_role("button", name="Send 5 bills to Healthcode").click()
    expect(page.locator("#bulk-progress")).to_contain_text("4 of 4 answered")
    expect(page.locator("#bulk-accepted")).to_have_text("4")
    expect(page.locator("main")).to_contain_text("Not sent (1)")
    screenshot(page, "bulk-summary")
    assert console_errors == []
