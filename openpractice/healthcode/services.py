"""Healthcode actions for a practice: the connection test, the gate every other call passes
(credentials that passed the test), and the membership-check seam."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from openpractice.healthcode.client import ConnectionReport, HealthcodeClient, credentials_fingerprint
from openpractice.healthcode.credentials import healthcode_api_key
from openpractice.healthcode.errors import HealthcodeSetupError
from openpractice.healthcode.models import HealthcodeIntegration
from openpractice.practices.models import Practice


def integration_for(practice: Practice) -> HealthcodeIntegration | None:
    return HealthcodeIntegration.objects.filter(practice=practice).first()


NOT_SET_UP = "Available once Healthcode is set up: enter and test the credentials under Settings › Integrations."
NOT_TESTED = ("Healthcode's credentials for this practice have not passed “Test connection” since they were "
              "last changed, so OpenPractice makes no other call to the clearing house: run Test connection "
              "under Settings › Integrations first.")


def fingerprint_of(integration: HealthcodeIntegration) -> str:
    return credentials_fingerprint(discovery_url=integration.discovery_url, site_id=integration.site_id,
                                   api_key_id=integration.api_key_id,
                                   api_key=healthcode_api_key(integration=integration))


def is_tested(integration: HealthcodeIntegration | None) -> bool:
    """The current credentials (not merely some earlier ones) passed the connection test."""
    return bool(integration and integration.api_key_is_set and integration.last_test_ok
                and integration.tested_fingerprint and integration.tested_fingerprint == fingerprint_of(integration))


def is_configured(*, practice: Practice) -> bool:
    """Credentials saved, with a key, and those very credentials passed the connection test."""
    return is_tested(integration_for(practice))


def require_tested(*, practice: Practice) -> HealthcodeIntegration:
    """The integration, if its current credentials passed the test; otherwise HealthcodeSetupError."""
    integration = integration_for(practice)
    if integration is None or not integration.api_key_is_set:
        raise HealthcodeSetupError("Healthcode is not set up for this practice: enter the credentials first.")
    if not is_tested(integration):
        raise HealthcodeSetupError(NOT_TESTED, code="untested")
    return integration


def client_options() -> dict:
    """The limits every clearing-house client runs with (settings.py)."""
    return {"timeout": settings.HEALTHCODE_TIMEOUT_SECONDS, "retries": settings.HEALTHCODE_RETRIES,
            "backoff": settings.HEALTHCODE_BACKOFF_SECONDS, "deadline": settings.HEALTHCODE_DEADLINE_SECONDS,
            "max_reply_bytes": settings.HEALTHCODE_MAX_REPLY_BYTES,
            "breaker_failures": settings.HEALTHCODE_BREAKER_FAILURES,
            "breaker_cooloff": settings.HEALTHCODE_BREAKER_COOLOFF_SECONDS}


def client_for(*, practice: Practice, **options) -> HealthcodeClient:
    """A client for the practice's saved credentials, tested or not (the connection test uses it;
    everything else goes through submission.client_for_practice, which asks for a passed test)."""
    integration = integration_for(practice)
    if integration is None or not integration.api_key_is_set:
        raise HealthcodeSetupError("Healthcode is not set up for this practice: enter the credentials first.")
    return HealthcodeClient(
        discovery_url=integration.discovery_url, site_id=integration.site_id,
        api_key_id=integration.api_key_id, api_key=healthcode_api_key(integration=integration),
        practice_key=practice.pk, **{**client_options(), **options},
    )


def test_connection(*, practice: Practice, **client_options) -> ConnectionReport:
    """Fetch the discovery document and a token, make one site-scoped call, record the outcome
    on the integration (last_tested_at / last_test_ok / last_test_message, and the fingerprint of
    the credentials that passed). No transaction is held while the clearing house is called."""
    with client_for(practice=practice, recorder=_recorder(practice), **client_options) as client:
        report = client.test_connection()
        fingerprint = client.fingerprint
    _record_test(practice=practice, ok=report.ok, message=report.message, fingerprint=fingerprint)
    return report


def _recorder(practice: Practice):
    from openpractice.healthcode.submission import recorder_for

    return recorder_for(practice.pk)


@transaction.atomic
def _record_test(*, practice: Practice, ok: bool, message: str, fingerprint: str) -> None:
    integration = HealthcodeIntegration.objects.select_for_update().get(practice=practice)
    integration.last_tested_at = timezone.now()
    integration.last_test_ok = ok
    integration.last_test_message = message[:2000]
    # Only if the credentials were not changed while the test ran: a pass proves the ones tested.
    integration.tested_fingerprint = fingerprint if ok and fingerprint == fingerprint_of(integration) else ""
    integration._change_reason = "Connection tested"
    integration.save(update_fields=["last_tested_at", "last_test_ok", "last_test_message", "tested_fingerprint",
                                    "updated_at"])


def check_membership(*, relationship, active_on=None):
    """Find Member at the clearing house for an insurance relationship; records and returns the
    answer (healthcode.MembershipCheck): match, no match, lapsed, or which fields differ.

    `active_on` is the date the cover must be active on (the first date of service when the
    invoice asks; today from the patient's page)."""
    from openpractice.healthcode.membership import find_member

    if integration_for(relationship.practice) is None:
        raise HealthcodeSetupError(NOT_SET_UP)
    require_tested(practice=relationship.practice)
    return find_member(relationship=relationship, active_on=active_on or timezone.localdate())


def sync_code_sets_from_clearing_house(*, practice) -> dict:
    """Import the clearing house's ISC and CCSD code sets into the practice's codes (source
    "clearing_house"), through the coding app's importer: all-or-nothing, idempotent."""
    from openpractice.coding.models import ImportKind
    from openpractice.coding.services import import_code_set
    from openpractice.healthcode.code_sets import ClearingHouseCodeSource

    require_tested(practice=practice)
    outcomes = {}
    for system in ("isc", "ccsd"):
        source = ClearingHouseCodeSource(practice=practice)
        outcome = import_code_set(practice=practice, kind=ImportKind.CODES, system=system, source=source,
                                  retire_missing=False)
        outcomes[system] = {"added": outcome.added, "changed": outcome.changed, "rows": outcome.rows}
    sync_insurer_rules(practice=practice)
    return outcomes


def sync_insurer_rules(*, practice) -> int:
    """Refresh InsurerRules from the clearing house's insurer directory."""
    from openpractice.healthcode.code_sets import insurer_rules_from_directory

    return insurer_rules_from_directory(practice=practice)
