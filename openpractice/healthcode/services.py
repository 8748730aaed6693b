"""Healthcode actions for a practice: the connection test, the code-set and insurer-directory
sync (the directory's own module is directory.py), and the membership-check seam. The gate every call passes (credentials that passed the
test) and the client itself live in `connection.py`; their names are importable from here too."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from openpractice.coding.models import ImportKind
from openpractice.coding.services import import_code_set
from openpractice.healthcode.client import ConnectionReport
from openpractice.healthcode.code_sets import ClearingHouseCodeSource
from openpractice.healthcode.connection import (  # noqa: F401 (NOT_TESTED: callers import it from here)
    NOT_TESTED,
    client_for,
    fingerprint_of,
    integration_for,
    is_tested,
    recorder_for,
    require_tested,
)
from openpractice.healthcode.directory import DirectoryReplyError, sync_insurer_directory
from openpractice.healthcode.errors import HealthcodeSetupError
from openpractice.healthcode.membership import find_member
from openpractice.healthcode.models import HealthcodeIntegration
from openpractice.practices.models import Practice

NOT_SET_UP = "Available once Healthcode is set up: enter and test the credentials under Settings › Integrations."


def is_configured(*, practice: Practice) -> bool:
    """Credentials saved, with a key, and those very credentials passed the connection test."""
    return is_tested(integration_for(practice))


def test_connection(*, practice: Practice, **client_options) -> ConnectionReport:
    """Fetch the discovery document and a token, make one site-scoped call, record the outcome
    on the integration (last_tested_at / last_test_ok / last_test_message, and the fingerprint of
    the credentials that passed). No transaction is held while the clearing house is called."""
    with client_for(practice=practice, recorder=recorder_for(practice.pk), **client_options) as client:
        report = client.test_connection()
        fingerprint = client.fingerprint
    _record_test(practice=practice, ok=report.ok, message=report.message, fingerprint=fingerprint)
    return report


@transaction.atomic
def _record_test(*, practice: Practice, ok: bool, message: str, fingerprint: str) -> None:
    integration = HealthcodeIntegration.objects.select_for_update().get(practice=practice)
    integration.last_tested_at = timezone.now()
    integration.last_test_ok = ok
    integration.last_test_message = message[:2000]
    # Only if the credentials were not changed while the test ran: a pass proves the ones tested.
    integration.tested_fingerprint = fingerprint if ok and fingerprint == fingerprint_of(integration) else ""
    integration._change_reason = "Connection tested"  # type: ignore[attr-defined]  # simple-history reads it; not a model field
    integration.save(
        update_fields=["last_tested_at", "last_test_ok", "last_test_message", "tested_fingerprint", "updated_at"]
    )


def check_membership(*, relationship, active_on=None):
    """Find Member at the clearing house for an insurance relationship; records and returns the
    answer (healthcode.MembershipCheck): match, no match, lapsed, or which fields differ.

    `active_on` is the date the cover must be active on (the first date of service when the
    invoice asks; today from the patient's page)."""
    if integration_for(relationship.practice) is None:
        raise HealthcodeSetupError(NOT_SET_UP)
    require_tested(practice=relationship.practice)
    return find_member(relationship=relationship, active_on=active_on or timezone.localdate())


def sync_code_sets_from_clearing_house(*, practice) -> dict:
    """Import the clearing house's ISC and CCSD code sets into the practice's codes (source
    "clearing_house"), through the coding app's importer: all-or-nothing, idempotent."""
    require_tested(practice=practice)
    outcomes: dict[str, object] = {}
    for system in ("isc", "ccsd"):
        source = ClearingHouseCodeSource(practice=practice)
        outcome = import_code_set(
            practice=practice, kind=ImportKind.CODES, system=system, source=source, retire_missing=False
        )
        outcomes[system] = {"added": outcome.added, "changed": outcome.changed, "rows": outcome.rows}
    try:  # the insurer list too: identifiers the shipped directory lacks, and each insurer's rules
        outcomes["insurers"] = sync_insurer_directory(practice=practice).summary
    except DirectoryReplyError as exc:  # the code sets are in; the directory is left as it was
        outcomes["insurers"] = exc.message
    return outcomes
