"""Numbers and names that once made the API answer 500: a huge paging offset, and a location
named with a non-breaking space. Both are refused or stored cleanly, never a server error."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from openpractice.practices.models import Location


@pytest.fixture
def api(owner, practice, api_token_for):
    client = Client(raise_request_exception=False)  # a 500 must show as a 500, as a real client sees it
    headers = api_token_for(owner, practice)

    def call(method, url, body=None):
        data = json.dumps(body) if body is not None else None
        return client.generic(method, url, data or "", content_type="application/json", **headers)

    return call


@pytest.mark.parametrize("url", ["/api/v1/contacts", "/api/v1/products", "/api/v1/invoices"])
@pytest.mark.parametrize("offset", ["99999999999999999999", "9223372036854775807", "-1"])
def test_a_huge_or_negative_offset_is_a_422_naming_it(api, url, offset):
    answer = api("GET", f"{url}?offset={offset}")
    assert answer.status_code == 422, answer.content[:300]
    assert answer.json()["detail"][0]["loc"][-1] == "offset"


@pytest.mark.parametrize("url", ["/api/v1/contacts", "/api/v1/products", "/api/v1/invoices"])
def test_an_offset_past_the_end_is_an_empty_page(api, url):
    answer = api("GET", f"{url}?offset=1000000000&limit=5")
    assert answer.status_code == 200 and answer.json() == []


def test_a_location_named_with_a_non_breaking_space_is_stored_normalised(api, practice):
    first = api("POST", "/api/v1/locations", {"name": "Rooms\u00a0A"})
    assert first.status_code == 201 and first.json()["name"] == "Rooms A"
    again = api("POST", "/api/v1/locations", {"name": "Rooms\u00a0A\u00a0"})
    assert again.status_code == 422, again.content[:300]  # was a 500: the unique constraint, not a message
    assert again.json()["detail"][0]["loc"] == ["body", "name"]
    assert "already exists" in again.json()["detail"][0]["msg"]
    assert api("POST", "/api/v1/locations", {"name": "  rooms  a "}).status_code == 422
    other = api("POST", "/api/v1/locations", {"name": "Rooms B"}).json()
    renamed = api("PATCH", f"/api/v1/locations/{other['id']}", {"name": "Rooms\u2003A"})  # an em space
    assert renamed.status_code == 422 and renamed.json()["detail"][0]["loc"] == ["body", "name"]
    assert list(Location.objects.for_practice(practice).values_list("name", flat=True)) == ["Rooms A", "Rooms B"]


@pytest.mark.parametrize("name", ["\u00a0", " \u2003 ", "\u3000"])
def test_a_location_name_of_only_spaces_is_refused(api, name):
    answer = api("POST", "/api/v1/locations", {"name": name})
    assert answer.status_code == 422 and answer.json()["detail"][0]["loc"] == ["body", "name"]
