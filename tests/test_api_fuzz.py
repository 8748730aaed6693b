"""Schemathesis fuzzes every operation in the OpenAPI spec, in every phase: the schema's examples,
coverage (boundary and invalid values for each keyword), random fuzzing and a stateful run that
chains operations through the responses. No input may cause a server error, and every 4xx answer
is JSON that says what is wrong. The number of cases run is printed at the end of the session
(tests/conftest.py: `schemathesis: N cases, 0 server errors`).

The API takes files as base64 inside JSON (POST /remittances/import), not multipart, so uploads
are fuzzed like any other body; a multipart operation added later is sent as multipart here.
"""

import json
from urllib.parse import urlencode

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from hypothesis import HealthCheck, settings

from openpractice.api import api

schema = schemathesis.openapi.from_dict(api.get_openapi_schema(path_prefix="/api/v1/"))
HEALTH = [
    HealthCheck.function_scoped_fixture,
    HealthCheck.too_slow,
    HealthCheck.filter_too_much,
    HealthCheck.data_too_large,
]


@pytest.fixture
def auth_headers(owner, practice, api_token_for):
    return api_token_for(owner, practice)


@pytest.fixture
def fuzz_count(request):
    """Cases run and server errors seen by this test, handed to the session summary."""
    counts = {"cases": 0, "server_errors": 0}
    yield counts
    request.node.user_properties.append(("schemathesis", counts))


def _send(client, case, headers):
    path = case.formatted_path
    if not path.startswith("/api/v1"):
        path = "/api/v1" + path
    if case.query:
        path += "?" + urlencode(case.query, doseq=True)
    if case.media_type and case.media_type.startswith("multipart/"):
        return (
            client.generic(case.method.upper(), path, **headers)
            if case.body is None
            else getattr(client, case.method.lower())(path, data=case.body, **headers)
        )
    body = b"" if case.body is None or case.method.upper() == "GET" else json.dumps(case.body, default=str)
    return client.generic(case.method.upper(), path, data=body, content_type="application/json", **headers)


@schema.parametrize()
@settings(max_examples=12, deadline=None, derandomize=True, suppress_health_check=HEALTH)
def test_no_input_causes_a_server_error(case, auth_headers, fuzz_count):
    from django.test import Client

    client = Client(raise_request_exception=False)
    response = _send(client, case, auth_headers)
    fuzz_count["cases"] += 1
    if response.status_code >= 500:
        fuzz_count["server_errors"] += 1
    assert response.status_code < 500, (case.method, case.formatted_path, case.query, case.body, response.content[:500])
    if 400 <= response.status_code < 500 and response.status_code != 405:  # 405: a method the route lacks
        assert response["Content-Type"].startswith("application/json"), response.content[:200]
        assert response.json().get("detail"), response.content[:200]


@pytest.mark.django_db(transaction=True)
def test_stateful_sequences_cause_no_server_error(owner, practice, api_token_for, fuzz_count):
    """Operations chained by the links schemathesis infers from the responses (create, then read,
    change, archive what was created), through the real WSGI application."""
    headers = {"Authorization": api_token_for(owner, practice)["HTTP_AUTHORIZATION"]}
    wsgi = schemathesis.openapi.from_dict(api.get_openapi_schema(path_prefix="/api/v1/"))
    wsgi.app = WSGIHandler()  # calls go through the whole Django stack, in this thread and transaction
    machine = wsgi.as_state_machine()

    class Machine(machine):
        def get_call_kwargs(self, case):
            return {"headers": headers}

        def after_call(self, response, case):
            fuzz_count["cases"] += 1
            fuzz_count["answered"] = fuzz_count.get("answered", 0) + (response.status_code < 300)
            if response.status_code >= 500:
                fuzz_count["server_errors"] += 1
            assert response.status_code < 500, (case.method, case.formatted_path, case.body, response.text[:500])

        def validate_response(self, response, case, **kwargs):
            pass  # only server errors fail here; the response checks run in the test above

    Machine.run(
        settings=settings(
            max_examples=15, stateful_step_count=6, deadline=None, derandomize=True, suppress_health_check=HEALTH
        )
    )
    assert fuzz_count["cases"] > 0 and fuzz_count["answered"] > 0  # the token worked: some calls succeeded


def test_nul_characters_are_refused_with_422(client, auth_headers):
    response = client.post(
        "/api/v1/locations", json.dumps({"name": "Rooms\x00"}), content_type="application/json", **auth_headers
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "name"]
    assert "NUL" in response.json()["detail"][0]["msg"]
    response = client.get("/api/v1/insurers", {"q": "bu\x00pa"}, **auth_headers)
    assert response.status_code == 422
