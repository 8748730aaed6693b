"""The demo owner logs in and visits every navigation entry: no server error, no console error."""

import re

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from openpractice.home.management.commands.seed_demo import DEMO_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_demo_owner_visits_every_navigation_entry(page, live_server, login, screenshot, console_errors):
    call_command("seed_demo")
    login("owner@demo.openpractice.test", DEMO_PASSWORD)
    expect(page.get_by_role("heading", name="Harley Street Demo Clinic")).to_be_visible()
    screenshot(page, "dashboard")

    nav_links = page.locator("aside nav a")
    labels = nav_links.all_inner_texts()
    assert "Dashboard" in labels and "Settings" in labels
    for label in labels:
        page.locator("aside nav").get_by_role("link", name=label, exact=True).click()
        expect(page.locator("aside nav a[aria-current=page]")).to_have_text(label)
        page.wait_for_load_state("networkidle")
        expect(page.locator("h1").first).to_be_visible()
        assert "Server Error" not in page.content()
        screenshot(page, f"nav-{label.lower().replace(' ', '-')}")

    # Settings holds Practice, Locations, Users and Integrations.
    page.goto(f"{live_server.url}/settings/practice/")
    for tab in ["Practice", "Locations", "Users", "Integrations"]:
        page.locator("nav.tabs").get_by_role("link", name=tab, exact=True).click()
        expect(page.locator("nav.tabs a[aria-current=page]")).to_have_text(tab)
        page.wait_for_load_state("networkidle")
        screenshot(page, f"settings-{tab.lower()}")
    assert console_errors == []


def test_receptionist_sees_no_settings(page, live_server, login, console_errors):
    call_command("seed_demo")
    login("reception@demo.openpractice.test", DEMO_PASSWORD)
    assert "Settings" not in page.locator("aside nav").inner_text()
    assert console_errors == []
    response = page.goto(f"{live_server.url}/settings/users/")
    assert response.status == 403
    expect(page.get_by_role("heading", name="You can't open this page")).to_be_visible()


def test_form_errors_show_at_the_field(page, live_server, login, screenshot):
    call_command("seed_demo")
    login("owner@demo.openpractice.test", DEMO_PASSWORD)
    page.goto(f"{live_server.url}/settings/locations/new/")
    page.get_by_label("Postcode").fill("NOPE")
    page.get_by_role("button", name="Save location").click()
    # Assertions that wait: the click only starts the form's round trip.
    expect(page.locator("#id_name_error")).to_be_visible()
    expect(page.locator("#id_postcode_error")).to_have_text(re.compile(r"^Enter a UK postcode"))
    screenshot(page, "location-form-errors")


def test_numbering_and_exchange_log_settings(page, live_server, login, screenshot, console_errors):
    call_command("seed_demo")
    login("owner@demo.openpractice.test", DEMO_PASSWORD)
    page.goto(f"{live_server.url}/settings/practice/")
    page.locator("nav.tabs").get_by_role("link", name="Billing", exact=True).click()
    page.get_by_label("Invoice number prefix").fill("H.S")
    page.get_by_role("button", name="Save numbering").click()
    expect(page.locator("#id_invoice_prefix_error")).to_contain_text("capital letters")
    screenshot(page, "settings-billing-error")
    page.get_by_label("Invoice number prefix").fill("hs")
    page.get_by_role("button", name="Save numbering").click()
    expect(page.locator(".flash-success")).to_contain_text("The next invoice will be HS")
    screenshot(page, "settings-billing")
    page.locator("nav.tabs").get_by_role("link", name="Integrations", exact=True).click()
    page.get_by_role("link", name="Exchange log").click()
    expect(page.get_by_role("heading", name="No calls to Healthcode yet")).to_be_visible()
    screenshot(page, "settings-exchange-log-empty")
    assert console_errors == []
