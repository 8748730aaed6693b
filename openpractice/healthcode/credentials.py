"""Everything that writes a practice's Healthcode credentials, and the one reader of the key.

The key is encrypted with practices.crypto (the generic field cipher); only the clearing-house
client asks for it in clear (healthcode_api_key)."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from openpractice.healthcode import outbound
from openpractice.healthcode.errors import HealthcodeSetupError
from openpractice.healthcode.models import HealthcodeIntegration
from openpractice.practices import crypto
from openpractice.practices.models import Practice


@transaction.atomic
def save_healthcode_credentials(
    *,
    practice: Practice,
    environment: str,
    discovery_url: str,
    site_id: str,
    api_key_id: str,
    api_key: str | None,
) -> HealthcodeIntegration:
    """Store the practice's Healthcode credentials. A blank discovery_url takes the environment's
    documented address, and a host's bare address is completed to the documented discovery path
    on it (outbound.complete_discovery_url); the address must be one the client may call. A blank
    api_key keeps the one already set, unless the environment, discovery URL or API key id
    changed: the stored key is only ever sent where, and with the key id, it was entered for."""
    discovery_url = outbound.complete_discovery_url(discovery_url) or outbound.default_discovery_url(environment)
    try:
        outbound.rule_for_url(discovery_url)
    except outbound.OutboundRefused as exc:
        raise HealthcodeSetupError(exc.message, field="discovery_url", code="host_not_allowed") from None
    integration = HealthcodeIntegration.objects.select_for_update().filter(practice=practice).first()
    if integration is None:
        integration = HealthcodeIntegration(practice=practice)
    changed = [
        label
        for label, old, new in (
            ("environment", integration.environment, environment),
            ("discovery document URL", integration.discovery_url, discovery_url),
            ("API key id", integration.api_key_id, api_key_id.strip()),
        )
        if integration.pk and old != new
    ]
    if not api_key and integration.api_key_encrypted and changed:
        raise HealthcodeSetupError(
            f"Enter the API key again: the {' and '.join(changed)} changed, and the stored key is only sent to "
            "the clearing house and key id it was entered for.",
            field="api_key",
            code="key_required",
        )
    stored_key = crypto.decrypt(integration.api_key_encrypted) if integration.api_key_encrypted else ""
    before = (
        integration.environment,
        integration.discovery_url,
        integration.site_id,
        integration.api_key_id,
        stored_key,
    )
    integration.environment = environment
    integration.discovery_url = discovery_url
    integration.site_id = site_id.strip().upper()
    integration.api_key_id = api_key_id.strip()
    if api_key and api_key != stored_key:
        integration.api_key_encrypted = crypto.encrypt(api_key)
        integration.api_key_set_at = timezone.now()
    elif not integration.api_key_encrypted:
        raise HealthcodeSetupError(
            "Enter the API key Healthcode issued for this system.", field="api_key", code="invalid"
        )
    after = (
        integration.environment,
        integration.discovery_url,
        integration.site_id,
        integration.api_key_id,
        api_key or stored_key,
    )
    if before != after:
        # New credentials make the last connection test meaningless: untested until tested again.
        # Saving the same ones (the page's Save pressed with nothing changed) keeps the test.
        integration.last_tested_at = None
        integration.last_test_ok = None
        integration.last_test_message = ""
        integration.tested_fingerprint = ""
    integration.save()
    return integration


def healthcode_api_key(*, integration: HealthcodeIntegration) -> str:
    """The decrypted key, for the Healthcode client only. Never render or log it."""
    return crypto.decrypt(integration.api_key_encrypted)
