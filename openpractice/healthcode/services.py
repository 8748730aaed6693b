"""Healthcode actions for a practice: the connection test, and the membership-check seam."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from openpractice.healthcode.client import ConnectionReport, HealthcodeClient
from openpractice.healthcode.errors import HealthcodeSetupError
from openpractice.practices.models import HealthcodeIntegration, Practice
from openpractice.practices.services import healthcode_api_key

NOT_SET_UP = "Available once Healthcode is set up: enter and test the credentials under Settings › Integrations."


def integration_for(practice: Practice) -> HealthcodeIntegration | None:
    return HealthcodeIntegration.objects.filter(practice=practice).first()


def is_configured(*, practice: Practice) -> bool:
    """Credentials saved, with a key, and the last connection test worked."""
    integration = integration_for(practice)
    return bool(integration and integration.api_key_is_set and integration.last_test_ok)


def client_for(*, practice: Practice, **options) -> HealthcodeClient:
    integration = integration_for(practice)
    if integration is None or not integration.api_key_is_set:
        raise HealthcodeSetupError("Healthcode is not set up for this practice: enter the credentials first.")
    return HealthcodeClient(
        discovery_url=integration.discovery_url, site_id=integration.site_id,
        api_key_id=integration.api_key_id, api_key=healthcode_api_key(integration=integration), **options,
    )


def test_connection(*, practice: Practice, **client_options) -> ConnectionReport:
    """Fetch the discovery document and a token, make one site-scoped call, record the outcome
    on the integration (last_tested_at / last_test_ok / last_test_message). No transaction is
    held while the clearing house is called."""
    with client_for(practice=practice, **client_options) as client:
        report = client.test_connection()
    _record_test(practice=practice, ok=report.ok, message=report.message)
    return report


@transaction.atomic
def _record_test(*, practice: Practice, ok: bool, message: str) -> None:
    integration = HealthcodeIntegration.objects.select_for_update().get(practice=practice)
    integration.last_tested_at = timezone.now()
    integration.last_test_ok = ok
    integration.last_test_message = message[:2000]
    integration._change_reason = "Connection tested"
    integration.save(update_fields=["last_tested_at", "last_test_ok", "last_test_message", "updated_at"])


def check_membership(*, relationship, active_on=None):
    """Find Member at the clearing house for an insurance relationship; records and returns the
    answer (healthcode.MembershipCheck): match, no match, lapsed, or which fields differ.

    `active_on` is the date the cover must be active on (the first date of service when the
    invoice asks; today from the patient's page)."""
    from openpractice.healthcode.membership import find_member

    if not is_configured(practice=relationship.practice):
        raise HealthcodeSetupError(NOT_SET_UP)
    return find_member(relationship=relationship, active_on=active_on or timezone.localdate())


def sync_code_sets_from_clearing_house(*, practice) -> dict:
    """Import the clearing house's ISC and CCSD code sets into the practice's codes (source
    "clearing_house"), through the coding app's importer: all-or-nothing, idempotent."""
    from openpractice.coding.models import CodeSource, ImportKind
    from openpractice.coding.services import import_code_set
    from openpractice.healthcode.code_sets import ClearingHouseCodeSource

    if not is_configured(practice=practice):
        raise HealthcodeSetupError(NOT_SET_UP)
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
