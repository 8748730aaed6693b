"""Pages under the Content-Security-Policy: the API docs, the relationship form's script and the
aged-debt chart work with no inline script or style and nothing loaded from another host (the
page fixture in conftest.py fails a test on any policy violation)."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from openpractice.home.management.commands.seed_demo import DEMO_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.axe_exempt(
    "nested-interactive",
    path="/api/v1/docs",
    reason="Swagger UI (django-ninja's bundle) puts the copy and lock buttons inside each operation's "
    "expand button; its markup is not ours to change. Its colours are fixed in css/api-docs.css.",
)
def test_pages_work_under_the_policy_and_load_nothing_from_elsewhere(page, live_server, login, console_errors):
    own = urlsplit(live_server.url).netloc
    elsewhere: list[str] = []
    page.on(
        "request",
        lambda r: elsewhere.append(r.url) if r.url.startswith("http") and urlsplit(r.url).netloc != own else None,
    )
    call_command("seed_demo")
    login("owner@demo.openpractice.test", DEMO_PASSWORD)

    response = page.goto(f"{live_server.url}/api/v1/docs")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    expect(page.get_by_text("OpenPractice API").first).to_be_visible()
    expect(page.locator(".opblock").first).to_be_visible()  # Swagger UI drew the operations

    page.goto(f"{live_server.url}/reports/aged-debt/")
    expect(page.locator("h1")).to_have_text("Aged debt")
    if page.locator(".stack-chart").count():
        box = page.locator(".stack-chart svg rect").first.bounding_box()
        assert box and box["width"] > 0

    from openpractice.patients.models import Patient

    page.goto(f"{live_server.url}/patients/{Patient.objects.order_by('id').first().pk}/edit/")
    select, box = page.locator("#id_relationship_type"), page.locator("[data-insurance-only]")
    select.select_option("insurance")
    expect(box).to_be_visible()
    other = [
        v for v in select.locator("option").evaluate_all("os => os.map(o => o.value)") if v not in ("", "insurance")
    ]
    select.select_option(other[0])
    expect(box).to_be_hidden()  # app.js, not an inline script, hides the insurance fields
    assert elsewhere == []
    assert console_errors == []
