"""Another practice's objects are a 404 (page and API); a token sees only its own practice."""

import pytest

from openpractice.practices.models import Location, Membership
from openpractice.practices.roles import Role


@pytest.fixture
def beta_location(other_practice):
    return Location.objects.create(practice=other_practice, name="Beta rooms")


def test_page_for_other_practices_location_is_404(owner_client, beta_location):
    response = owner_client.get(f"/settings/locations/{beta_location.pk}/")
    assert response.status_code == 404
    assert b"Beta rooms" not in response.content


def test_page_for_other_practices_member_is_404(owner_client, other_owner, other_practice):
    membership = Membership.objects.get(user=other_owner, practice=other_practice)
    assert owner_client.get(f"/settings/users/{membership.pk}/").status_code == 404


def test_api_for_other_practices_location_is_404(client, owner, practice, beta_location, api_token_for):
    response = client.get(f"/api/v1/locations/{beta_location.pk}", **api_token_for(owner, practice))
    assert response.status_code == 404
    response = client.patch(
        f"/api/v1/locations/{beta_location.pk}",
        {"name": "Hijacked"},
        content_type="application/json",
        **api_token_for(owner, practice),
    )
    assert response.status_code == 404
    beta_location.refresh_from_db()
    assert beta_location.name == "Beta rooms"


def test_api_token_sees_only_its_practice(client, owner, practice, other_practice, make_member, api_token_for):
    # The same person is an owner in both practices; each token is bound to one.
    make_member(other_practice, Role.OWNER, email=owner.email)
    Location.objects.create(practice=practice, name="Alpha rooms")
    Location.objects.create(practice=other_practice, name="Beta rooms")
    alpha = client.get("/api/v1/locations", **api_token_for(owner, practice)).json()
    beta = client.get("/api/v1/locations", **api_token_for(owner, other_practice)).json()
    assert [loc["name"] for loc in alpha] == ["Alpha rooms"]
    assert [loc["name"] for loc in beta] == ["Beta rooms"]
    assert client.get("/api/v1/me", **api_token_for(owner, other_practice)).json()["practice_name"] == "Beta Clinic"


def test_session_switching_practice_changes_scope(client, owner, practice, other_practice, make_member):
    make_member(other_practice, Role.RECEPTIONIST, email=owner.email)
    client.force_login(owner)
    assert client.get("/api/v1/me").json()["practice_name"] == "Alpha Clinic"
    client.post("/practice/switch/", {"practice_id": other_practice.pk})
    me = client.get("/api/v1/me").json()
    assert me["practice_name"] == "Beta Clinic"
    assert me["role"] == "receptionist"


def test_cannot_switch_into_a_practice_you_are_not_in(owner_client, other_practice):
    owner_client.post("/practice/switch/", {"practice_id": other_practice.pk})
    assert owner_client.get("/api/v1/me").json()["practice_name"] == "Alpha Clinic"


def test_revoked_token_and_deactivated_member_are_refused(client, owner, practice, api_token_for):
    headers = api_token_for(owner, practice)
    assert client.get("/api/v1/me", **headers).status_code == 200
    Membership.objects.filter(user=owner).update(is_active=False)
    assert client.get("/api/v1/me", **headers).status_code == 401


def test_every_page_needs_a_login(client, practice):
    for url in ["/", "/settings/practice/", "/settings/users/", "/settings/integrations/", "/accounts/api-tokens/"]:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/accounts/login/")
    assert client.get("/api/v1/me").status_code == 401
