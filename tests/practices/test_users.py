"""Settings > Users: invite or create users, set roles, deactivate; a practice keeps an owner."""

import pytest
from django.core import mail

from openpractice.accounts.models import User
from openpractice.practices import services
from openpractice.practices.errors import PracticeError
from openpractice.practices.models import Membership
from openpractice.practices.roles import Role


def test_invite_sends_email_with_set_password_link(owner_client, practice, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post("/settings/users/new/", {
            "full_name": "Nina New", "email": "Nina@Example.com", "role": "billing", "how": "invite",
        })
    assert response.status_code == 302
    user = User.objects.get(email="nina@example.com")
    assert not user.has_usable_password()
    assert Membership.objects.get(user=user, practice=practice).role == Role.BILLING
    assert len(mail.outbox) == 1 and "/accounts/password/reset/" in mail.outbox[0].body


def test_create_with_password(owner_client, practice, client):
    owner_client.post("/settings/users/new/", {
        "full_name": "Paul Pass", "email": "paul@example.com", "role": "practitioner",
        "how": "password", "password": "a-good-long-password",
    })
    assert client.login(username="paul@example.com", password="a-good-long-password")


def test_add_user_errors_at_the_field_and_keeps_input(owner_client, owner):
    response = owner_client.post("/settings/users/new/", {
        "full_name": "Dup", "email": owner.email, "role": "billing", "how": "password", "password": "short",
    })
    html = response.content.decode()
    assert 'id="id_password_error"' in html
    assert 'value="Dup"' in html


def test_duplicate_member_is_refused(owner, practice):
    with pytest.raises(PracticeError) as exc:
        services.add_member(practice=practice, email=owner.email, full_name="X", role=Role.BILLING, added_by=owner)
    assert exc.value.field == "email"


def test_existing_user_from_another_practice_is_added_as_is(owner, other_owner, practice):
    membership = services.add_member(practice=practice, email=other_owner.email, full_name="ignored",
                                     role=Role.PRACTITIONER, added_by=owner)
    assert membership.user == other_owner
    assert other_owner.memberships.count() == 2


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


def test_api_add_and_patch_user(client, owner, practice, api_token_for):
    headers = api_token_for(owner, practice)
    response = client.post("/api/v1/users", {"email": "api@example.com", "full_name": "Api Person", "role": "receptionist"},
                           content_type="application/json", **headers)
    assert response.status_code == 201, response.content
    member_id = response.json()["id"]
    response = client.patch(f"/api/v1/users/{member_id}", {"role": "nonsense"}, content_type="application/json", **headers)
    assert response.status_code == 422
    response = client.patch(f"/api/v1/users/{member_id}", {"is_active": False}, content_type="application/json", **headers)
    assert response.json()["is_active"] is False
