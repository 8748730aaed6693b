"""Two practices on one clearing house: practice B, typing practice A's Site ID and API key id with a
wrong key, can fetch and acknowledge nothing of A's (it once could, riding on A's cached token);
A then still fetches its remittance and its invoice is paid. Against the real sandbox, whose
second site (HC99999) has its own API client."""

from __future__ import annotations

import pytest
from remit_helpers import collected_invoice

from openpractice.billing.models import PaymentOutcome
from openpractice.healthcode import services as hc
from openpractice.healthcode.client import HealthcodeClient, HealthcodeError
from openpractice.healthcode.credentials import save_healthcode_credentials
from openpractice.healthcode.models import HealthcodeIntegration
from openpractice.remittances import fetching
from openpractice.remittances.models import RemittanceBatch
from sandbox import seed

ADJUDICATED = 130 + 3600 + 86400 + 5


def test_a_wrong_key_with_anothers_site_fetches_and_acknowledges_nothing(demo_remit, remit_sandbox, make_practice):
    from sandbox.testing import SandboxApi

    practice_a = demo_remit
    invoice = collected_invoice(practice_a)
    api = SandboxApi(remit_sandbox)
    api.advance(ADJUDICATED)
    api.close()
    with fetching._client(practice_a) as client_a:  # A's session (and token) is warm in this process
        pending_for_a = fetching.pending_ids(client_a)
    assert pending_for_a

    practice_b = make_practice("Beta Clinic")
    discovery = f"{remit_sandbox.url}/.well-known/discovery-document.json"
    # B's own, real credentials (the sandbox's second site) see none of A's remittances.
    save_healthcode_credentials(
        practice=practice_b,
        environment="sandbox",
        discovery_url=discovery,
        site_id=seed.OTHER_SITE_ID,
        api_key_id=seed.OTHER_CLIENT_ID,
        api_key=seed.OTHER_CLIENT_SECRET,
    )
    assert hc.test_connection(practice=practice_b).ok
    report = fetching.fetch_remittances(practice=practice_b)
    assert report.pending == 0 and report.stored == 0 and not report.failed, report.message

    # B types A's Site ID and API key id with a wrong key: untested, so nothing is asked at all.
    save_healthcode_credentials(
        practice=practice_b,
        environment="sandbox",
        discovery_url=discovery,
        site_id=remit_sandbox.site_id,
        api_key_id=remit_sandbox.client_id,
        api_key="a-guess-at-the-key",
    )
    report = fetching.fetch_remittances(practice=practice_b)
    assert report.failed == [hc.NOT_TESTED] and report.pending == 0
    # The test fails: the clearing house refuses the key.
    tested = hc.test_connection(practice=practice_b)
    assert not tested.ok and "invalid_client" in tested.message
    assert not hc.is_configured(practice=practice_b)
    assert fetching.fetch_remittances(practice=practice_b).failed == [hc.NOT_TESTED]
    # And even a client made around the gate has no session of A's to ride on.
    integration_b = HealthcodeIntegration.objects.get(practice=practice_b)
    with HealthcodeClient(
        discovery_url=integration_b.discovery_url,
        site_id=integration_b.site_id,
        api_key_id=integration_b.api_key_id,
        api_key="a-guess-at-the-key",
        practice_key=practice_b.pk,
        retries=0,
    ) as intruder:
        for attempt in (
            lambda: intruder.list_pending_remittances(),
            lambda: intruder.get_remittance_details(remittance_id=pending_for_a[0]),
            lambda: intruder.acknowledge_remittance(remittance_id=pending_for_a[0]),
        ):
            with pytest.raises(HealthcodeError) as refused:
                attempt()
            assert refused.value.code == "bad_credentials"
    assert not RemittanceBatch.objects.filter(practice=practice_b).exists()

    # A's remittance is still pending for A, and A gets paid.
    report = fetching.fetch_remittances(practice=practice_a)
    assert report.posted >= 1 and report.acknowledged >= 1, report.message
    invoice.refresh_from_db()
    assert invoice.payment_outcome == PaymentOutcome.PAID and invoice.balance == 0
