"""The Healthcode client and "Test connection", against the real sandbox clearing house."""

import logging

import httpx
import pytest

from openpractice.healthcode import services as hc
from openpractice.healthcode.client import HealthcodeClient, HealthcodeError, clear_caches
from openpractice.healthcode.credentials import save_healthcode_credentials
from openpractice.healthcode.errors import HealthcodeSetupError
from openpractice.healthcode.models import HealthcodeIntegration
from sandbox.testing import free_port, start_sandbox


def _client(creds, **changes):
    values = {k: v for k, v in {**creds, **changes}.items() if k != "environment"}
    return HealthcodeClient(**values)


def _save(practice, creds, **changes):
    return save_healthcode_credentials(practice=practice, **{**creds, **changes})


def test_discovery_token_and_site_all_work(sandbox_credentials):
    with _client(sandbox_credentials) as client:
        report = client.test_connection()
    assert report.ok, report.message
    assert [s.name for s in report.steps] == ["Discovery document", "API key", "Site ID"]
    assert "HC16190 accepted" in report.message


def test_endpoints_come_from_the_discovery_document(sandbox_credentials, healthcode_sandbox):
    with _client(sandbox_credentials) as client:
        assert client.endpoint("find_member_endpoint").startswith(healthcode_sandbox.url)
        with pytest.raises(HealthcodeError, match="no made_up_endpoint"):
            client.endpoint("made_up_endpoint")


def test_bad_url_not_a_discovery_document(sandbox_credentials, healthcode_sandbox):
    with _client(sandbox_credentials, discovery_url=f"{healthcode_sandbox.url}/no-such-page") as client:
        report = client.test_connection()
    assert not report.ok
    assert "HTTP 404" in report.message and "Check the discovery document URL" in report.message


def test_bad_url_nothing_listening(sandbox_credentials):
    with _client(
        sandbox_credentials, discovery_url=f"http://127.0.0.1:{free_port()}/.well-known/discovery-document.json"
    ) as client:
        report = client.test_connection()
    assert not report.ok and "Could not reach" in report.message


def test_bad_credentials(sandbox_credentials):
    with _client(sandbox_credentials, api_key="wrong-key") as client:
        report = client.test_connection()
    assert report.steps[0].ok and not report.steps[1].ok
    assert "refused the API key id or API key (invalid_client)" in report.message


def test_site_mismatch(sandbox_credentials):
    with _client(sandbox_credentials, site_id="HC99999") as client:
        report = client.test_connection()
    assert report.steps[1].ok and not report.steps[2].ok
    assert "Site ID HC99999" in report.message


def test_timeout_is_reported(tmp_path, sandbox_credentials):
    slow = start_sandbox(tmp_path, latency_ms=1500)
    try:
        clear_caches()
        with _client(
            sandbox_credentials,
            discovery_url=f"{slow.url}/.well-known/discovery-document.json",
            timeout=httpx.Timeout(0.5),
        ) as client:
            report = client.test_connection()
    finally:
        slow.stop()
    assert not report.ok and "timeout" in report.message


def test_token_cached_and_refreshed_on_401(sandbox_credentials, healthcode_sandbox):
    with _client(sandbox_credentials) as client:
        first = client.access_token()
        assert client.access_token() == first  # cached until expiry
        httpx.post(f"{healthcode_sandbox.url}/_sandbox/tokens/expire", headers=healthcode_sandbox.admin_headers)
        answer = client.call("list_insurers_endpoint", data={"page": 1, "count": 1})
        assert answer.status_code == 200
        assert client.access_token() != first


def test_secrets_never_logged(sandbox_credentials, caplog):
    caplog.set_level(logging.DEBUG)
    with _client(sandbox_credentials) as client:
        client.test_connection()
        token = client.access_token()
        assert "sandbox-demo-key" not in repr(client)
    with _client(sandbox_credentials, api_key="wrong-key-abc") as client:
        client.test_connection()
    text = caplog.text + " ".join(str(r.args) for r in caplog.records)
    assert "sandbox-demo-key" not in text and "wrong-key-abc" not in text and token not in text
    assert "Healthcode access token issued" in caplog.text


# -- the service, the page and the API ----------------------------------------------------------
def test_service_records_the_outcome(practice, sandbox_credentials):
    _save(practice, sandbox_credentials)
    report = hc.test_connection(practice=practice)
    integration = HealthcodeIntegration.objects.get(practice=practice)
    assert report.ok and integration.last_test_ok is True and integration.last_tested_at
    assert "HC16190 accepted" in integration.last_test_message
    assert hc.is_configured(practice=practice)
    _save(practice, sandbox_credentials, api_key="nope")
    hc.test_connection(practice=practice)
    integration.refresh_from_db()
    assert integration.last_test_ok is False and "invalid_client" in integration.last_test_message


def test_not_set_up_says_so(practice):
    with pytest.raises(HealthcodeSetupError, match="not set up"):
        hc.test_connection(practice=practice)


def test_page_button_and_result(owner_client, practice, sandbox_credentials):
    owner_client.post("/settings/integrations/healthcode/", sandbox_credentials)
    page = owner_client.get("/settings/integrations/").content.decode()
    assert "Test connection" in page
    response = owner_client.post("/settings/integrations/healthcode/test/", follow=True)
    html = response.content.decode()
    assert "Connection to Healthcode works" in html and "Worked" in html
    assert sandbox_credentials["api_key"] not in html


def test_page_reports_failure_plainly(owner_client, practice, sandbox_credentials):
    owner_client.post("/settings/integrations/healthcode/", {**sandbox_credentials, "site_id": "HC99999"})
    html = owner_client.post("/settings/integrations/healthcode/test/", follow=True).content.decode()
    assert "Connection to Healthcode failed" in html and "Site ID HC99999" in html


def test_only_owners_and_admins(receptionist_client, biller, client_for, practice, sandbox_credentials):
    _save(practice, sandbox_credentials)
    assert receptionist_client.post("/settings/integrations/healthcode/test/").status_code == 403
    assert client_for(biller).post("/settings/integrations/healthcode/test/").status_code == 403
    assert "Test connection" not in receptionist_client.get("/").content.decode()


def test_api(client, owner, receptionist, practice, api_token_for, sandbox_credentials):
    answer = client.post("/api/v1/integrations/healthcode/test", **api_token_for(owner, practice))
    assert answer.status_code == 409 and "not set up" in answer.json()["detail"]
    _save(practice, sandbox_credentials)
    answer = client.post("/api/v1/integrations/healthcode/test", **api_token_for(owner, practice))
    assert answer.status_code == 200 and answer.json()["ok"] is True
    assert sandbox_credentials["api_key"] not in answer.content.decode()
    got = client.get("/api/v1/integrations/healthcode", **api_token_for(owner, practice)).json()
    assert got["last_test_ok"] is True
    assert (
        client.post("/api/v1/integrations/healthcode/test", **api_token_for(receptionist, practice)).status_code == 403
    )


def test_key_not_logged_through_the_page(owner_client, practice, sandbox_credentials, caplog):
    caplog.set_level(logging.DEBUG)
    owner_client.post("/settings/integrations/healthcode/", sandbox_credentials)
    owner_client.post("/settings/integrations/healthcode/test/")
    owner_client.post("/settings/integrations/healthcode/", {**sandbox_credentials, "api_key": "another-secret-1"})
    owner_client.post("/settings/integrations/healthcode/test/")
    text = caplog.text + " ".join(str(r.args) + str(r.msg) for r in caplog.records)
    assert "sandbox-demo-key" not in text and "another-secret-1" not in text
    assert "another-secret-1" not in HealthcodeIntegration.objects.get(practice=practice).api_key_encrypted
