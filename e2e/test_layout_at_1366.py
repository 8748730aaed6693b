"""Layout at a laptop's window (1366x768, and 1280 wide): the Healthcode exchange log fits its
column with long URLs and errors; the invoice filters keep Filter on their row; a draft reads
"— (draft)" among invoice numbers (issue 15). The page fixture scans each page with axe-core."""

from __future__ import annotations

import re

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from e2e.conftest import demo_insurer_drafts
from openpractice.home.management.commands.seed_demo import DEMO_PASSWORD, DEMO_PRACTICE

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LONG_URL = "https://api.sandbox.healthcode.co.uk/fhir/r4/Claim/$submit?" + "idempotency_key=" + "a1b2c3d4" * 40
LONG_ERROR = "ReadTimeout:" + "x" * 200 + " while waiting for the clearing house"


def _fits(page, selector: str) -> dict:
    return page.locator(selector).evaluate(
        """el => ({width: el.scrollWidth, room: el.parentElement.clientWidth,
                   page: document.documentElement.scrollWidth, window: window.innerWidth})"""
    )


@pytest.mark.parametrize("width", [1366, 1280])
def test_exchange_log_fits_the_window(page, live_server, login, screenshot, width):
    from openpractice.healthcode.models import ApiExchange
    from openpractice.practices.models import Practice

    call_command("seed_demo")
    practice = Practice.objects.get(name=DEMO_PRACTICE)
    for attempt in (1, 2, 3):
        ApiExchange.objects.create(
            practice=practice,
            endpoint="the bill submission endpoint",
            method="POST",
            url=LONG_URL,
            request_headers={"Idempotency-Key": "k" * 120, "Authorization": "[redacted]"},
            # Long enough to scroll in its box: the box must take the keyboard's focus to scroll.
            request_body='{"resourceType": "Claim", "identifier": [{"value": "'
            + "9" * 300
            + '"}], "item": ['
            + ", ".join(f'{{"sequence": {n}}}' for n in range(1, 80))
            + "]}",
            status_code=None if attempt < 3 else 201,
            error=LONG_ERROR if attempt < 3 else "",
            duration_ms=30_000,
            attempt=attempt,
        )
    page.set_viewport_size({"width": width, "height": 768})
    login("owner@demo.openpractice.test", DEMO_PASSWORD)
    page.goto(f"{live_server.url}/settings/integrations/healthcode/log/")
    expect(page.get_by_role("heading", name="Settings › Healthcode exchange log")).to_be_visible()
    fit = _fits(page, "table.data")
    assert fit["width"] <= fit["room"], fit
    assert fit["page"] <= fit["window"], fit
    screenshot(page, f"exchange-log-{width}")

    first = ApiExchange.objects.get(attempt=1)
    page.locator(f'a[href$="/log/{first.pk}/"]').click()
    expect(page.get_by_role("heading", name="Settings › Healthcode exchange", exact=True)).to_be_visible()
    fit = _fits(page, ".card")
    assert fit["width"] <= fit["room"], fit
    assert fit["page"] <= fit["window"], fit
    screenshot(page, f"exchange-detail-{width}")


@pytest.mark.parametrize("width", [1366, 1280])
def test_invoice_filters_keep_the_button_on_their_row(page, live_server, login, screenshot, width):
    from openpractice.billing import services
    from openpractice.practices.models import Practice

    call_command("load_reference_codes")  # ICD-10, gone after an earlier test's flush
    call_command("seed_demo")
    practice = Practice.objects.get(name=DEMO_PRACTICE)
    *_, invoice = demo_insurer_drafts(practice, 2)
    services.issue_invoice(invoice=invoice)  # one issued, one draft
    page.set_viewport_size({"width": width, "height": 768})
    login("billing@demo.openpractice.test", DEMO_PASSWORD)
    page.goto(f"{live_server.url}/invoices/")
    button = page.locator("form.search-bar").get_by_role("button", name="Filter")
    last_field = page.get_by_label("Age (days)")
    first_field = page.get_by_label("Invoice number or surname")
    b, f, first = button.bounding_box(), last_field.bounding_box(), first_field.bounding_box()
    assert abs(b["y"] + b["height"] - (f["y"] + f["height"])) < 4, (b, f)  # same row, bottoms aligned
    assert abs(first["y"] - f["y"]) < 4, (first, f)  # every field on one row too
    assert b["width"] < 200, b  # a button, not a full-width bar
    expect(page.locator("table.data tbody")).to_contain_text("— (draft)")
    expect(page.locator("table.data tbody")).not_to_contain_text(re.compile(r"Draft \d"))
    screenshot(page, f"invoice-list-{width}")
