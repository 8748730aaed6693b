"""The Healthcode set-up guide, first step to last, as a new practice owner does it in the browser:
credentials saved and tested against a real sandbox clearing house, a practitioner's Healthcode
identifier, a location's 600 number, an insurer contact, a procedure with a contract price and
codes, a patient with an insurance relationship; then every value is seen again on the summary
pages. Screenshots in test-results/screenshots/setup-*.png."""

import re

import pytest
from playwright.sync_api import expect

from openpractice.practices.roles import Role

PASSWORD = "correct-horse-battery"  # conftest.PASSWORD (the root conftest)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _choose(page, label: str, typed: str, option_text: str):
    """Type into a type-ahead and pick the option by click, as a user would."""
    box = page.get_by_role("combobox", name=label)
    box.fill(typed)
    option = page.locator(f"#{box.get_attribute('id')}_listbox li[role=option]", has_text=option_text).first
    option.wait_for(state="visible")
    option.click()


def test_setup_guide_end_to_end(
    page, live_server, login, screenshot, console_errors, tmp_path, make_practice, make_member
):
    from openpractice.coding.importing import CsvCodeSource
    from openpractice.coding.models import Code, Insurer
    from openpractice.coding.reference import load_insurers, load_sample_ccsd
    from openpractice.coding.services import import_code_set
    from openpractice.healthcode.client import clear_caches
    from openpractice.healthcode.models import HealthcodeIntegration
    from sandbox.testing import start_sandbox

    # The reference data the coding migration loads (a transactional test flushes it), and the
    # practice's own licensed ISC list (imported under Settings > Coding).
    load_insurers(Insurer)
    load_sample_ccsd(Code)
    practice = make_practice(
        "Marylebone Orthopaedics", address_line1="1 Wimpole Street", city="London", postcode="W1G 8AA"
    )
    make_member(practice, Role.OWNER, email="manager@marylebone.test", full_name="Priya Manager")
    make_member(practice, Role.PRACTITIONER, email="mr.jones@marylebone.test", full_name="Mr Rhys Jones")
    import_code_set(
        practice=practice,
        kind="codes",
        system="isc",
        source=CsvCodeSource(b"code,description\nSCON1,Initial outpatient consultation\n"),
    )
    clear_caches()
    sandbox = start_sandbox(tmp_path)
    base = live_server.url
    try:
        login("manager@marylebone.test", PASSWORD)

        # 1. Settings > Integrations > Healthcode: credentials, then Test connection.
        page.goto(f"{base}/settings/integrations/")
        page.get_by_role("button", name="Set up Healthcode").click()
        page.get_by_label("Discovery document URL").fill(f"{sandbox.url}/.well-known/discovery-document.json")
        page.get_by_label("Site ID").fill("HC16190")
        page.get_by_label("API key id").fill("openpractice-demo")
        page.get_by_label("API key", exact=True).fill("sandbox-demo-key")
        screenshot(page, "setup-01-credentials")
        page.get_by_role("button", name="Save credentials").click()
        page.get_by_role("button", name="Test connection").click()
        expect(page.locator(".flash-success")).to_contain_text("Connection to Healthcode works")
        expect(page.locator("dl.summary")).to_contain_text("Worked")
        assert "sandbox-demo-key" not in page.content()
        screenshot(page, "setup-02-connection-tested")

        # 2. Users: the practitioner's Healthcode identifier (first without its leading zero).
        page.goto(f"{base}/settings/users/")
        page.get_by_role("link", name="Mr Rhys Jones").click()
        page.get_by_label("Healthcode identifier").fill("651978")
        page.get_by_label("GMC number").fill("6519780")
        page.get_by_label("Specialty").fill("Trauma and orthopaedic surgery")
        page.get_by_label("Professional title").fill("Consultant Orthopaedic Surgeon")
        page.get_by_role("button", name="Save", exact=True).click()
        expect(page.locator(".flash-warning").first).to_contain_text("without its leading zero")
        screenshot(page, "setup-03-identifier-warning")
        page.get_by_label("Healthcode identifier").fill("0651978")
        page.get_by_role("button", name="Save", exact=True).click()
        expect(page.locator(".flash-success")).to_have_text("Mr Rhys Jones saved.")

        # 3. Locations: the consulting rooms bill as provider and payee with their 600 number.
        page.goto(f"{base}/settings/locations/new/")
        page.get_by_label("Name").fill("Wimpole Street rooms")
        page.get_by_label("Postcode").fill("W1G 8AA")
        page.get_by_label("Healthcode “600” number").fill("600123456")
        page.get_by_label("bills as provider").check()
        page.get_by_label("receives payment as payee").check()
        page.get_by_role("button", name="Save location").click()

        # 4. Contacts: Bupa, its Healthcode identifier (Insurance) picked from the directory.
        page.locator("aside nav").get_by_role("link", name="Contacts").click()
        page.get_by_role("button", name="Add an insurer").click()
        page.locator("#id_name").fill("Bupa")
        _choose(page, "Healthcode identifier (Insurance)", "Bupa", "Bupa")
        page.get_by_label("Phone").fill("0345 600 0000")
        screenshot(page, "setup-04-insurer-contact")
        page.get_by_role("button", name="Save contact").click()
        expect(page.locator("h1")).to_have_text("Bupa")
        screenshot(page, "setup-05-contact-summary")

        # 5. Products: a procedure with its codes, then Bupa's contract price.
        page.locator("aside nav").get_by_role("link", name="Products").click()
        page.get_by_role("button", name="Add product").first.click()
        page.get_by_label("Procedure", exact=True).check()
        page.get_by_label("Name").fill("Knee arthroscopy")
        page.get_by_label("Procedure type").fill("Day case surgery")
        page.get_by_label("Duration (minutes)").fill("45")
        page.get_by_label("List price (£)").fill("1100.00")
        _choose(page, "Industry standard code", "SCON1", "SCON1")
        _choose(page, "Procedure code", "arthroscopy", "W8520")
        screenshot(page, "setup-06-product-form")
        page.get_by_role("button", name="Save product").click()
        expect(page.locator("h1")).to_have_text("Knee arthroscopy")
        page.get_by_text("Add contract price").click()
        page.get_by_label("Insurer").select_option(label="Bupa (bup)")
        page.get_by_label("Contract price (£)").fill("950.00")
        page.get_by_label("Valid from").fill("2026-01-01")
        page.get_by_role("button", name="Save contract price").click()
        expect(page.locator(".flash-success")).to_contain_text("Contract price with Bupa saved")

        # 6. Patients: Oliver Bennett (the sandbox's Bupa member), insured with Bupa.
        page.locator("aside nav").get_by_role("link", name="Patients").click()
        page.get_by_role("button", name="Add patient").first.click()
        page.get_by_label("Title").fill("Mr")
        page.get_by_label("First name").fill("Oliver")
        page.get_by_label("Last name").fill("Bennett")
        page.get_by_label("Date of birth").fill("1980-04-12")
        page.get_by_label("NHS number").fill("943 476 5919")
        page.get_by_label("Phone").fill("07700 900101")
        page.get_by_label("Postcode").fill("SW1A 1AA")
        page.get_by_role("button", name="Save patient").click()
        page.get_by_label("Relationship type").select_option(label="Insurance provider")
        _choose(page, "Patient or contact name", "Bup", "Bupa")
        page.get_by_label("Registration number").fill("10000001!")
        page.get_by_label("Authorisation code").fill("B123456")
        page.get_by_label("Authorised sessions").fill("6")
        page.get_by_label("Authorisation expires").fill("2026-12-31")
        page.get_by_role("button", name="Add relationship").click()
        # Refused at the field, with every other value still there.
        expect(page.locator("#id_registration_number_error")).to_contain_text("letters and digits")
        expect(page.get_by_label("Authorisation code")).to_have_value("B123456")
        expect(page.get_by_label("Authorised sessions")).to_have_value("6")
        expect(page.get_by_role("combobox", name="Patient or contact name")).to_have_value("Bupa")
        screenshot(page, "setup-07-registration-refused")
        page.get_by_label("Registration number").fill("10000001")
        page.get_by_role("button", name="Add relationship").click()
        expect(page.locator(".flash-success")).to_contain_text(
            "Relationship with Bupa saved (Insurance provider, membership 10000001)."
        )
        screenshot(page, "setup-08-patient-edit")

        # Every value again, on the summary pages.
        page.get_by_role("link", name="Back to summary").click()
        summary = page.locator("main")
        for value in (
            "Mr Oliver Bennett",
            "12/04/1980",
            "943 476 5919",
            "07700 900101",
            "SW1A 1AA",
            "Bupa",
            "bup",
            "10000001",
            "B123456",
            "6 sessions authorised",
            "31 Dec 2026",
            "Check membership",
        ):
            expect(summary).to_contain_text(value)
        screenshot(page, "setup-09-patient-summary")

        page.goto(f"{base}/settings/integrations/")
        for value in ("HC16190", "openpractice-demo", "Worked", "Set"):
            expect(page.locator("main")).to_contain_text(value)
        page.goto(f"{base}/settings/users/")
        expect(page.locator("main")).to_contain_text("0651978")
        expect(page.locator("main")).to_contain_text("Trauma and orthopaedic surgery")
        page.goto(f"{base}/settings/locations/")
        for value in ("Wimpole Street rooms", "600123456", "Provider", "Payee"):
            expect(page.locator("main")).to_contain_text(value)
        screenshot(page, "setup-10-locations")
        page.goto(f"{base}/contacts/")
        page.get_by_role("link", name="Bupa").click()
        for value in ("Insurer", "bup", "0345 600 0000", "1 patient insured by"):
            expect(page.locator("main")).to_contain_text(value)
        page.goto(f"{base}/products/")
        page.get_by_role("link", name="Knee arthroscopy").click()
        for value in (
            "Procedure",
            "Day case surgery",
            "45 minutes",
            "£1,100.00",
            "Exempt",
            "SCON1",
            "W8520",
            "Arthroscopy of knee",
            "£950.00",
            "1 Jan 2026",
            "Open",
        ):
            expect(page.locator("main")).to_contain_text(value)
        screenshot(page, "setup-11-product-summary")
        page.goto(f"{base}/patients/?q=10000001")
        expect(page.locator("table.data")).to_contain_text("BENNETT, Oliver")
        screenshot(page, "setup-12-patient-search")

        integration = HealthcodeIntegration.objects.get(practice=practice)
        assert integration.last_test_ok and "sandbox-demo-key" not in integration.api_key_encrypted
        assert console_errors == []
    finally:
        sandbox.stop()


def test_demo_practice_is_set_up(page, live_server, login, screenshot, console_errors):
    """`seed_demo` leaves the demo practice fully set up, matching the sandbox's demo data."""
    from django.core.management import call_command

    from openpractice.home.management.commands.seed_demo import DEMO_PASSWORD

    call_command("seed_demo")
    login("owner@demo.openpractice.test", DEMO_PASSWORD)
    screenshot(page, "demo-01-dashboard")
    page.goto(f"{live_server.url}/products/")
    page.get_by_role("link", name="Epley manoeuvre").click()
    expect(page.locator("main")).to_contain_text("Not accepted by Bupa")
    screenshot(page, "demo-02-product-not-accepted")
    page.goto(f"{live_server.url}/patients/?q=AX1234567B")
    page.get_by_role("link", name=re.compile("TURNER")).click()
    expect(page.locator("main")).to_contain_text("AXA Health")
    expect(page.locator("main")).to_contain_text("AX1234567B")
    screenshot(page, "demo-03-patient")
    page.goto(f"{live_server.url}/settings/users/")
    for identifier in ("0651978", "0712345", "0698765"):
        expect(page.locator("main")).to_contain_text(identifier)
    screenshot(page, "demo-04-users")
    assert console_errors == []
