"""Must show: the insurers whose Healthcode identifier is not public are billed from contact to
Collected against a real sandbox clearing house, with no dead end on the way.

- Alliance Health: its contact is added by type-ahead while it has no identifier yet (the option
  says so), the invoice's pre-submission check says so and links straight to the identifier
  field of its directory entry, where the owner sets it by hand; back on the invoice the check
  passes (registration and authorisation formats are Alliance Health's), and the bill is
  Collected.
- Allianz Partners, a member with an Aetna Americas W number: "Sync from Healthcode" on the
  insurer directory fills the identifier; the patient's number is accepted under Allianz
  Partners' own name, and its authorisation code must be Aetna's format (a free-format one is
  refused, saying so); the bill is Collected.
Screenshots in test-results/screenshots/insurers-*.png."""

import datetime as dt
import re

import pytest
from playwright.sync_api import expect

from e2e.conftest import IMMEDIATE_TASKS, demo_practice_on
from openpractice.home.management.commands.seed_demo import DEMO_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _choose(page, label: str, typed: str, option_text: str):
    """Type into a type-ahead and pick the option by click, as a user would."""
    box = page.get_by_role("combobox", name=label)
    box.fill(typed)
    option = page.locator(f"#{box.get_attribute('id')}_listbox li[role=option]", has_text=option_text).first
    option.wait_for(state="visible")
    option.click()
    return option


def _add_insurer_contact(page, base, name: str, typed: str, expect_option: str):
    page.goto(f"{base}/contacts/new/?type=insurer")
    page.locator("#id_name").fill(name)
    box = page.get_by_role("combobox", name="Healthcode identifier (Insurance)")
    box.fill(typed)
    option = page.locator(f"#{box.get_attribute('id')}_listbox li[role=option]", has_text=name).first
    option.wait_for(state="visible")
    expect(option).to_contain_text(expect_option)
    option.click()
    page.get_by_role("button", name="Save contact").click()
    expect(page.locator("h1")).to_have_text(name)


def _contract_price(page, base, insurer_label: str, price: str):
    page.goto(f"{base}/products/")
    page.get_by_role("link", name="Initial consultation").click()
    page.get_by_text("Add contract price").click()
    page.get_by_label("Insurer").select_option(label=insurer_label)
    page.get_by_label("Contract price (£)").fill(price)
    page.get_by_label("Valid from").fill("2026-01-01")
    page.get_by_role("button", name="Save contract price").click()
    expect(page.locator(".flash-success")).to_contain_text("Contract price with")


def _patient_insured(page, base, *, first, last, born, insurer, typed, number, auth, refused_auth=None):
    page.goto(f"{base}/patients/")
    page.get_by_role("button", name="Add patient").first.click()
    page.get_by_label("First name").fill(first)
    page.get_by_label("Last name").fill(last)
    page.get_by_label("Date of birth").fill(born)
    page.get_by_label("Postcode").fill("SW1A 1AA")
    page.get_by_role("button", name="Save patient").click()
    page.get_by_label("Relationship type").select_option(label="Insurance provider")
    _choose(page, "Patient or contact name", typed, insurer)
    page.get_by_label("Registration number").fill(number)
    if refused_auth:
        page.get_by_label("Authorisation code").fill(refused_auth[0])
        page.get_by_role("button", name="Add relationship").click()
        expect(page.locator("#id_authorisation_code_error")).to_contain_text(refused_auth[1])
        expect(page.get_by_label("Registration number")).to_have_value(number)
    page.get_by_label("Authorisation code").fill(auth)
    page.get_by_role("button", name="Add relationship").click()
    expect(page.locator(".flash-success")).to_contain_text(
        f"Relationship with {insurer} saved (Insurance provider, membership {number})."
    )


def _raise_invoice(page, base, *, last, auth):
    page.goto(f"{base}/patients/")
    page.get_by_role("link", name=re.compile(last, re.I)).first.click()
    page.locator("nav.tabs").get_by_role("link", name="Invoices").click()
    page.get_by_role("button", name="New invoice").click()
    page.locator("#id_practitioner").select_option(label="Dr Asha Patel (0651978)")
    page.locator("#id_service_setting").select_option(label="Outpatient")
    page.get_by_label("Line 1 product").select_option(label="Initial consultation")
    authorisation = page.get_by_label("Authorisation code")
    if authorisation.count():
        authorisation.fill(auth)
    diagnosis = page.get_by_label("Primary diagnosis (ICD-10)")
    diagnosis.fill("M17.1")
    page.locator("[role=option]").first.wait_for()
    page.locator("[role=option]").first.click()
    page.get_by_role("button", name="Save invoice").click()


def _submit_until_collected(page, sandbox, name: str):
    from sandbox.testing import SandboxApi

    expect(page.locator("#check-result")).to_contain_text("Passed")
    page.get_by_role("button", name="Submit to Healthcode").click()
    confirm = page.get_by_role("button", name=re.compile("^(Confirm|Send)", re.I))
    if confirm.count():  # a confirmation step, where the invoice form asks for one
        confirm.first.click()
    expect(page.locator("#hc-status")).to_contain_text("Unprocessed")
    api = SandboxApi(sandbox)
    for seconds, expected in ((61, "Validated"), (61, "Awaiting collection"), (3601, "Collected")):
        api.advance(seconds)
        page.get_by_role("button", name="Refresh status").click()
        expect(page.locator("#hc-status")).to_contain_text(expected)
    expect(page.locator("#healthcode-errors")).to_have_count(0)
    return page.locator("h1").inner_text().split()[-1]


def test_alliance_health_and_an_aetna_americas_member_are_billed_to_collected(
    page, live_server, login, screenshot, console_errors, sandbox, settings
):
    from openpractice.billing.models import Invoice

    settings.TASKS = IMMEDIATE_TASKS
    practice = demo_practice_on(sandbox)
    base = live_server.url
    login("owner@demo.openpractice.test", DEMO_PASSWORD)

    # -- Alliance Health: no identifier yet, set by hand from the invoice's own link -----------
    _add_insurer_contact(page, base, "Alliance Health", "Alliance", "No Healthcode identifier yet")
    expect(page.locator("main")).to_contain_text("No Healthcode identifier yet")
    expect(page.locator("main")).not_to_contain_text("( )")
    screenshot(page, "insurers-01-alliance-contact-without-identifier")
    _contract_price(page, base, "Alliance Health", "180.00")
    _patient_insured(
        page,
        base,
        first="Ada",
        last="Lovelace",
        born="1980-12-10",
        insurer="Alliance Health",
        typed="Allian",
        number="1234567",
        auth="ABC12345",
    )
    _raise_invoice(page, base, last="Lovelace", auth="ABC12345")
    problems = page.locator("#check-problems")
    expect(problems).to_contain_text("has no Healthcode identifier (Insurance) yet")
    expect(page.locator("main")).not_to_contain_text("( )")
    expect(page.get_by_role("button", name="Submit to Healthcode")).to_be_disabled()
    screenshot(page, "insurers-02-alliance-check-no-identifier")
    invoice_url = page.url

    problems.get_by_role("link", name="Set the insurer's Healthcode identifier").click()
    identifier = page.get_by_label("Healthcode identifier", exact=True)
    expect(identifier).to_be_focused()  # straight to the field, not the contact's type-ahead
    assert "/settings/coding/insurers/" in page.url
    identifier.fill("al h")
    page.get_by_role("button", name="Save insurer").click()
    expect(page.locator("#id_healthcode_identifier_error")).to_contain_text("lower case")
    page.get_by_label("Healthcode identifier", exact=True).fill("alh")
    screenshot(page, "insurers-03-alliance-identifier-set-by-hand")
    page.get_by_role("button", name="Save insurer").click()
    assert page.url.split("#")[0] == invoice_url  # back where the owner came from
    expect(page.locator(".flash-success")).to_contain_text("Insurer “Alliance Health” saved")
    alliance_number = _submit_until_collected(page, sandbox, "Alliance Health")
    screenshot(page, "insurers-04-alliance-collected")

    # -- Allianz Partners: identifier from Healthcode's insurer list; a W (Aetna Americas) member --
    page.goto(f"{base}/settings/coding/insurers/")
    expect(page.locator("table.data")).not_to_contain_text("dateOfBirth")
    expect(page.locator("table.data")).to_contain_text("Date of birth")
    page.get_by_role("button", name="Sync from Healthcode").click()
    expect(page.locator(".flash-success")).to_contain_text("identifiers filled")
    row = page.locator("table.data tr", has_text="Allianz Partners")
    expect(row).to_contain_text("alz")
    expect(row).to_contain_text("From the clearing house")
    expect(page.locator("table.data tr", has_text="Alliance Health")).to_contain_text("Set by hand")  # kept
    screenshot(page, "insurers-05-directory-synced")

    _add_insurer_contact(page, base, "Allianz Partners", "alz", "alz")
    _contract_price(page, base, "Allianz Partners (alz)", "190.00")
    _patient_insured(
        page,
        base,
        first="Walter",
        last="Aetnason",
        born="1975-05-05",
        insurer="Allianz Partners",
        typed="Allianz",
        number="W1234 123456-01",
        auth="C1234567",
        refused_auth=("AUTH-1", "C + 6 to 10 digits"),
    )
    screenshot(page, "insurers-06-allianz-w-member")
    _raise_invoice(page, base, last="Aetnason", auth="C1234567")
    allianz_number = _submit_until_collected(page, sandbox, "Allianz Partners")
    screenshot(page, "insurers-07-allianz-collected")

    collected = Invoice.objects.filter(practice=practice, healthcode_status="collected")
    bills = {
        i.insurer_contact.insurer.healthcode_identifier: i for i in collected.select_related("insurer_contact__insurer")
    }
    assert set(bills) == {"alh", "alz"}
    assert bills["alz"].insurance.registration_number == "W1234 123456-01"
    assert bills["alz"].authorisation_code == "C1234567" and bills["alh"].authorisation_code == "ABC12345"
    assert {alliance_number, allianz_number} == {i.display_number for i in collected}
    assert dt.date.today() >= bills["alz"].invoice_date
    assert console_errors == []
