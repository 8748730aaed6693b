"""Settings > Integrations > Exchange log: what was sent to Healthcode and what came back, for
support; secrets never shown; owners/admins only; one practice's log only."""

import httpx
import pytest

from openpractice.healthcode import selectors
from openpractice.healthcode.client import HealthcodeClient, clear_caches
from openpractice.healthcode.models import ApiExchange
from openpractice.healthcode.submission import recorder_for
from tests.healthcode.test_submission_lifecycle import _discovery_and_token

pytestmark = pytest.mark.django_db

SECRET = "very-secret-key-4711"


def _record_real_exchanges(practice):
    """Calls through the real client (mock transport): discovery, token, a 503 then a 201."""
    clear_caches()
    replies = iter(
        [httpx.Response(503, text="busy"), httpx.Response(201, json={"id": "BILL-77", "invoice": "INV000077"})]
    )

    def handler(request):
        return _discovery_and_token(request) or next(replies)

    with HealthcodeClient(
        discovery_url="http://hc.test/.well-known/discovery-document.json",
        site_id="HC1",
        api_key_id="id",
        api_key=SECRET,
        transport=httpx.MockTransport(handler),
        recorder=recorder_for(practice.id),
        retries=2,
        backoff=0,
    ) as client:
        client.submit_claim(
            '{"resourceType": "Claim", "identifier": [{"value": "INV000077"}]}', idempotency_key="idem-1"
        )


def test_selector_filters_failures_endpoint_and_text(practice, other_practice):
    _record_real_exchanges(practice)
    _record_real_exchanges(other_practice)
    everything = selectors.exchanges(practice=practice)
    assert everything.count() == 4  # discovery, token, 503, 201: this practice's only
    assert [x.status_code for x in selectors.exchanges(practice=practice, failures_only=True)] == [503]
    assert selectors.exchanges(practice=practice, endpoint="the token endpoint").count() == 1
    assert selectors.exchanges(practice=practice, query="INV000077").count() == 2  # both attempts' bodies
    assert "submit_claim_endpoint" in selectors.endpoints(practice=practice)


def test_log_pages_show_the_exchange_and_never_a_secret(owner_client, practice):
    _record_real_exchanges(practice)
    page = owner_client.get("/settings/integrations/healthcode/log/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "submit_claim_endpoint" in text and "No calls to Healthcode yet" not in text
    assert SECRET not in text and "tok-123" not in text
    failing = owner_client.get("/settings/integrations/healthcode/log/?failures=1").content.decode()
    assert "503" in failing and "the token endpoint" not in failing.split("<tbody>")[1]
    for exchange in ApiExchange.objects.for_practice(practice):
        detail = owner_client.get(f"/settings/integrations/healthcode/log/{exchange.pk}/").content.decode()
        assert SECRET not in detail and "tok-123" not in detail
    token = ApiExchange.objects.get(practice=practice, endpoint="the token endpoint")
    detail = owner_client.get(f"/settings/integrations/healthcode/log/{token.pk}/").content.decode()
    assert "[redacted]" in detail


def test_empty_state_paging_and_bad_page_numbers(owner_client, practice):
    assert "No calls to Healthcode yet" in owner_client.get("/settings/integrations/healthcode/log/").content.decode()
    ApiExchange.objects.bulk_create(
        [
            ApiExchange(
                practice=practice,
                endpoint="find_member",
                method="GET",
                url=f"http://hc.test/member?n={n}",
                status_code=200,
            )
            for n in range(selectors.PAGE_SIZE + 5)
        ]
    )
    first = owner_client.get("/settings/integrations/healthcode/log/").content.decode()
    assert "Older" in first and first.count("find_member</td>") == selectors.PAGE_SIZE
    second = owner_client.get("/settings/integrations/healthcode/log/?page=2").content.decode()
    assert "Newer" in second and second.count("find_member</td>") == 5
    for bad in ("abc", "-4", "99999999999999999999"):
        assert owner_client.get(f"/settings/integrations/healthcode/log/?page={bad}").status_code == 200
    assert "Nothing matches" in owner_client.get("/settings/integrations/healthcode/log/?q=nope").content.decode()


def test_only_integration_managers_of_the_practice(client_for, biller, receptionist, other_owner, practice):
    _record_real_exchanges(practice)
    exchange = ApiExchange.objects.for_practice(practice).first()
    assert client_for(biller).get("/settings/integrations/healthcode/log/").status_code == 403
    assert client_for(receptionist).get(f"/settings/integrations/healthcode/log/{exchange.pk}/").status_code == 403
    assert client_for(other_owner).get(f"/settings/integrations/healthcode/log/{exchange.pk}/").status_code == 404
