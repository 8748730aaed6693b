"""Settings > Integrations made safe, in the browser: saved credentials make no calls until Test
connection passes; changing the discovery URL without the API key asks for the key on the key's
field; an address that is not a clearing house is refused on the URL's field. Screenshots in
test-results/screenshots/safety-*.png."""

import pytest
from playwright.sync_api import expect

from openpractice.practices.roles import Role

PASSWORD = "correct-horse-battery"  # conftest.PASSWORD (the root conftest)
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_credentials_untested_then_tested_then_changed(
    page, live_server, login, screenshot, console_errors, tmp_path, make_practice, make_member
):
    from openpractice.healthcode import services as hc
    from openpractice.healthcode.client import clear_caches
    from openpractice.healthcode.models import ApiExchange, HealthcodeIntegration
    from sandbox.testing import free_port, start_sandbox

    practice = make_practice("Harley Street Knees")
    make_member(practice, Role.OWNER, email="owner@harley.test", full_name="Hana Owner")
    clear_caches()
    sandbox = start_sandbox(tmp_path)
    base = live_server.url
    discovery = f"{sandbox.url}/.well-known/discovery-document.json"
    try:
        login("owner@harley.test", PASSWORD)
        page.goto(f"{base}/settings/integrations/healthcode/")
        page.get_by_label("Discovery document URL").fill(discovery)
        page.get_by_label("Site ID").fill("HC16190")
        page.get_by_label("API key id").fill("openpractice-demo")
        page.get_by_label("API key", exact=True).fill("sandbox-demo-key")
        page.get_by_role("button", name="Save credentials").click()
        main = page.locator("main")
        expect(main).to_contain_text("Not tested yet")
        expect(main).to_contain_text("OpenPractice makes no other call to Healthcode")
        assert not ApiExchange.objects.filter(practice=practice).exists()
        screenshot(page, "safety-01-untested")

        page.get_by_role("button", name="Test connection").click()
        expect(page.locator(".flash-success")).to_contain_text("Connection to Healthcode works")
        expect(page.locator("dl.summary")).to_contain_text("Worked")
        expect(main).not_to_contain_text("OpenPractice makes no other call")
        assert hc.is_configured(practice=practice)

        # Another address, key left blank: the key is asked for, on its own field, and nothing saved.
        page.get_by_role("button", name="Edit credentials").click()
        moved = f"http://127.0.0.1:{free_port()}/.well-known/discovery-document.json"
        page.get_by_label("Discovery document URL").fill(moved)
        page.get_by_role("button", name="Save credentials").click()
        key_field = page.get_by_label("API key", exact=True)
        expect(page.locator("#id_api_key_error")).to_contain_text(
            "Enter the API key again: the discovery document URL changed"
        )
        expect(page.get_by_label("Discovery document URL")).to_have_value(moved)
        screenshot(page, "safety-02-key-asked-for")

        # An address that is no clearing house (cloud metadata): refused on the URL field.
        page.get_by_label("Discovery document URL").fill("http://169.254.169.254/latest/meta-data/")
        key_field.fill("sandbox-demo-key")
        page.get_by_role("button", name="Save credentials").click()
        expect(page.locator("#id_discovery_url_error")).to_contain_text(
            "is not a clearing-house address OpenPractice may call"
        )
        screenshot(page, "safety-03-address-refused")
        integration = HealthcodeIntegration.objects.get(practice=practice)
        assert integration.discovery_url == discovery and hc.is_configured(practice=practice)
        assert console_errors == []
    finally:
        sandbox.stop()
