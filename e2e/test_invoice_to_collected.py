"""Must show: a biller raises an invoice for an insured patient, sees the pre-submission check fail
on a wrong registration number, fixes it, submits to Healthcode, and watches the bill reach
Collected while the sandbox clock is advanced. The sandbox is a real process started here."""

import re

import pytest
from playwright.sync_api import expect

from e2e.conftest import IMMEDIATE_TASKS, demo_practice_on
from openpractice.home.management.commands.seed_demo import DEMO_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _demo_practice_on(sandbox):
    from openpractice.patients.models import PatientRelationship

    practice = demo_practice_on(sandbox)
    # The registration number was typed wrong when the patient registered: one digit off.
    PatientRelationship.objects.filter(practice=practice, registration_number="10000001").update(
        registration_number="10000011", registration_key="10000011"
    )
    return practice


def test_invoice_fails_check_is_fixed_submitted_and_collected(
    page, live_server, login, screenshot, console_errors, sandbox, settings
):
    from sandbox.testing import SandboxApi

    settings.TASKS = IMMEDIATE_TASKS  # the worker's job runs as soon as the submission commits
    _demo_practice_on(sandbox)
    login("billing@demo.openpractice.test", DEMO_PASSWORD)

    # The patient's Invoices tab -> New invoice
    page.goto(f"{live_server.url}/patients/")
    page.get_by_role("link", name=re.compile("Bennett", re.I)).first.click()
    page.locator("nav.tabs").get_by_role("link", name="Invoices").click()
    page.get_by_role("button", name="New invoice").click()
    page.locator("#id_practitioner").select_option(label="Dr Asha Patel (0651978)")
    page.locator("#id_service_setting").select_option(label="Outpatient")
    page.get_by_label("Line 1 product").select_option(label="Initial consultation")
    diagnosis = page.get_by_label("Primary diagnosis (ICD-10)")
    diagnosis.fill("M17.1")
    page.locator("[role=option]").first.wait_for()
    page.locator("[role=option]").first.click()
    screenshot(page, "invoice-01-new")
    page.get_by_role("button", name="Save invoice").click()

    # The check wants the insurer's answer: asked (Find Member) with a button, never by opening the
    # page, it stops the bill: the number is not Bupa's member.
    page.get_by_role("button", name="Check membership with Bupa").click()
    problems = page.locator("#check-problems")
    expect(problems).to_contain_text("RegistrationNo")
    expect(problems).to_contain_text("was not found")
    expect(problems).not_to_contain_text("member-not-found")  # words, not rule ids
    expect(page.get_by_role("button", name="Submit to Healthcode")).to_be_disabled()
    screenshot(page, "invoice-02-check-fails")

    page.get_by_label(re.compile("^Registration number")).fill("10000001")
    page.get_by_role("button", name="Save registration number").click()
    expect(page.locator("#check-result")).to_contain_text("Passed")
    submit = page.get_by_role("button", name="Submit to Healthcode")
    expect(submit).to_be_enabled()
    screenshot(page, "invoice-03-check-passes")

    submit.click()
    expect(page.locator("#submit-summary")).to_contain_text("10000001")  # the confirmation, with the bill
    page.get_by_role("button", name="Send to Healthcode").click()
    expect(page.locator("#hc-status")).to_contain_text("Unprocessed")
    number = page.locator("h1").inner_text().split()[-1]
    assert re.fullmatch(r"INV\d{6}", number)

    api = SandboxApi(sandbox)
    for seconds, expected in ((61, "Validated"), (61, "Awaiting collection"), (3601, "Collected")):
        api.advance(seconds)
        page.get_by_role("button", name="Refresh status").click()
        expect(page.locator("#hc-status")).to_contain_text(expected)
    expect(page.locator("#submissions")).to_contain_text("Accepted by Healthcode")
    expect(page.locator("#submissions")).to_contain_text("Collected")
    screenshot(page, "invoice-04-collected")

    page.goto(f"{live_server.url}/invoices/?healthcode_status=collected")
    expect(page.locator("table.data")).to_contain_text(number)
    screenshot(page, "invoices-list-collected")
    assert console_errors == []
