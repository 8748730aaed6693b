"""Must show (issue 16): underpayment or patient liability. Two Bupa bills for the initial
consultation (contract price £180.00) come back part-paid on remittances: one paid £150.00 "at
the insurer's fee schedule" (below the contract price: an insurer underpayment), one paid £130.00
with "Policy excess applies" (the patient's). The underpayment appears on the insurer dispute list
with its letter, and never reaches the patient's account; the excess moves to the patient."""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from openpractice.home.management.commands.seed_demo import DEMO_PASSWORD, DEMO_PRACTICE, _shortfall_remittance

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _remitted(practice, patient, paid: str, reason: str, code: str):
    """A Bupa bill for the initial consultation, part-paid by a posted remittance."""
    from openpractice.billing import services as billing
    from openpractice.practices.models import Membership
    from openpractice.products.models import Product
    from openpractice.remittances import services as remittances

    insurance = next(r for r in patient.relationships.all() if r.relationship_type == "insurance")
    doctor = Membership.objects.get(practice=practice, user__email__startswith="dr.patel")
    day = dt.date.today()
    invoice = billing.issue_invoice(
        invoice=billing.create_invoice(
            practice=practice,
            data={
                "bill_to": "insurer",
                "patient": patient,
                "insurance": insurance,
                "practitioner": doctor,
                "invoice_date": day,
                "primary_diagnosis": "M17.1",
            },
            lines=[
                {
                    "product": Product.objects.get(practice=practice, name="Initial consultation"),
                    "service_date": day,
                    "quantity": 1,
                }
            ],
        )
    )
    body = _shortfall_remittance(invoice, "bup", insurance.registration_number, Decimal(paid), reason, day)
    body["entry"][1]["resource"]["item"][0]["adjudication"][2]["reason"]["coding"][0]["code"] = code
    batch, _ = remittances.store_batch(
        practice=practice, source="clearing_house", external_id=body["id"], raw_payload=json.dumps(body)
    )
    remittances.post_batch(batch_id=batch.pk)
    return invoice


def test_underpayment_to_the_dispute_list_and_excess_to_the_patient(
    page, live_server, login, screenshot, console_errors
):
    from openpractice.patients.models import Patient
    from openpractice.practices.models import Practice

    call_command("load_reference_codes")
    call_command("seed_demo", "--no-history")
    practice = Practice.objects.get(name=DEMO_PRACTICE)
    patient = Patient.objects.get(practice=practice, last_name="Clarke")
    under = _remitted(practice, patient, "150.00", "Paid at the insurer's fee schedule", "fee-schedule")
    excess = _remitted(practice, patient, "130.00", "Policy excess applies", "benefit-maximum")
    login("billing@demo.openpractice.test", DEMO_PASSWORD)

    # The shortfalls page tells them apart: only the excess can be moved to the patient.
    page.goto(f"{live_server.url}/remittances/shortfalls/")
    under_row = page.get_by_role("row", name=re.compile(under.number))
    excess_row = page.get_by_role("row", name=re.compile(excess.number))
    expect(under_row).to_contain_text("Insurer underpayment")
    expect(under_row.get_by_role("button", name="Move to patient")).to_have_count(0)
    expect(excess_row).to_contain_text("Patient liability")
    screenshot(page, "shortfalls-classified")
    excess_row.get_by_role("button", name="Move to patient").click()
    page.wait_for_load_state("networkidle")
    expect(page.get_by_text(re.compile(r"£50\.00 moved to the patient"))).to_be_visible()

    # The underpayment is on the insurer dispute list, with what to send the insurer.
    page.goto(f"{live_server.url}/collections/disputes/")
    row = page.get_by_role("row", name=re.compile(under.number))
    expect(row).to_contain_text("£30.00")
    expect(row).to_contain_text("£180.00")
    expect(row).to_contain_text("Raised")
    screenshot(page, "insurer-disputes")
    row.get_by_role("link", name=under.number).click()
    letter = page.get_by_label("Letter or email")
    expect(letter).to_have_value(re.compile(r"Contract price:\s+£180\.00"))
    expect(letter).to_have_value(re.compile(r"Paid:\s+£150\.00"))
    expect(letter).to_have_value(re.compile(r"Difference owed:\s+£30\.00"))
    expect(letter).to_have_value(re.compile(f"BACS-DEMO-{under.pk:05d}"))
    screenshot(page, "insurer-dispute")
    page.get_by_role("button", name="Mark as sent").click()
    page.wait_for_load_state("networkidle")
    expect(page.locator("#dispute-status")).to_have_text("Sent to the insurer")

    # The patient's account carries the excess only: the underpayment never reached it.
    page.goto(f"{live_server.url}/patients/{patient.pk}/account/")
    expect(page.get_by_role("main")).to_contain_text("£50.00")
    expect(page.get_by_role("main")).not_to_contain_text("£30.00")
    screenshot(page, "account-excess-only")

    # Weeks on, the underpaid bill still owes £30.00 beyond Bupa's usual 30 days: the insurer debt
    # list shows it with Bupa's contact details and the bill's history.
    from openpractice.billing.models import Invoice

    Invoice.objects.filter(pk=under.pk).update(invoice_date=dt.date.today() - dt.timedelta(days=45))
    page.goto(f"{live_server.url}/collections/insurers/")
    row = page.get_by_role("row", name=re.compile(under.number))
    expect(row).to_contain_text("£30.00")
    expect(row).to_contain_text("15 beyond its 30")
    expect(row).to_contain_text("Insurer paid £150.00")
    screenshot(page, "insurer-debt")

    # The collections reports render as a product should.
    for url, name in (
        ("/reports/collection/", "collection-rate"),
        ("/reports/write-offs/", "write-offs"),
    ):
        page.goto(f"{live_server.url}{url}")
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        screenshot(page, name)
    assert not console_errors
