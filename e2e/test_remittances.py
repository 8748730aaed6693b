"""Must show: bills collected at the sandbox are paid (Bupa), part-paid with a shortfall (Aviva pays
to its maximum) and rejected (AXA, set to reject through the sandbox admin API); the remittances
arrive when the biller fetches them; the invoices show paid, part-paid and rejected; the shortfall
moves to the patient; the aged-debt report changes accordingly."""

from __future__ import annotations

import datetime as dt
import re

import httpx
import pytest
from playwright.sync_api import expect

from e2e.conftest import IMMEDIATE_TASKS, demo_practice_on
from openpractice.home.management.commands.seed_demo import DEMO_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ADJUDICATED = 130 + 3600 + 86400 + 5  # validated, collected, then a day to the remittance


def _submitted(practice, last_name: str, product: str):
    """Raise, check and submit an insurer invoice (the invoice pages are e2e/test_invoice_to_collected.py's)."""
    from openpractice.billing import services
    from openpractice.healthcode import submission as hc
    from openpractice.healthcode.services import check_membership
    from openpractice.patients.models import Patient
    from openpractice.practices.models import Membership
    from openpractice.products.models import Product

    patient = Patient.objects.get(practice=practice, last_name=last_name)
    insurance = next(r for r in patient.relationships.all() if r.relationship_type == "insurance")
    doctor = Membership.objects.get(practice=practice, user__email__startswith="dr.patel")
    day = dt.date.today()
    invoice = services.create_invoice(
        practice=practice,
        data={
            "bill_to": "insurer",
            "patient": patient,
            "insurance": insurance,
            "practitioner": doctor,
            "invoice_date": day,
            "primary_diagnosis": "M17.1",
        },
        lines=[{"product": Product.objects.get(practice=practice, name=product), "service_date": day, "quantity": 1}],
    )
    check_membership(relationship=insurance, active_on=day)
    submission = hc.submit_invoice(invoice=invoice, enqueue=False)
    assert hc.deliver(submission.pk) == "accepted", submission.last_error
    invoice.refresh_from_db()
    return invoice


def test_remittance_arrives_outcomes_shortfall_moves_and_aged_debt_changes(
    page, live_server, login, screenshot, console_errors, sandbox, settings
):
    settings.TASKS = IMMEDIATE_TASKS  # "Fetch now" runs as soon as the request commits
    practice = demo_practice_on(sandbox)
    admin = httpx.Client(base_url=sandbox.url, headers=sandbox.admin_headers, timeout=10)
    assert admin.put("/_sandbox/insurers/bup/adjudication", json={"mode": "pay_in_full"}).status_code == 200
    assert (
        admin.put(
            "/_sandbox/insurers/nuh/adjudication",
            json={"mode": "pay_to_maximum", "reason": "Above the Aviva benefit maximum for W8520"},
        ).status_code
        == 200
    )
    assert (
        admin.put(
            "/_sandbox/insurers/ppp/adjudication",
            json={"mode": "reject", "reason": "Treatment not covered by the member's policy"},
        ).status_code
        == 200
    )

    paid = _submitted(practice, "Bennett", "Initial consultation")  # Bupa 180.00
    part = _submitted(practice, "Patel", "Knee arthroscopy")  # Aviva 1100.00, maximum 950.00
    rejected = _submitted(practice, "Turner", "Initial consultation")  # AXA 190.00
    login("billing@demo.openpractice.test", DEMO_PASSWORD)

    # Before: the practice is owed everything it billed.
    page.goto(f"{live_server.url}/reports/aged-debt/")
    expect(page.locator("#aged-total")).to_have_text("£1,470.00")
    screenshot(page, "remittances-1-aged-debt-before")

    assert admin.post("/_sandbox/clock/advance", json={"seconds": ADJUDICATED}).status_code == 200

    page.get_by_role("link", name="Remittances").first.click()
    page.get_by_role("button", name="Fetch from Healthcode now").click()
    for reference in ("BACS-BUP-", "BACS-NUH-", "BACS-PPP-"):
        expect(page.get_by_role("link", name=re.compile(reference))).to_have_count(1)
    expect(page.locator("table.data tbody tr")).to_have_count(3)
    screenshot(page, "remittances-2-received")

    # The Aviva remittance: part-paid, shortfall with the insurer's reason. Enter the bank amount.
    page.get_by_role("link", name=re.compile("BACS-NUH-")).click()
    line = page.locator("table.data tbody tr", has_text="Part-paid").first
    expect(line).to_contain_text("£150.00")
    expect(line).to_contain_text("Above the Aviva benefit maximum")
    page.get_by_label("Amount on the bank statement (£)").fill("940.00")
    page.get_by_role("button", name="Save bank amount").click()
    expect(page.locator("#bank-difference")).to_have_text("-£10.00")
    screenshot(page, "remittances-3-aviva-part-paid")

    # The invoices show paid, part-paid and rejected.
    for invoice, words in ((paid, "Paid"), (part, "Part-paid"), (rejected, "Rejected")):
        page.goto(f"{live_server.url}/invoices/{invoice.pk}/")
        panel = page.locator("section", has=page.get_by_role("heading", name="Remittance"))
        expect(panel.locator(".badge").first).to_have_text(words)
        expect(page.locator(".page-head")).to_contain_text("Collected")  # a remitted bill was collected
    screenshot(page, "remittances-4-invoice-rejected")
    page.goto(f"{live_server.url}/invoices/{part.pk}/")
    screenshot(page, "remittances-5-invoice-part-paid")

    # After the remittances: Aviva's 150.00 shortfall and AXA's rejected 190.00 are still owed.
    page.goto(f"{live_server.url}/reports/aged-debt/")
    expect(page.locator("#aged-total")).to_have_text("£340.00")

    # The shortfall moves to the patient in one action.
    page.goto(f"{live_server.url}/invoices/{part.pk}/")
    page.get_by_role("button", name="Move £150.00 shortfall to the patient").click()
    expect(page.locator("main")).to_contain_text("moved to the patient")
    # The remittance panel names it (and the payments panel lists the transfer with the same link).
    page.locator("#invoice-remittances").get_by_role("link", name=re.compile(r"^invoice [A-Z]+\d+")).click()
    expect(page.locator("main")).to_contain_text("Above the Aviva benefit maximum for W8520")
    expect(page.locator("main")).to_contain_text("£150.00")
    screenshot(page, "remittances-6-patient-shortfall-invoice")

    page.goto(f"{live_server.url}/reports/aged-debt/")
    expect(page.locator("#aged-total")).to_have_text("£190.00")
    expect(page.locator("#aged-table")).to_contain_text("AXA Health")
    expect(page.locator("#aged-table")).not_to_contain_text("Aviva")
    screenshot(page, "remittances-7-aged-debt-by-insurer-after")
    page.get_by_role("link", name="By patient").click()
    expect(page.get_by_role("link", name="By patient")).to_have_attribute("aria-current", "page")
    expect(page.locator("#aged-total")).to_have_text("£150.00")
    expect(page.locator("#aged-table")).to_contain_text("Patel, Noah")
    screenshot(page, "remittances-8-aged-debt-by-patient")
    page.goto(f"{live_server.url}/reports/payments/")
    screenshot(page, "remittances-9-payments")
    admin.close()
    assert console_errors == []
