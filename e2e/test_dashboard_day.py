"""A biller's first login on the demo practice with its year of work (seed_demo --history): the
dashboard shows the day's work, and its figures lead to lists of exactly those rows. Screenshots
of the dashboard and every report, as a newcomer first sees them."""

import re

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from openpractice.home.management.commands.seed_demo import DEMO_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _figure(page, selector: str) -> int:
    return int(page.locator(selector).inner_text().strip())


def test_a_biller_follows_the_dashboard_to_the_work(page, live_server, login, screenshot, console_errors):
    call_command("seed_demo", "--history")
    login("billing@demo.openpractice.test", DEMO_PASSWORD)
    expect(page.get_by_role("heading", name="Harley Street Demo Clinic")).to_be_visible()
    expect(page.get_by_role("heading", name=re.compile(r"^Money owed: £"))).to_be_visible()
    screenshot(page, "dashboard-day-billing")

    # Bills failed at Healthcode -> the invoice list of exactly those bills.
    failed = _figure(page, "#figure-failed a.value")
    assert failed > 0
    page.locator("#figure-failed a.value").click()
    expect(page).to_have_url(re.compile(r"/invoices/\?.*healthcode_status=failed"))
    expect(page.locator("table.data tbody tr")).to_have_count(failed)
    expect(page.locator("#healthcode_status")).to_have_value("failed")
    screenshot(page, "dashboard-link-failed")

    # Insurer debt over 90 days, one insurer -> its unpaid bills over 90 days old.
    page.goto(live_server.url + "/")
    first = page.locator("#old-debt-table tbody tr").first
    count = int(first.locator("td.num").first.inner_text())
    insurer = first.locator("a").inner_text()
    first.locator("a").click()
    expect(page.locator("#extra-filters")).to_contain_text("that still owe something")
    expect(page.locator("#insurer option:checked")).to_have_text(insurer)
    expect(page.locator("#age")).to_have_value("90+")
    shown = page.locator("table.data tbody tr").count()
    assert shown == min(count, 50)
    expect(page.locator("p.muted small").last).to_contain_text(f"{count} invoice")

    # Not ready to submit -> the check's list, each bill with why.
    page.goto(live_server.url + "/")
    not_ready = _figure(page, "#figure-not-ready a.value")
    page.locator("#figure-not-ready a.value").click()
    expect(page.locator("td.why-cell")).to_have_count(not_ready)

    # Shortfalls to send -> the shortfalls waiting.
    page.goto(live_server.url + "/")
    shortfalls = _figure(page, "#figure-shortfalls a.value")
    page.locator("#figure-shortfalls a.value").click()
    expect(page.get_by_role("heading", name="Shortfalls", exact=True)).to_be_visible()
    expect(page.locator("table.data tbody tr")).to_have_count(shortfalls)
    screenshot(page, "dashboard-link-shortfalls")

    for name, path in [
        ("aged-debt", "/reports/aged-debt/"),
        ("aged-debt-by-patient", "/reports/aged-debt/?by=patient"),
        ("bills", "/reports/bills/"),
        ("payments", "/reports/payments/"),
        ("days-to-payment", "/reports/days-to-payment/"),
    ]:
        page.goto(live_server.url + path)
        expect(page.locator("h1")).to_be_visible()
        assert page.locator(".empty-state").count() == 0, f"{path} is empty on the demo practice"
        screenshot(page, f"report-{name}")
    assert console_errors == []


def test_a_practitioner_sees_their_own_bills(page, live_server, login, screenshot, console_errors):
    call_command("seed_demo", "--history")
    login("dr.patel@demo.openpractice.test", DEMO_PASSWORD)
    expect(page.get_by_text("Your figures: the bills where you are the practitioner")).to_be_visible()
    expect(page.locator("#figure-review")).to_have_count(0)
    screenshot(page, "dashboard-day-practitioner")
    cell = page.locator("#owed-insurer td a").first
    count = int(cell.get_attribute("data-count"))
    cell.click()
    expect(page).to_have_url(re.compile(r"practitioner=\d+"))
    expect(page.locator("#practitioner option:checked")).to_have_text("Dr Asha Patel")
    expect(page.locator("table.data tbody tr")).to_have_count(min(count, 50))
    assert console_errors == []
