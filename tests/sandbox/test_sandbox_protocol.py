"""Discovery, OAuth2 client credentials, SU-SiteId, and malformed requests."""

from __future__ import annotations

import base64
import time

import httpx
import pytest

from sandbox import seed
from sandbox.fhir import dumps
from sandbox.testing import SandboxApi, assert_operation_outcome, example_claim, start_sandbox, unique_invoice

DISCOVERY_KEYS = [
    "token_endpoint",
    "find_member_endpoint",
    "submit_claim_endpoint",
    "claim_status_endpoint",
    "cancel_claim_endpoint",
    "list_insurers_endpoint",
    "search_code_set_endpoint",
    "list_pending_remittances_endpoint",
    "get_remittance_details_endpoint",
    "acknowledge_remittance_endpoint",
    "search_remittance_summary_endpoint",
]


def test_discovery_lists_every_endpoint_as_an_absolute_url_on_the_request_host(shared_sandbox):
    answer = httpx.get(f"{shared_sandbox.url}/.well-known/healthcode-discovery")
    assert answer.status_code == 200
    document = answer.json()
    for key in DISCOVERY_KEYS:
        assert document[key].startswith(shared_sandbox.url + "/"), key
    # Built from the Host header, so a proxy or another name gives its own URLs.
    renamed = httpx.get(
        f"{shared_sandbox.url}/.well-known/healthcode-discovery", headers={"Host": "sandbox.example:9000"}
    ).json()
    assert renamed["token_endpoint"] == "http://sandbox.example:9000/oauth2/token"


def test_openid_configuration_names_the_token_endpoint(shared_sandbox):
    document = httpx.get(f"{shared_sandbox.url}/.well-known/openid-configuration").json()
    assert document["token_endpoint"] == f"{shared_sandbox.url}/oauth2/token"
    assert "client_credentials" in document["grant_types_supported"]


def test_token_by_form_credentials_and_by_basic_auth(api):
    token_url = api.endpoints["token_endpoint"]
    form = api.http.post(
        token_url,
        data={
            "grant_type": "client_credentials",
            "client_id": seed.DEMO_CLIENT_ID,
            "client_secret": seed.DEMO_CLIENT_SECRET,
        },
    ).json()
    assert form["token_type"] == "Bearer" and form["expires_in"] == 3600 and form["access_token"]
    basic = base64.b64encode(f"{seed.DEMO_CLIENT_ID}:{seed.DEMO_CLIENT_SECRET}".encode()).decode()
    answer = api.http.post(
        token_url, data={"grant_type": "client_credentials"}, headers={"Authorization": f"Basic {basic}"}
    )
    assert answer.status_code == 200
    assert answer.json()["access_token"] != form["access_token"]


@pytest.mark.parametrize(
    "form, status, error",
    [
        (
            {"grant_type": "client_credentials", "client_id": seed.DEMO_CLIENT_ID, "client_secret": "wrong"},
            401,
            "invalid_client",
        ),
        ({"grant_type": "client_credentials", "client_id": "nobody", "client_secret": "x"}, 401, "invalid_client"),
        ({"grant_type": "client_credentials"}, 401, "invalid_client"),
        (
            {"grant_type": "password", "client_id": seed.DEMO_CLIENT_ID, "client_secret": seed.DEMO_CLIENT_SECRET},
            400,
            "unsupported_grant_type",
        ),
    ],
)
def test_token_endpoint_refuses_bad_requests_with_oauth_errors(api, form, status, error):
    answer = api.http.post(api.endpoints["token_endpoint"], data=form)
    assert answer.status_code == status
    assert answer.json()["error"] == error


def test_api_call_without_su_site_id_is_400(api):
    answer = api.http.post(
        api.endpoints["list_insurers_endpoint"], data={}, headers={"Authorization": f"Bearer {api.token}"}
    )
    assert_operation_outcome(answer, 400, "SU-SiteId")


@pytest.mark.parametrize("authorization", [None, "Bearer not-a-real-token", "Basic abc"])
def test_api_call_with_missing_or_bad_token_is_401(api, authorization):
    headers = {"SU-SiteId": seed.DEMO_SITE_ID}
    if authorization:
        headers["Authorization"] = authorization
    answer = api.http.post(api.endpoints["list_insurers_endpoint"], data={}, headers=headers)
    assert_operation_outcome(answer, 401, "token")
    assert answer.headers["www-authenticate"].startswith("Bearer")


def test_token_of_one_site_cannot_act_for_another(api):
    answer = api.http.post(
        api.endpoints["list_insurers_endpoint"],
        data={},
        headers={"Authorization": f"Bearer {api.token}", "SU-SiteId": seed.OTHER_SITE_ID},
    )
    assert_operation_outcome(answer, 403, "SU-SiteId")
    other_token = api.fetch_token(seed.OTHER_CLIENT_ID, seed.OTHER_CLIENT_SECRET)
    answer = api.http.post(
        api.endpoints["list_insurers_endpoint"],
        data={},
        headers={"Authorization": f"Bearer {other_token}", "SU-SiteId": seed.DEMO_SITE_ID},
    )
    assert_operation_outcome(answer, 403, "SU-SiteId")


def test_bills_of_one_site_are_invisible_to_another(api):
    bill_id = api.submit(example_claim(invoice_number=unique_invoice())).json()["id"]
    other_token = api.fetch_token(seed.OTHER_CLIENT_ID, seed.OTHER_CLIENT_SECRET)
    answer = api.http.get(
        f"{api.endpoints['submit_claim_endpoint']}/{bill_id}",
        headers={"Authorization": f"Bearer {other_token}", "SU-SiteId": seed.OTHER_SITE_ID},
    )
    assert_operation_outcome(answer, 404, bill_id)


def test_tokens_expire_after_their_lifetime(tmp_path):
    sandbox = start_sandbox(tmp_path, token_lifetime=1)
    try:
        client = SandboxApi(sandbox)
        assert client.search("list_insurers_endpoint").status_code == 200
        time.sleep(1.2)
        answer = client.search("list_insurers_endpoint")
        assert_operation_outcome(answer, 401, "expired")
        client.token = client.fetch_token()
        assert client.search("list_insurers_endpoint").status_code == 200
        client.close()
    finally:
        sandbox.stop()


def test_admin_can_expire_every_token(fresh_sandbox):
    client = SandboxApi(fresh_sandbox)
    assert (
        httpx.post(f"{fresh_sandbox.url}/_sandbox/tokens/expire", headers=fresh_sandbox.admin_headers).status_code
        == 200
    )
    assert_operation_outcome(client.search("list_insurers_endpoint"), 401, "expired")
    client.close()


def test_admin_endpoints_need_the_admin_token(shared_sandbox):
    answer = httpx.post(f"{shared_sandbox.url}/_sandbox/clock/advance", json={"seconds": 1})
    assert_operation_outcome(answer, 401, "X-Sandbox-Admin-Token")
    answer = httpx.post(
        f"{shared_sandbox.url}/_sandbox/clock/advance", json={"seconds": 1}, headers={"X-Sandbox-Admin-Token": "guess"}
    )
    assert answer.status_code == 401


def _post_claim_body(api, body: bytes, content_type: str = "application/fhir+json") -> httpx.Response:
    return api.http.post(
        api.endpoints["submit_claim_endpoint"], content=body, headers=api.headers(**{"Content-Type": content_type})
    )


def test_bad_json_is_400(api):
    assert_operation_outcome(_post_claim_body(api, b'{"resourceType": "Claim",'), 400, "not valid JSON")


def test_json_that_is_not_an_object_is_400(api):
    assert_operation_outcome(_post_claim_body(api, b"[1, 2]"), 400, "Claim")


def test_wrong_resource_type_is_400(api):
    assert_operation_outcome(_post_claim_body(api, b'{"resourceType": "Patient"}'), 400, "resourceType")


def test_structurally_invalid_claim_is_400_naming_the_element(api):
    claim = example_claim(invoice_number=unique_invoice())
    del claim["patient"]
    claim["status"] = "bogus"
    answer = _post_claim_body(api, dumps(claim))
    assert_operation_outcome(answer, 400, "patient")
    assert "status" in answer.text


def test_claim_without_invoice_number_is_422(api):
    claim = example_claim()
    claim["identifier"] = [{"system": "urn:other", "value": "x"}]
    assert_operation_outcome(_post_claim_body(api, dumps(claim)), 422, "invoice-number")


def test_claim_for_unknown_insurer_is_422(api):
    claim = example_claim(invoice_number=unique_invoice(), insurer="zzz")
    assert_operation_outcome(_post_claim_body(api, dumps(claim)), 422, "zzz")


def test_wrong_content_type_is_415(api):
    assert_operation_outcome(_post_claim_body(api, b"<Claim/>", "application/xml"), 415, "Content-Type")
    answer = api.http.post(api.endpoints["list_insurers_endpoint"], json={"page": 1}, headers=api.headers())
    assert_operation_outcome(answer, 415, "x-www-form-urlencoded")


def test_oversized_body_is_413(api):
    body = b'{"resourceType": "Claim", "text": "' + b"x" * (1024 * 1024 + 10) + b'"}'
    assert_operation_outcome(_post_claim_body(api, body), 413, "limit")


def test_unknown_path_is_404_and_wrong_method_is_405(api):
    assert_operation_outcome(api.http.get("/api/v1/nothing-here", headers=api.headers()), 404, "/api/v1/nothing-here")
    answer = api.http.get(api.endpoints["list_insurers_endpoint"], headers=api.headers())
    assert_operation_outcome(answer, 405, "POST")


def test_bad_paging_is_400(api):
    assert_operation_outcome(api.search("list_insurers_endpoint", page=0), 400, "page")
    assert_operation_outcome(api.search("list_insurers_endpoint", count="lots"), 400, "count")
