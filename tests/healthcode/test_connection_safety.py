"""The clearing-house connection made safe for a real practice: sessions that belong to one practice
and its credentials, calls only with credentials that passed "Test connection", outbound addresses
checked at every hop, an overall deadline, a reply size cap, a per-practice circuit breaker, and a
connection test that knows a Healthcode answer from an HTML page."""

from __future__ import annotations

import gzip
import json
import socket
import time
import tracemalloc

import httpx
import pytest
from local_server import local_server, send

from openpractice.healthcode import outbound
from openpractice.healthcode import services as hc
from openpractice.healthcode.client import HealthcodeClient, HealthcodeError
from openpractice.healthcode.credentials import save_healthcode_credentials
from openpractice.healthcode.errors import HealthcodeSetupError
from openpractice.healthcode.models import ApiExchange, HealthcodeIntegration
from openpractice.practices import crypto
from sandbox.testing import free_port

DISCOVERY = "/.well-known/discovery-document.json"


def _client(url: str, **options) -> HealthcodeClient:
    values = {
        "discovery_url": url + DISCOVERY,
        "site_id": "HC16190",
        "api_key_id": "openpractice-demo",
        "api_key": "sandbox-demo-key",
        "retries": 0,
        "backoff": 0,
        **options,
    }
    return HealthcodeClient(**values)


def _discovery(base: str, **overrides) -> str:
    return json.dumps({"token_endpoint": f"{base}/token", "list_insurers_endpoint": f"{base}/insurers", **overrides})


# -- sessions belong to one practice and its credentials ----------------------------------------
def test_a_wrong_key_never_rides_on_another_practices_token(sandbox_credentials):
    """The finding: the token was cached per (URL, key id, site), so a wrong key reused a right one's."""
    creds = {k: v for k, v in sandbox_credentials.items() if k != "environment"}
    with HealthcodeClient(**creds, practice_key="A") as a:
        assert a.list_pending_remittances().status_code == 200  # A's token is now cached
        with HealthcodeClient(**{**creds, "api_key": "a-wrong-key"}, practice_key="B") as b:
            with pytest.raises(HealthcodeError) as refused:
                b.list_pending_remittances()
            assert refused.value.code == "bad_credentials"
        # Even the same practice with a changed key gets no old session.
        with HealthcodeClient(**{**creds, "api_key": "another-wrong-key"}, practice_key="A") as a2:
            with pytest.raises(HealthcodeError, match="refused the API key"):
                a2.list_pending_remittances()


def test_the_fingerprint_covers_the_key_and_never_holds_it(sandbox_credentials):
    creds = {k: v for k, v in sandbox_credentials.items() if k != "environment"}
    with HealthcodeClient(**creds) as one, HealthcodeClient(**{**creds, "api_key": "x"}) as two:
        assert one.fingerprint != two.fingerprint and len(one.fingerprint) == 64
        assert creds["api_key"] not in one.fingerprint


# -- untested credentials make no calls ---------------------------------------------------------
def test_untested_credentials_make_no_calls(practice):
    from openpractice.healthcode.submission import client_for_practice
    from openpractice.remittances.fetching import fetch_remittances

    def answer(request):
        send(request, 500, "{}")

    with local_server(answer) as url:
        save_healthcode_credentials(
            practice=practice,
            environment="sandbox",
            discovery_url=url + DISCOVERY,
            site_id="HC16190",
            api_key_id="openpractice-demo",
            api_key="sandbox-demo-key",
        )
        with pytest.raises(HealthcodeSetupError) as untested:
            client_for_practice(practice)
        assert untested.value.code == "untested" and "Test connection" in untested.value.message
        report = fetch_remittances(practice=practice)
        assert report.failed == [hc.NOT_TESTED] and report.pending == 0
        with pytest.raises(HealthcodeSetupError, match="Test connection"):
            hc.sync_code_sets_from_clearing_house(practice=practice)
        assert url.hits == []  # nothing reached the clearing house
        hc.test_connection(practice=practice)  # the test itself is the one call allowed
        assert url.hits == [DISCOVERY]


def test_a_passed_test_covers_only_the_credentials_tested(practice, sandbox_credentials):
    from openpractice.healthcode.submission import client_for_practice

    save_healthcode_credentials(practice=practice, **sandbox_credentials)
    assert not hc.is_configured(practice=practice)
    assert hc.test_connection(practice=practice).ok
    assert hc.is_configured(practice=practice)
    with client_for_practice(practice) as client:
        assert client.list_insurers().status_code == 200
    # The key changed behind the form's back (say, restored from a backup): untested again.
    HealthcodeIntegration.objects.filter(practice=practice).update(api_key_encrypted=crypto.encrypt("other-key"))
    assert not hc.is_configured(practice=practice)
    with pytest.raises(HealthcodeSetupError, match="Test connection"):
        client_for_practice(practice)
    # Saved again through the service: untested until tested.
    save_healthcode_credentials(practice=practice, **sandbox_credentials)
    integration = HealthcodeIntegration.objects.get(practice=practice)
    assert integration.tested_fingerprint == "" and not hc.is_configured(practice=practice)


# -- outbound addresses -------------------------------------------------------------------------
@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:22/.well-known/discovery-document.json",  # loopback, not the sandbox's port
        "http://localhost:8100/.well-known/discovery-document.json",  # not the configured name
        "http://10.1.2.3/.well-known/discovery-document.json",  # private
        "http://169.254.169.254/latest/meta-data/",  # link-local (cloud metadata)
        "http://[::1]:8100/.well-known/discovery-document.json",
        "http://api.healthcode.co.uk/.well-known/discovery-document.json",  # live is https only
        "https://healthcode.co.uk.evil.example/discovery",
        "https://user:pw@api.healthcode.co.uk/.well-known/discovery-document.json",
        "file:///etc/passwd",
    ],
)
def test_addresses_not_configured_are_refused(settings, practice, url):
    settings.HEALTHCODE_ALLOWED_HOSTS = []
    with pytest.raises(HealthcodeSetupError) as refused:
        save_healthcode_credentials(
            practice=practice,
            environment="sandbox",
            discovery_url=url,
            site_id="HC16190",
            api_key_id="id",
            api_key="key",
        )
    assert refused.value.field == "discovery_url"
    recorded = []
    with HealthcodeClient(
        discovery_url=url, site_id="HC16190", api_key_id="id", api_key="key", recorder=recorded.append
    ) as client:
        report = client.test_connection()
    assert not report.ok and report.steps[0].name == "Discovery document"
    assert "not called" in report.message
    assert all(r["response_body"] == "" and r["status_code"] is None for r in recorded)


def test_configured_environments_are_allowed(settings):
    settings.HEALTHCODE_ALLOWED_HOSTS = ["hc-proxy.internal:8443", ".uat.example"]
    for url in (
        outbound.LIVE_DISCOVERY_URL,
        "https://auth.healthcode.co.uk/token",
        settings.SANDBOX_URL + DISCOVERY,
        "https://hc-proxy.internal:8443/d",
        "https://api.uat.example/d",
    ):
        assert outbound.is_allowed(url), url
    assert not outbound.is_allowed("https://hc-proxy.internal:8444/d")
    assert outbound.default_discovery_url("live") == outbound.LIVE_DISCOVERY_URL


def test_a_healthcode_name_resolving_to_a_private_address_is_refused(monkeypatch):
    """Live hosts must resolve to public addresses only (a poisoned or rebinding DNS answer is refused)."""
    monkeypatch.setattr(
        socket,
        "getaddrinfo",
        lambda host, port, **kw: [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port)),
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.7", port)),
        ],
    )
    with pytest.raises(outbound.OutboundRefused, match="10.0.0.7"):
        outbound.checked_addresses("api.healthcode.co.uk", 443)


def test_sandbox_on_loopback_is_allowed_because_it_is_configured(settings, healthcode_sandbox):
    settings.HEALTHCODE_ALLOWED_HOSTS = []
    settings.SANDBOX_URL = healthcode_sandbox.url
    with _client(healthcode_sandbox.url) as client:
        assert client.test_connection().ok


def test_an_endpoint_on_a_foreign_host_is_refused_and_the_key_goes_nowhere(settings):
    def answer(request):
        if request.path == DISCOVERY:
            send(request, 200, _discovery(url, token_endpoint="http://169.254.169.254/token"))
        else:
            send(request, 200, '{"access_token": "t"}')

    with local_server(answer) as url:
        with _client(url) as client:
            report = client.test_connection()
    assert not report.ok and "token_endpoint is refused" in report.message
    assert url.hits == [DISCOVERY]

    def answer_insurers_elsewhere(request):
        send(request, 200, _discovery(url2, list_insurers_endpoint="https://evil.example/insurers"))

    with local_server(answer_insurers_elsewhere) as url2:
        with _client(url2) as client, pytest.raises(HealthcodeError) as refused:
            client.discovery()
    assert refused.value.code == "host_not_allowed" and "list_insurers_endpoint" in refused.value.message


def test_a_redirect_is_a_failure_and_not_followed(healthcode_sandbox):
    def answer(request):
        send(request, 302, "", Location=healthcode_sandbox.url + DISCOVERY)

    with local_server(answer) as url:
        with _client(url) as client:
            report = client.test_connection()
    assert not report.ok and "redirect (HTTP 302)" in report.message
    assert url.hits == [DISCOVERY]


# -- blank key with a changed address -----------------------------------------------------------
def test_changing_the_url_or_key_id_asks_for_the_key_again(practice, sandbox_credentials, healthcode_sandbox):
    save_healthcode_credentials(practice=practice, **sandbox_credentials)
    moved = f"http://127.0.0.1:{free_port()}{DISCOVERY}"
    for change in (
        {"discovery_url": moved},
        {"api_key_id": "someone-else"},
        {"environment": "live", "discovery_url": ""},
    ):
        with pytest.raises(HealthcodeSetupError) as asked:
            save_healthcode_credentials(practice=practice, **{**sandbox_credentials, **change, "api_key": ""})
        assert asked.value.field == "api_key" and "Enter the API key again" in asked.value.message
    integration = HealthcodeIntegration.objects.get(practice=practice)
    assert integration.discovery_url == sandbox_credentials["discovery_url"]
    # A blank discovery URL takes the environment's own address.
    save_healthcode_credentials(
        practice=practice, **{**sandbox_credentials, "environment": "live", "discovery_url": "", "api_key": "live-key"}
    )
    assert HealthcodeIntegration.objects.get(practice=practice).discovery_url == outbound.LIVE_DISCOVERY_URL


def test_the_form_names_why_the_key_is_asked_for(owner_client, practice, sandbox_credentials):
    assert owner_client.post("/settings/integrations/healthcode/", sandbox_credentials).status_code == 302
    moved = f"http://127.0.0.1:{free_port()}{DISCOVERY}"
    response = owner_client.post(
        "/settings/integrations/healthcode/", {**sandbox_credentials, "discovery_url": moved, "api_key": ""}
    )
    html = response.content.decode()
    assert response.status_code == 200 and "Enter the API key again: the discovery document URL changed" in html
    assert moved in html  # the values typed are kept
    assert HealthcodeIntegration.objects.get(practice=practice).discovery_url == sandbox_credentials["discovery_url"]
    response = owner_client.post(
        "/settings/integrations/healthcode/", {**sandbox_credentials, "discovery_url": "http://169.254.169.254/latest/"}
    )
    assert response.status_code == 200 and "not a clearing-house address" in response.content.decode()


def test_the_api_answers_422_naming_the_field(client, owner, practice, api_token_for, sandbox_credentials):
    headers = api_token_for(owner, practice)
    assert (
        client.put(
            "/api/v1/integrations/healthcode", sandbox_credentials, content_type="application/json", **headers
        ).status_code
        == 200
    )
    answer = client.put(
        "/api/v1/integrations/healthcode",
        {**sandbox_credentials, "api_key_id": "other-id", "api_key": None},
        content_type="application/json",
        **headers,
    )
    assert answer.status_code == 422
    (problem,) = answer.json()["detail"]
    assert problem["loc"] == ["body", "api_key"] and "API key id changed" in problem["msg"]


# -- deadline and size cap ----------------------------------------------------------------------
def test_a_dripping_server_fails_within_the_deadline():
    def drip(request):
        request.send_response(200)
        request.send_header("Content-Type", "application/json")
        request.send_header("Content-Length", "1000000")
        request.end_headers()
        for _ in range(60):
            request.wfile.write(b" ")
            request.wfile.flush()
            time.sleep(0.5)

    with local_server(drip) as url:
        with _client(url, deadline=2.0, timeout=httpx.Timeout(10.0)) as client:
            started = time.monotonic()
            with pytest.raises(HealthcodeError) as failed:
                client.discovery()
            took = time.monotonic() - started
    assert failed.value.code == "timeout" and "timeout" in failed.value.message
    assert 1.5 < took < 2.6, took  # the drip kept every read alive; the deadline did not care


def test_a_huge_reply_stops_at_the_cap_without_taking_memory():
    piece = b"x" * 65536

    def flood(request):  # 50 MB, no Content-Length: only reading tells how big it is
        request.send_response(200)
        request.send_header("Content-Type", "application/json")
        request.end_headers()
        for _ in range(800):
            request.wfile.write(piece)

    with local_server(flood, http10=True) as url:
        with _client(url, max_reply_bytes=1_000_000) as client:
            tracemalloc.start()
            try:
                with pytest.raises(HealthcodeError) as failed:
                    client.discovery()
                _, peak = tracemalloc.get_traced_memory()
            finally:
                tracemalloc.stop()
    assert failed.value.code == "too_large" and "1,000,000 bytes" in failed.value.message
    assert peak < 8_000_000, peak


def test_a_declared_huge_reply_or_a_compressed_bomb_is_refused():
    bomb = gzip.compress(b"0" * 30_000_000)

    def answer(request):
        if request.path == "/declared":
            send(request, 200, b"{}", **{"Content-Length": "100000000"})
        else:
            send(request, 200, bomb, Content_Encoding="gzip")

    with local_server(answer) as url:
        for path in ("/declared", DISCOVERY):
            with HealthcodeClient(
                discovery_url=url + path, site_id="HC1", api_key_id="i", api_key="k", max_reply_bytes=1_000_000
            ) as client:
                tracemalloc.start()
                try:
                    with pytest.raises(HealthcodeError) as failed:
                        client.discovery()
                    _, peak = tracemalloc.get_traced_memory()
                finally:
                    tracemalloc.stop()
            assert failed.value.code == "too_large" and peak < 8_000_000, (path, peak)


def test_too_large_and_timeouts_are_retried_with_backoff(sandbox_credentials):
    def flood(request):
        if request.path == DISCOVERY:
            send(request, 200, _discovery(url))
        elif request.path == "/token":
            send(request, 200, '{"access_token": "tok", "expires_in": 3600}')
        else:
            send(request, 200, b"[" + b"0," * 600_000 + b"0]")

    with local_server(flood) as url:
        with _client(url, max_reply_bytes=100_000, retries=2, backoff=0.01) as client:
            with pytest.raises(HealthcodeError, match="larger than"):
                client.list_insurers()
    assert url.hits.count("/insurers") == 3


# -- the circuit breaker ------------------------------------------------------------------------
def test_the_breaker_opens_for_a_failing_practice_while_another_goes_through(sandbox_credentials):
    def unavailable(request):
        send(request, 503, '{"resourceType": "OperationOutcome"}')

    creds = {k: v for k, v in sandbox_credentials.items() if k != "environment"}
    with local_server(unavailable) as url:
        failing = _client(url, practice_key="A", breaker_failures=3, breaker_cooloff=30)
        for _ in range(3):
            with pytest.raises(HealthcodeError, match="HTTP 503"):
                failing.discovery()
        hits = len(url.hits)
        started = time.monotonic()
        with pytest.raises(HealthcodeError) as paused:
            failing.discovery()
        assert paused.value.code == "circuit_open" and "paused" in paused.value.message
        assert time.monotonic() - started < 0.1 and len(url.hits) == hits  # failed at once, nothing sent
        # Every client of practice A (another thread, another worker request) sees it too.
        with pytest.raises(HealthcodeError, match="paused"):
            _client(url, practice_key="A", breaker_failures=3).discovery()
        # Practice B is not held up.
        with HealthcodeClient(**creds, practice_key="B") as other:
            assert other.list_insurers().status_code == 200
        failing.close()


def test_the_breaker_closes_after_the_cool_off_and_a_success(healthcode_sandbox):
    with _client(
        f"http://127.0.0.1:{free_port()}", practice_key="C", breaker_failures=1, breaker_cooloff=0.2
    ) as client:
        with pytest.raises(HealthcodeError, match="Could not reach"):
            client.discovery()
        with pytest.raises(HealthcodeError, match="paused"):
            client.discovery()
        time.sleep(0.25)
        with pytest.raises(HealthcodeError, match="Could not reach"):
            client.discovery()  # tried again after the cool-off


# -- Test connection knows what it is talking to ------------------------------------------------
def test_an_html_page_fails_the_test_at_the_step_it_answered():
    html = "<!doctype html><html><body>Welcome to our portal</body></html>"

    def portal(request):
        send(request, 200, html, content_type="text/html")

    with local_server(portal) as url:
        with _client(url) as client:
            report = client.test_connection()
    assert not report.ok and report.steps[0].name == "Discovery document" and not report.steps[0].ok
    assert "text/html" in report.message

    def html_after_token(request):
        if request.path == DISCOVERY:
            send(request, 200, _discovery(url2))
        elif request.path == "/token":
            send(request, 200, '{"access_token": "tok", "expires_in": 3600}')
        else:
            send(request, 200, html, content_type="text/html")

    with local_server(html_after_token) as url2:
        with _client(url2) as client:
            report = client.test_connection()
    assert [s.ok for s in report.steps] == [True, True, False]
    assert report.steps[2].name == "Site ID" and "not a FHIR Bundle" in report.steps[2].detail

    def html_token(request):
        if request.path == DISCOVERY:
            send(request, 200, _discovery(url3))
        else:
            send(request, 200, html, content_type="text/html")

    with local_server(html_token) as url3:
        with _client(url3) as client:
            report = client.test_connection()
    assert [s.ok for s in report.steps] == [True, False] and "text/html" in report.steps[1].detail


def test_the_exchange_log_keeps_the_connection_test(practice, sandbox_credentials):
    save_healthcode_credentials(practice=practice, **sandbox_credentials)
    hc.test_connection(practice=practice)
    endpoints = list(ApiExchange.objects.filter(practice=practice).order_by("id").values_list("endpoint", flat=True))
    assert endpoints == ["the discovery document", "the token endpoint", "list_insurers_endpoint"]
    assert sandbox_credentials["api_key"] not in "".join(
        ApiExchange.objects.filter(practice=practice).values_list("request_body", flat=True)
    )


def test_the_status_schedule_skips_an_untested_practice_and_goes_on(demo, make_invoice, sandbox_credentials):
    """Credentials changed after bills went out: the schedule records the refusal per bill, asks
    nothing, and does not stop (another practice's bills would be next)."""
    from openpractice.healthcode import submission as hc_submission

    invoice = make_invoice()
    submission = hc_submission.submit_invoice(invoice=invoice, enqueue=False)
    assert hc_submission.deliver(submission.pk) == "accepted"
    save_healthcode_credentials(practice=demo, **{**sandbox_credentials, "api_key": "a-new-key"})  # changed: untested
    before = ApiExchange.objects.filter(practice=demo).count()
    counts = hc_submission.sync_due(practice=demo)
    assert counts["failed"] >= 1 and counts["refreshed"] == 0
    assert ApiExchange.objects.filter(practice=demo).count() == before
