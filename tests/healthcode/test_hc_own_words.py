"""Healthcode's own words and addresses, in the app: the documented discovery path (a host's bare
address completed to it, saying so), the HC-API-Version header on every request, and every bill
status Healthcode publishes mapped to an app status with plain words, with the guards covering
each; a status value nobody has published yet becomes Unspecified, never an error."""

from __future__ import annotations

import datetime as dt
import logging

import httpx
import pytest
from django.test import Client
from hypothesis import given
from hypothesis import strategies as st

from openpractice.billing.models import LIVE_HEALTHCODE_STATUSES, HealthcodeStatus, Invoice
from openpractice.healthcode import answers, outbound
from openpractice.healthcode import submission as hc
from openpractice.healthcode.client import HealthcodeClient, clear_caches
from openpractice.healthcode.credentials import save_healthcode_credentials
from openpractice.healthcode.models import HealthcodeIntegration, SubmissionState

PUBLISHED = [
    "Unprocessed",
    "In-process",
    "NotRequired",
    "AwaitingCorrection",
    "Validated",
    "Cancelled",
    "AwaitingCollection",
    "Collected",
    "NotFound",
    "Unspecified",
]
PLAIN_WORDS = {
    "Unprocessed": "Unprocessed — waiting for Healthcode's checks",
    "In-process": "In process — being checked by Healthcode",
    "NotRequired": "Not required — Healthcode needs no bill",
    "AwaitingCorrection": "Awaiting correction — fix and resubmit",
    "Validated": "Validated — passed Healthcode's checks",
    "Cancelled": "Cancelled",
    "AwaitingCollection": "Awaiting collection by the insurer",
    "Collected": "Collected by the insurer",
    "NotFound": "Not found at Healthcode",
    "Unspecified": "Unspecified — Healthcode gave no status we know",
}


# -- the client: header and address -------------------------------------------------------------
def _mock_client(seen: list[httpx.Request], **options) -> HealthcodeClient:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path == "/.well-known/discovery-document.json":
            return httpx.Response(
                200,
                json={
                    "token_endpoint": "https://api.healthcode.co.uk/token",
                    "list_insurers_endpoint": "https://api.healthcode.co.uk/insurers",
                    "a_field_not_published_yet": {"nested": True},  # tolerated
                },
            )
        if request.url.path == "/token":
            return httpx.Response(200, json={"access_token": "tok", "expires_in": 3600, "new_field": 1})
        return httpx.Response(200, json={"resourceType": "Bundle", "entry": [], "total": 0})

    clear_caches()
    return HealthcodeClient(
        discovery_url=outbound.default_discovery_url("live"),
        site_id="HC1",
        api_key_id="id",
        api_key="key",
        transport=httpx.MockTransport(handler),
        retries=0,
        **options,
    )


def test_every_request_carries_hc_api_version_1_and_discovery_is_at_the_documented_path(settings):
    seen: list[httpx.Request] = []
    with _mock_client(seen) as client:
        assert client.test_connection().ok
    assert [r.url.path for r in seen] == ["/.well-known/discovery-document.json", "/token", "/insurers"]
    assert str(seen[0].url) == "https://api.healthcode.co.uk/.well-known/discovery-document.json"
    assert [r.headers.get("HC-API-Version") for r in seen] == ["1", "1", "1"]


def test_the_api_version_comes_from_the_setting_or_the_client(settings):
    settings.HEALTHCODE_API_VERSION = "2"
    seen: list[httpx.Request] = []
    with _mock_client(seen) as client:
        client.discovery()
    with _mock_client(seen, api_version="3") as client:
        client.discovery()
    assert [r.headers["HC-API-Version"] for r in seen] == ["2", "3"]


def test_the_sandbox_refuses_a_version_it_does_not_answer_and_the_client_says_why(sandbox_credentials):
    credentials = {k: v for k, v in sandbox_credentials.items() if k != "environment"}
    with HealthcodeClient(**credentials, retries=0) as client:
        assert client.test_connection().ok  # version 1, sent by default
    clear_caches()
    with HealthcodeClient(**credentials, retries=0, api_version="9") as client:
        report = client.test_connection()
        answer = client.call("list_insurers_endpoint", data={"page": 1})
    assert not report.ok and "Site ID: the clearing house answered HTTP 400" in report.message
    issue = answer.json()["issue"][0]
    assert answer.status_code == 400 and issue["code"] == "not-supported"
    assert "HC-API-Version '9'" in issue["diagnostics"] and issue["expression"] == ["HC-API-Version"]


def test_default_discovery_urls_use_the_documented_path(settings):
    settings.SANDBOX_URL = "http://127.0.0.1:8100/"
    assert outbound.default_discovery_url("live") == "https://api.healthcode.co.uk/.well-known/discovery-document.json"
    assert outbound.default_discovery_url("sandbox") == "http://127.0.0.1:8100/.well-known/discovery-document.json"


@pytest.mark.parametrize(
    "typed, completed",
    [
        ("https://api.healthcode.co.uk", "https://api.healthcode.co.uk/.well-known/discovery-document.json"),
        ("https://api.healthcode.co.uk/", "https://api.healthcode.co.uk/.well-known/discovery-document.json"),
        (" https://uat.api.healthcode.co.uk ", "https://uat.api.healthcode.co.uk/.well-known/discovery-document.json"),
        ("http://127.0.0.1:8100", "http://127.0.0.1:8100/.well-known/discovery-document.json"),
        # Anything with a path is an address someone meant: left as typed.
        (
            "http://127.0.0.1:8100/.well-known/healthcode-discovery",
            "http://127.0.0.1:8100/.well-known/healthcode-discovery",
        ),
        ("https://proxy.example/healthcode/discovery", "https://proxy.example/healthcode/discovery"),
        ("https://api.healthcode.co.uk/?x=1", "https://api.healthcode.co.uk/?x=1"),
        ("", ""),
    ],
)
def test_a_hosts_bare_address_is_completed_to_the_documented_path(typed, completed):
    assert outbound.complete_discovery_url(typed) == completed


@given(host=st.from_regex(r"[a-z][a-z0-9]{0,10}(\.[a-z][a-z0-9]{0,10}){1,3}", fullmatch=True), slash=st.booleans())
def test_completion_always_ends_at_the_documented_path_on_the_same_host(host, slash):
    completed = outbound.complete_discovery_url(f"https://{host}{'/' if slash else ''}")
    assert completed == f"https://{host}/.well-known/discovery-document.json"
    assert outbound.complete_discovery_url(completed) == completed  # idempotent


def test_saving_a_base_url_stores_the_documented_path(practice, sandbox_credentials, healthcode_sandbox):
    saved = save_healthcode_credentials(
        practice=practice, **{**sandbox_credentials, "discovery_url": healthcode_sandbox.url + "/"}
    )
    assert saved.discovery_url == f"{healthcode_sandbox.url}/.well-known/discovery-document.json"


def test_the_settings_form_completes_a_base_url_and_says_so(
    owner_client, practice, sandbox_credentials, healthcode_sandbox
):
    page = owner_client.get("/settings/integrations/healthcode/").content.decode()
    assert 'placeholder="https://api.healthcode.co.uk/.well-known/discovery-document.json"' in page
    assert "Type just the host&#x27;s address and OpenPractice adds that path" in page
    assert f'value="{outbound.default_discovery_url("sandbox")}"' in page  # a new set-up's default
    response = owner_client.post(
        "/settings/integrations/healthcode/",
        {**sandbox_credentials, "discovery_url": healthcode_sandbox.url},
        follow=True,
    )
    full = f"{healthcode_sandbox.url}/.well-known/discovery-document.json"
    html = response.content.decode()
    assert f"The discovery document URL was completed to {full}" in html
    assert HealthcodeIntegration.objects.get(practice=practice).discovery_url == full
    # Typed in full, nothing to say.
    response = owner_client.post(
        "/settings/integrations/healthcode/", {**sandbox_credentials, "discovery_url": full}, follow=True
    )
    assert "was completed to" not in response.content.decode()


def test_settings_saved_with_the_sandboxs_first_path_still_work(practice, sandbox_credentials, healthcode_sandbox):
    old = f"{healthcode_sandbox.url}/.well-known/healthcode-discovery"
    save_healthcode_credentials(practice=practice, **{**sandbox_credentials, "discovery_url": old})
    credentials = {k: v for k, v in sandbox_credentials.items() if k != "environment"}
    with HealthcodeClient(**{**credentials, "discovery_url": old}) as client:
        assert client.test_connection().ok


# -- the mapping --------------------------------------------------------------------------------
@pytest.mark.parametrize("words", PUBLISHED)
def test_every_published_status_has_an_app_status_plain_words_and_a_place_in_the_guards(words):
    status = answers.status_for(words)
    assert answers.PUBLISHED_STATUSES[words] == status
    assert status.label == PLAIN_WORDS[words]
    assert status.label != words and " " in status.label or status.label == words == "Cancelled"
    # A known app state: ordered, or one of the two that say where a bill is not.
    assert status in hc.STATUS_RANK or status in hc.SIDEWAYS_STATUSES
    # The schedule keeps following it exactly when more can happen to it.
    followed = status not in hc.FINAL_STATUSES
    assert followed == (status in (*hc.CANCELLABLE, *hc.SIDEWAYS_STATUSES, HealthcodeStatus.UNPROCESSED))
    # A bill may be sent again only when no bill of it is live at Healthcode.
    assert not (status in hc.RESUBMITTABLE and status in LIVE_HEALTHCODE_STATUSES)
    assert not (status in hc.CANCELLABLE and status not in LIVE_HEALTHCODE_STATUSES)


def test_the_published_list_is_healthcodes_and_every_app_status_is_reachable():
    assert list(answers.PUBLISHED_STATUSES) == PUBLISHED
    app_only = {HealthcodeStatus.NOT_SUBMITTED, HealthcodeStatus.QUEUED}
    assert set(answers.PUBLISHED_STATUSES.values()) | app_only == set(HealthcodeStatus)


def test_awaiting_correction_keeps_the_failed_behaviour():
    status = answers.status_for("AwaitingCorrection")
    assert status == HealthcodeStatus.FAILED == answers.status_for("Failed")  # the sandbox's first word
    assert status in hc.RESUBMITTABLE and status in hc.FINAL_STATUSES and status not in hc.CANCELLABLE


@pytest.mark.parametrize(
    "spelling, words",
    [
        ("Inprocess", "In-process"),
        ("in process", "In-process"),
        ("AWAITING_COLLECTION", "AwaitingCollection"),
        ("Awaiting collection", "AwaitingCollection"),
        ("not-found", "NotFound"),
    ],
)
def test_other_spellings_of_a_published_status_are_the_same_status(spelling, words):
    assert answers.status_for(spelling) == answers.PUBLISHED_STATUSES[words]


@given(st.one_of(st.text(max_size=40), st.none(), st.integers(), st.lists(st.text(max_size=5), max_size=2)))
def test_any_status_value_maps_to_a_known_status_and_never_raises(value):
    status = answers.status_for(value)
    assert status in answers.PUBLISHED_STATUSES.values()
    folded = "".join(c for c in value.lower() if "a" <= c <= "z") if isinstance(value, str) else None
    if folded not in answers.STATUS_WORDS:
        assert status == HealthcodeStatus.UNSPECIFIED


def test_an_unknown_status_is_unspecified_with_its_words_kept_and_logged(caplog):
    body = {
        "resourceType": "ClaimResponse",
        "id": "HCB00000001",
        "extension": [{"url": answers.EXT + "bill-status", "valueString": "HeldForAudit"}],
        "disposition": "HeldForAudit",
        "someFieldAddedLater": [{"x": 1}],
        "outcome": "a-value-fhir-never-had",
    }
    with caplog.at_level(logging.WARNING, logger="openpractice.healthcode"):
        bill = answers.claim_response(body)
    assert bill.status == HealthcodeStatus.UNSPECIFIED and bill.words == "HeldForAudit"
    assert "HeldForAudit" in caplog.text and "Unspecified" in caplog.text
    nothing = answers.claim_response({"resourceType": "ClaimResponse", "id": "HCB00000002"})
    assert nothing.status == HealthcodeStatus.UNSPECIFIED and nothing.words == "Unspecified"


# -- transitions: every pair is defined ---------------------------------------------------------
@pytest.mark.parametrize("before", list(HealthcodeStatus))
@pytest.mark.parametrize("after", list(answers.PUBLISHED_STATUSES.values()))
def test_every_transition_is_decided(before, after):
    moves = hc.moves_forward(before, after)
    assert isinstance(moves, bool)
    if before == after:
        assert moves  # a repeated answer is recorded (its errors may have changed)
    if before in hc.SETTLED_STATUSES and after in hc.SIDEWAYS_STATUSES:
        assert not moves  # a collected or cancelled bill is never unsettled by "not found"
    if before in hc.SIDEWAYS_STATUSES:
        assert moves  # whatever Healthcode says next replaces "not found" or "unspecified"
    if after in (HealthcodeStatus.UNPROCESSED, HealthcodeStatus.IN_PROCESS) and before == HealthcodeStatus.COLLECTED:
        assert not moves  # a late, older answer


# -- end to end against a sandbox of this module's own (its test mode is changed here) -----------
@pytest.fixture(scope="module")
def healthcode_sandbox(tmp_path_factory):
    from sandbox.testing import start_sandbox

    process = start_sandbox(tmp_path_factory.mktemp("hc-own-words"))
    yield process
    process.stop()


def _report_as(sandbox, word: str) -> None:
    answer = httpx.put(f"{sandbox.url}/_sandbox/faults", json={"reported_status": word}, headers=sandbox.admin_headers)
    assert answer.status_code == 200, answer.text


def _client(email="billing@demo.openpractice.test") -> Client:
    from openpractice.accounts.models import User

    client = Client()
    client.force_login(User.objects.get(email=email))
    return client


def test_the_sandbox_produces_every_published_status_and_the_app_shows_it_in_plain_words(
    demo, make_invoice, healthcode_sandbox, caplog
):
    client = _client()
    try:
        for words in [*PUBLISHED, "HeldForAudit"]:
            invoice = make_invoice()
            submission = hc.submit_invoice(invoice=invoice, enqueue=False)
            assert hc.deliver(submission.pk) == SubmissionState.ACCEPTED  # Unprocessed
            _report_as(healthcode_sandbox, words)
            with caplog.at_level(logging.WARNING, logger="openpractice.healthcode"):
                submission = hc.refresh_status(submission=submission)
            _report_as(healthcode_sandbox, "")
            expected = answers.PUBLISHED_STATUSES.get(words, HealthcodeStatus.UNSPECIFIED)
            invoice.refresh_from_db()
            assert submission.healthcode_status == invoice.healthcode_status == expected, words
            assert submission.status_words == words  # the raw value, kept
            assert submission.events.last().message.endswith(f"Healthcode: {words}")
            page = client.get(f"/invoices/{invoice.pk}/").content.decode()
            assert expected.label.replace("'", "&#x27;") in page, words
        assert "HeldForAudit" in caplog.text
    finally:
        _report_as(healthcode_sandbox, "")


def test_a_bill_healthcode_does_not_find_is_not_found_and_can_be_sent_again(demo, make_invoice, healthcode_sandbox):
    invoice = make_invoice()
    submission = hc.submit_invoice(invoice=invoice, enqueue=False)
    hc.deliver(submission.pk)
    # The bill id Healthcode answers about no longer matches a bill there (as if it were lost).
    type(submission).objects.filter(pk=submission.pk).update(bill_id="HCB99999999")
    submission = hc.refresh_status(submission=submission)
    invoice.refresh_from_db()
    assert invoice.healthcode_status == HealthcodeStatus.NOT_FOUND and submission.status_words == "NotFound"
    assert invoice.healthcode_status in hc.RESUBMITTABLE and invoice.is_editable
    again = hc.submit_invoice(invoice=invoice, enqueue=False)
    assert again.version == 2 and again.replaces_id is None
    assert hc.deliver(again.pk) == SubmissionState.ACCEPTED


def test_the_list_filter_and_the_bills_report_use_the_plain_words(demo, make_invoice):
    make_invoice()
    Invoice.objects.filter(practice=demo).update(healthcode_status=HealthcodeStatus.FAILED)
    client = _client("owner@demo.openpractice.test")
    listing = client.get("/invoices/").content.decode()
    for status in HealthcodeStatus:
        assert f'<option value="{status.value}"' in listing
        assert status.label.replace("'", "&#x27;") in listing
    filtered = client.get("/invoices/?healthcode_status=failed").content.decode()
    assert "Awaiting correction — fix and resubmit" in filtered
    report = client.get("/reports/bills/").content.decode()
    for status in HealthcodeStatus:
        assert status.label.replace("'", "&#x27;") in report


def test_an_invoice_awaiting_correction_says_fix_and_resubmit_on_its_page(demo, make_invoice):
    invoice = make_invoice(service_date=dt.date.today())
    Invoice.objects.filter(pk=invoice.pk).update(healthcode_status=HealthcodeStatus.FAILED)
    page = _client().get(f"/invoices/{invoice.pk}/").content.decode()
    assert '<span class="badge danger">Awaiting correction — fix and resubmit</span>' in page
