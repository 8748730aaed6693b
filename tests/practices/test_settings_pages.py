"""Settings > Practice and Locations: saving, errors at the field, the audit trail."""

from openpractice.practices.models import Location


def test_practice_details_saved_and_audited(owner_client, practice):
    response = owner_client.post(
        "/settings/practice/",
        {
            "name": "Alpha Clinic Ltd",
            "address_line1": "1 Alpha Road",
            "city": "London",
            "postcode": "w1a1aa",
        },
    )
    assert response.status_code == 302
    practice.refresh_from_db()
    assert practice.name == "Alpha Clinic Ltd" and practice.postcode == "W1A 1AA"
    page = owner_client.get("/settings/practice/").content.decode()
    assert "Practice details edited" in page


def test_bad_postcode_is_named_and_nothing_saved(owner_client, practice):
    response = owner_client.post("/settings/practice/", {"name": "Changed", "postcode": "ABC 123"})
    assert response.status_code == 200
    assert "Enter a UK postcode" in response.content.decode()
    practice.refresh_from_db()
    assert practice.name == "Alpha Clinic"


def test_locations_add_edit_and_duplicate_name(owner_client, practice):
    assert b"No locations yet" in owner_client.get("/settings/locations/").content
    owner_client.post("/settings/locations/new/", {"name": "Rooms", "postcode": "SE1 2PR", "is_active": "on"})
    location = Location.objects.get(practice=practice)
    response = owner_client.post("/settings/locations/new/", {"name": "rooms"})
    assert "already exists" in response.content.decode()
    owner_client.post(f"/settings/locations/{location.pk}/", {"name": "Rooms 2"})
    location.refresh_from_db()
    assert location.name == "Rooms 2" and not location.is_active


def test_api_validation_names_the_field(client, owner, practice, api_token_for):
    response = client.post(
        "/api/v1/locations",
        {"name": "X", "postcode": "123"},
        content_type="application/json",
        **api_token_for(owner, practice),
    )
    assert response.status_code == 422
    detail = response.json()["detail"][0]
    assert "postcode" in detail["loc"] and "UK postcode" in detail["msg"]


def test_error_pages_use_the_layout(owner_client):
    response = owner_client.get("/no/such/page/")
    assert response.status_code == 404
    assert b"Page not found" in response.content
