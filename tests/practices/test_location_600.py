"""Locations: the Healthcode "600" number (600 + 6 digits) for provider and payee locations."""

import pytest

from openpractice.practices import services
from openpractice.practices.errors import PracticeError
from openpractice.practices.models import Location

BASE = {
    "name": "Clinic",
    "address_line1": "",
    "address_line2": "",
    "city": "",
    "postcode": "",
    "phone": "",
    "is_active": True,
}


def test_service_accepts_and_normalises(practice):
    loc = services.create_location(
        practice=practice, data={**BASE, "healthcode_600_number": "600 123 456", "is_provider": True}
    )
    assert loc.healthcode_600_number == "600123456" and loc.is_provider


@pytest.mark.parametrize("value", ["60012345", "6001234567", "700123456", "600ABC456"])
def test_service_refuses_bad_format(practice, value):
    with pytest.raises(PracticeError, match="600 followed by 6 digits") as exc:
        services.create_location(practice=practice, data={**BASE, "healthcode_600_number": value})
    assert exc.value.field == "healthcode_600_number"


def test_provider_or_payee_needs_a_600_number_and_unique(practice):
    with pytest.raises(PracticeError, match="needs its Healthcode"):
        services.create_location(practice=practice, data={**BASE, "is_payee": True})
    services.create_location(practice=practice, data={**BASE, "healthcode_600_number": "600123456"})
    with pytest.raises(PracticeError, match="already has 600 number"):
        services.create_location(
            practice=practice, data={**BASE, "name": "Other", "healthcode_600_number": "600123456"}
        )


def test_page(owner_client, practice):
    response = owner_client.post(
        "/settings/locations/new/",
        {**BASE, "name": "Day unit", "healthcode_600_number": "60012", "is_provider": "on", "city": "Leeds"},
    )
    html = response.content.decode()
    assert (
        'id="id_healthcode_600_number_error"' in html and "600 followed by 6 digits" in html and 'value="Leeds"' in html
    )
    assert not Location.objects.exists()
    owner_client.post(
        "/settings/locations/new/",
        {**BASE, "name": "Day unit", "healthcode_600_number": "600654321", "is_provider": "on", "is_payee": "on"},
    )
    listing = owner_client.get("/settings/locations/").content.decode()
    assert "600654321" in listing and "Provider" in listing and "Payee" in listing


def test_api(client, owner, practice, api_token_for):
    headers = api_token_for(owner, practice)
    bad = client.post(
        "/api/v1/locations", {"name": "X", "healthcode_600_number": "123"}, content_type="application/json", **headers
    )
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "healthcode_600_number"]
    good = client.post(
        "/api/v1/locations",
        {"name": "X", "healthcode_600_number": "600123456", "is_payee": True},
        content_type="application/json",
        **headers,
    )
    assert good.status_code == 201 and good.json()["healthcode_600_number"] == "600123456"
