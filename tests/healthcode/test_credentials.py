"""Healthcode credentials: the API key is encrypted at rest and never shown or returned."""

from django.db import connection

from openpractice.healthcode.credentials import healthcode_api_key
from openpractice.healthcode.models import HealthcodeIntegration

SECRET = "sk-live-super-secret-0123456789"
FORM = {
    "environment": "sandbox",
    "discovery_url": "http://127.0.0.1:8100/.well-known/discovery-document.json",
    "site_id": "hc16190",
    "api_key_id": "key-id-1",
    "api_key": SECRET,
}


def _raw_rows():
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM practices_healthcodeintegration")
        rows = cursor.fetchall()
        cursor.execute("SELECT * FROM practices_historicalhealthcodeintegration")
        rows += cursor.fetchall()
    return repr(rows)


def test_key_encrypted_at_rest_and_never_echoed(owner_client, practice, client, owner, api_token_for):
    response = owner_client.post("/settings/integrations/healthcode/", FORM, follow=True)
    assert response.status_code == 200
    integration = HealthcodeIntegration.objects.get(practice=practice)
    assert integration.site_id == "HC16190"
    assert SECRET not in _raw_rows()
    assert healthcode_api_key(integration=integration) == SECRET
    for url in ["/settings/integrations/", "/settings/integrations/healthcode/", "/"]:
        assert SECRET not in owner_client.get(url).content.decode()
    api = client.get("/api/v1/integrations/healthcode", **api_token_for(owner, practice))
    assert api.status_code == 200 and SECRET not in api.content.decode()
    assert api.json()["api_key_set"] is True


def test_blank_key_keeps_existing_one(owner_client, practice):
    owner_client.post("/settings/integrations/healthcode/", FORM)
    owner_client.post("/settings/integrations/healthcode/", {**FORM, "api_key": "", "site_id": "HC16191"})
    integration = HealthcodeIntegration.objects.get(practice=practice)
    assert integration.site_id == "HC16191"
    assert healthcode_api_key(integration=integration) == SECRET


def test_first_save_needs_a_key_and_bad_site_id_is_named(owner_client, practice):
    response = owner_client.post("/settings/integrations/healthcode/", {**FORM, "api_key": "", "site_id": "16190"})
    html = response.content.decode()
    assert "such as HC16190" in html
    assert not HealthcodeIntegration.objects.exists()
    response = owner_client.post("/settings/integrations/healthcode/", {**FORM, "api_key": ""})
    assert "Enter the API key" in response.content.decode()


def test_api_put_never_returns_key(client, owner, practice, api_token_for):
    response = client.put(
        "/api/v1/integrations/healthcode",
        {**FORM, "environment": "sandbox"},
        content_type="application/json",
        **api_token_for(owner, practice),
    )
    assert response.status_code == 200
    assert SECRET not in response.content.decode()


def test_saving_the_same_credentials_keeps_the_connection_test(owner_client, practice):
    """Save pressed with nothing changed must not stop the practice's billing: the test that
    passed still stands. Any change (here the Site ID) makes the credentials untested again."""
    owner_client.post("/settings/integrations/healthcode/", FORM)
    HealthcodeIntegration.objects.filter(practice=practice).update(last_test_ok=True, tested_fingerprint="passed")
    owner_client.post("/settings/integrations/healthcode/", {**FORM, "api_key": ""})
    owner_client.post("/settings/integrations/healthcode/", FORM)  # the same key typed again
    integration = HealthcodeIntegration.objects.get(practice=practice)
    assert (integration.last_test_ok, integration.tested_fingerprint) == (True, "passed")
    owner_client.post("/settings/integrations/healthcode/", {**FORM, "site_id": "HC16191", "api_key": ""})
    integration = HealthcodeIntegration.objects.get(practice=practice)
    assert (integration.last_test_ok, integration.tested_fingerprint) == (None, "")
    assert integration.site_id == "HC16191"
