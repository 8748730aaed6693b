"""Schemathesis fuzzes every operation in the OpenAPI spec: no input may cause a server error,
and every 4xx answer is JSON that says what is wrong."""

import json

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from openpractice.api import api

schema = schemathesis.openapi.from_dict(api.get_openapi_schema(path_prefix="/api/v1/"))


@pytest.fixture
def auth_headers(owner, practice, api_token_for):
    return api_token_for(owner, practice)


@schema.parametrize()
@settings(max_examples=12, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much])
def test_no_input_causes_a_server_error(case, client, auth_headers):
    from urllib.parse import urlencode

    path = case.formatted_path
    if not path.startswith("/api/v1"):
        path = "/api/v1" + path
    if case.query:
        path += "?" + urlencode(case.query, doseq=True)
    body = b"" if case.body is None or case.method.upper() == "GET" else json.dumps(case.body, default=str)
    response = client.generic(case.method.upper(), path, data=body, content_type="application/json", **auth_headers)
    assert response.status_code < 500, (case.method, path, case.body, response.content[:500])
    if 400 <= response.status_code < 500 and response.status_code != 405:  # 405: a method the route lacks
        assert response["Content-Type"].startswith("application/json"), response.content[:200]
        assert response.json().get("detail"), response.content[:200]


def test_nul_characters_are_refused_with_422(client, auth_headers):
    response = client.post("/api/v1/locations", json.dumps({"name": "Rooms\x00"}),
                           content_type="application/json", **auth_headers)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "name"]
    assert "NUL" in response.json()["detail"][0]["msg"]
    response = client.get("/api/v1/insurers", {"q": "bu\x00pa"}, **auth_headers)
    assert response.status_code == 422
