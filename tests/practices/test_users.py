"""Settings > Users: set roles, deactivate; a practice keeps an owner. Invitations: test_invitations.py."""

import pytest

from openpractice.practices import services
from openpractice.practices.errors import PracticeError
from openpractice.practices.models import Membership
from openpractice.practices.roles import Role


def test_inviting_a_member_again_is_refused_at_the_field_and_keeps_input(owner_client, owner):
    response = owner_client.post("/settings/users/new/", {"full_name": "Dup", "email": owner.email, "role": "billing"})
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="id_email_error"' in html and "already a member of this practice" in html
    assert 'value="Dup"' in html


def test_duplicate_member_is_refused(owner, practice):
    with pytest.raises(PracticeError) as exc:
        services.invite_member(practice=practice, email=owner.email, role=Role.BILLING, invited_by=owner)
    assert exc.value.field == "email"


def test_deactivate_and_change_role(owner_client, receptionist, practice):
    membership = Membership.objects.get(user=receptionist)
    response = owner_client.post(f"/settings/users/{membership.pk}/", {"role": "billing"})
    assert response.status_code == 302
    membership.refresh_from_db()
    assert membership.role == Role.BILLING and not membership.is_active
    assert membership.history.count() == 2  # created, then changed: the audit trail


def test_last_owner_cannot_be_demoted(owner_client, owner):
    membership = Membership.objects.get(user=owner)
    response = owner_client.post(f"/settings/users/{membership.pk}/", {"role": "billing", "is_active": "on"})
    assert response.status_code == 200
    assert b"only active owner" in response.content
    membership.refresh_from_db()
    assert membership.role == Role.OWNER


def test_api_invite_and_patch_user(client, owner, receptionist, practice, api_token_for):
    headers = api_token_for(owner, practice)
    response = client.post(
        "/api/v1/users",
        {"email": "api@example.com", "full_name": "Api Person", "role": "receptionist"},
        content_type="application/json",
        **headers,
    )
    assert response.status_code == 202, response.content
    assert response.json() == {"detail": "Invitation sent to api@example.com.", "email": "api@example.com"}
    member_id = Membership.objects.get(user=receptionist).pk
    response = client.patch(
        f"/api/v1/users/{member_id}", {"role": "nonsense"}, content_type="application/json", **headers
    )
    assert response.status_code == 422
    response = client.patch(
        f"/api/v1/users/{member_id}", {"is_active": False}, content_type="application/json", **headers
    )
    assert response.json()["is_active"] is False
