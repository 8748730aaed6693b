"""The invoice list at a laptop's window (1366x768): the page never scrolls sideways, the longest
Healthcode status wraps in its badge, and the Record column gives way (a void invoice says "Void"
by its number); at 1920 every column is there."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from e2e.conftest import demo_insurer_drafts
from openpractice.home.management.commands.seed_demo import DEMO_PASSWORD, DEMO_PRACTICE

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _widths(page) -> dict:
    return page.evaluate(
        """() => ({page: document.documentElement.scrollWidth, window: window.innerWidth,
                   table: document.querySelector('table.invoice-list').scrollWidth,
                   room: document.querySelector('table.invoice-list').parentElement.clientWidth})"""
    )


def _invoices(practice, count: int) -> list:
    """Issued insurer invoices of the demo's patient (the demo without its year of history has none)."""
    from openpractice.billing import services

    return [services.issue_invoice(invoice=draft) for draft in demo_insurer_drafts(practice, count)]


def test_the_invoice_list_fits_a_laptop_window(page, live_server, login, screenshot):
    from openpractice.billing.models import HealthcodeStatus, Invoice, RecordStatus
    from openpractice.practices.models import Practice

    call_command("load_reference_codes")  # ICD-10, gone after an earlier test's flush
    call_command("seed_demo")
    practice = Practice.objects.get(name=DEMO_PRACTICE)
    long_status, void, *_ = _invoices(practice, 4)
    # The longest status there is, and a void invoice.
    Invoice.objects.filter(pk=long_status.pk).update(healthcode_status=HealthcodeStatus.UNPROCESSED)
    Invoice.objects.filter(pk=void.pk).update(record_status=RecordStatus.VOID)

    page.set_viewport_size({"width": 1366, "height": 768})
    login("billing@demo.openpractice.test", DEMO_PASSWORD)
    page.goto(f"{live_server.url}/invoices/")
    expect(page.locator("table.invoice-list tbody")).to_contain_text("Unprocessed — waiting for Healthcode's checks")
    fit = _widths(page)
    assert fit["page"] <= fit["window"], fit
    assert fit["table"] <= fit["room"], fit  # nor does the table scroll in its box
    expect(page.locator("table.invoice-list th.col-record")).to_be_hidden()
    void_row = page.locator("table.invoice-list tbody tr", has_text=void.number)
    expect(void_row.locator(".record-when-narrow")).to_be_visible()
    expect(void_row.locator(".record-when-narrow")).to_have_text("Void")
    screenshot(page, "invoice-list-fits-1366")

    page.set_viewport_size({"width": 1920, "height": 1080})
    page.goto(f"{live_server.url}/invoices/")
    fit = _widths(page)
    assert fit["page"] <= fit["window"] and fit["table"] <= fit["room"], fit
    expect(page.locator("table.invoice-list th.col-record")).to_be_visible()
    expect(void_row.locator("td.col-record")).to_have_text("Void")
    expect(void_row.locator(".record-when-narrow")).to_be_hidden()
    screenshot(page, "invoice-list-fits-1920")
