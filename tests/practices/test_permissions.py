"""Roles: the pages and the API apply the same capability checks."""

import pytest

from openpractice.practices.roles import Capability, Role, role_can

ADMIN_PAGES = [
    "/settings/users/",
    "/settings/users/new/",
    "/settings/integrations/",
    "/settings/integrations/healthcode/",
]


@pytest.mark.parametrize("url", ADMIN_PAGES)
def test_receptionist_cannot_reach_users_or_integrations_pages(receptionist_client, url):
    assert receptionist_client.get(url).status_code == 403


@pytest.mark.parametrize(
    "method,url",
    [
        ("get", "/api/v1/users"),
        ("post", "/api/v1/users"),
        ("get", "/api/v1/integrations/healthcode"),
        ("put", "/api/v1/integrations/healthcode"),
    ],
)
def test_receptionist_cannot_reach_users_or_integrations_api(
    client, receptionist, practice, api_token_for, method, url
):
    response = getattr(client, method)(
        url, {}, content_type="application/json", **api_token_for(receptionist, practice)
    )
    assert response.status_code == 403
    assert "role" in response.json()["detail"].lower()


def test_receptionist_does_not_see_settings_in_navigation(receptionist_client):
    html = receptionist_client.get("/").content.decode()
    assert "Dashboard" in html
    assert ">Settings<" not in html


def test_owner_reaches_admin_pages(owner_client):
    for url in ADMIN_PAGES:
        assert owner_client.get(url).status_code == 200, url


def test_role_capabilities():
    assert role_can(Role.BILLING, Capability.BILLING)
    assert not role_can(Role.RECEPTIONIST, Capability.BILLING)
    assert not role_can(Role.PRACTITIONER, Capability.MANAGE_USERS)
    assert role_can(Role.ADMIN, Capability.MANAGE_INTEGRATIONS)


def test_member_without_practice_sees_explanation(client, db):
    from openpractice.accounts.models import User

    user = User.objects.create_user(email="loner@example.com", password="x" * 12, full_name="Lone User")
    client.force_login(user)
    response = client.get("/")
    assert response.status_code == 403
    assert b"not in a practice" in response.content
