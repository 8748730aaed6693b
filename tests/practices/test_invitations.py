"""Members join by invitation: nothing about accounts outside the practice is revealed, nobody is a
member until they accept, and the emailed token is single-use, expiring and stored only hashed."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openpractice.accounts.models import User
from openpractice.practices import services
from openpractice.practices.errors import PracticeError
from openpractice.practices.models import Invitation, Membership
from openpractice.practices.roles import Role

LINK = re.compile(r"https?://[^/\s]+(/invitations/([A-Za-z0-9_-]+)/)")


def _invite(practice, owner, email, role=Role.PRACTITIONER, capture=None):
    if capture is None:
        return services.invite_member(practice=practice, email=email, role=role, invited_by=owner)
    with capture(execute=True):
        return services.invite_member(practice=practice, email=email, role=role, invited_by=owner)


def _link(message) -> tuple[str, str]:
    """(path, raw token) from an invitation email."""
    match = LINK.search(message.body)
    assert match, message.body
    return match.group(1), match.group(2)


@pytest.fixture
def invite(practice, owner, django_capture_on_commit_callbacks):
    """Invite an email and return (invitation, link path, raw token) from the email sent."""

    def make(email, role=Role.PRACTITIONER):
        mail.outbox.clear()
        invitation = _invite(practice, owner, email, role, django_capture_on_commit_callbacks)
        assert len(mail.outbox) == 1 and mail.outbox[0].to == [email.strip().lower()]
        path, token = _link(mail.outbox[0])
        return invitation, path, token

    return make


# --- services ------------------------------------------------------------------------------------


def test_existing_account_is_not_a_member_until_they_accept(practice, other_owner, invite):
    invitation, _, token = invite(other_owner.email)
    assert not Membership.objects.filter(user=other_owner, practice=practice).exists()
    assert "You already have an OpenPractice login" in mail.outbox[0].body
    membership = services.accept_invitation(token=token, user=other_owner)
    assert membership.practice == practice and membership.role == Role.PRACTITIONER
    invitation.refresh_from_db()
    assert invitation.accepted_at is not None and invitation.accepted_by == other_owner


def test_unknown_email_creates_no_account_until_they_accept(practice, invite, client):
    users_before = User.objects.count()
    _, _, token = invite("new.person@example.test", Role.BILLING)
    assert User.objects.count() == users_before
    assert "choose your password" in mail.outbox[0].body
    membership = services.accept_invitation_with_new_account(
        token=token, full_name="New Person", password="a-good-long-password"
    )
    assert membership.role == Role.BILLING and membership.user.email == "new.person@example.test"
    assert client.login(username="new.person@example.test", password="a-good-long-password")


def test_same_outcome_for_known_and_unknown_email(practice, owner, other_owner):
    known = services.invite_member(practice=practice, email=other_owner.email, role=Role.BILLING, invited_by=owner)
    unknown = services.invite_member(
        practice=practice, email="nobody@example.test", role=Role.BILLING, invited_by=owner
    )
    for invitation in (known, unknown):
        assert type(invitation) is Invitation and invitation.status == "pending"
    # Nothing on the invitation is about the account: the same fields are set either way.
    fields = [f.name for f in Invitation._meta.concrete_fields if f.name not in ("id", "email", "token_hash")]
    same = {f: getattr(known, f) is None for f in fields}
    assert same == {f: getattr(unknown, f) is None for f in fields}


def test_token_is_stored_only_hashed(invite):
    invitation, _, token = invite("hash@example.test")
    invitation.refresh_from_db()
    assert invitation.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in str([getattr(invitation, f.attname) for f in Invitation._meta.concrete_fields])


def test_token_works_once(other_owner, invite):
    _, _, token = invite(other_owner.email)
    services.accept_invitation(token=token, user=other_owner)
    with pytest.raises(PracticeError) as exc:
        services.accept_invitation(token=token, user=other_owner)
    assert exc.value.code == "accepted"


def test_expired_token_is_refused(other_owner, invite):
    invitation, _, token = invite(other_owner.email)
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(PracticeError) as exc:
        services.accept_invitation(token=token, user=other_owner)
    assert exc.value.code == "expired"
    assert not other_owner.memberships.filter(practice=invitation.practice).exists()


def test_revoked_token_is_refused(owner, other_owner, invite):
    invitation, _, token = invite(other_owner.email)
    services.revoke_invitation(invitation=invitation, revoked_by=owner)
    with pytest.raises(PracticeError) as exc:
        services.accept_invitation(token=token, user=other_owner)
    assert exc.value.code == "revoked"
    with pytest.raises(PracticeError):
        services.resend_invitation(invitation=invitation, sent_by=owner)


def test_accepted_invitation_cannot_be_revoked(owner, other_owner, invite):
    invitation, _, token = invite(other_owner.email)
    services.accept_invitation(token=token, user=other_owner)
    with pytest.raises(PracticeError) as exc:
        services.revoke_invitation(invitation=invitation, revoked_by=owner)
    assert exc.value.code == "accepted"


def test_only_the_invited_account_may_accept(practice, receptionist, other_owner, invite):
    _, _, token = invite(other_owner.email)
    with pytest.raises(PracticeError) as exc:
        services.accept_invitation(token=token, user=receptionist)
    assert exc.value.code == "wrong_account"
    assert not Membership.objects.filter(user=other_owner, practice=practice).exists()


def test_resend_issues_a_new_link_and_the_old_one_stops_working(
    owner, other_owner, invite, django_capture_on_commit_callbacks
):
    invitation, _, old_token = invite(other_owner.email)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.resend_invitation(invitation=invitation, sent_by=owner)
    _, new_token = _link(mail.outbox[0])
    assert new_token != old_token
    with pytest.raises(PracticeError) as exc:
        services.accept_invitation(token=old_token, user=other_owner)
    assert exc.value.code == "unknown"
    services.accept_invitation(token=new_token, user=other_owner)


def test_inviting_again_refreshes_the_one_open_invitation(practice, owner):
    first = services.invite_member(practice=practice, email="twice@example.test", role=Role.BILLING, invited_by=owner)
    second = services.invite_member(
        practice=practice, email="Twice@Example.test ", role=Role.PRACTITIONER, invited_by=owner
    )
    assert first.pk == second.pk and second.role == Role.PRACTITIONER
    assert Invitation.objects.filter(practice=practice).count() == 1


def test_new_account_password_rules_apply(invite):
    _, _, token = invite("weak@example.test")
    with pytest.raises(PracticeError) as exc:
        services.accept_invitation_with_new_account(token=token, full_name="Weak", password="12345678901")
    assert exc.value.field == "new_password1"
    assert not User.objects.filter(email="weak@example.test").exists()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    local=st.from_regex(r"[a-z][a-z0-9]{0,7}(\.[a-z0-9]{1,5})?", fullmatch=True), shout=st.booleans(), pad=st.booleans()
)
def test_page_answer_is_the_same_whether_or_not_an_account_exists(
    owner_client, make_practice, make_member, local, shout, pad
):
    """Whatever the spelling, the inviter sees the same redirect and the same words for an email
    with an account elsewhere and one without."""
    elsewhere = make_practice("Elsewhere")
    answers = []
    for domain in ("has-account.test", "no-account.test"):
        email = f"{local}@{domain}"
        if domain == "has-account.test" and not User.objects.filter(email=email).exists():
            make_member(elsewhere, Role.OWNER, email=email, full_name="Hidden Person")
        Invitation.objects.filter(email=email).delete()
        typed = (email.upper() if shout else email) + (" " if pad else "")
        response = owner_client.post("/settings/users/new/", {"email": typed, "role": "billing"}, follow=True)
        html = response.content.decode().replace(domain, "DOMAIN")
        answers.append((response.redirect_chain, re.search(r"Invitation sent to [^<]*", html).group(0)))
        assert "Hidden Person" not in html
    assert answers[0] == answers[1]


# --- pages ---------------------------------------------------------------------------------------


def test_users_page_lists_pending_invitations_with_resend_and_revoke(owner_client, invite):
    invitation, _, _ = invite("pending@example.test")
    html = owner_client.get("/settings/users/").content.decode()
    assert "pending@example.test" in html
    assert f"/settings/users/invitations/{invitation.pk}/resend/" in html
    assert f"/settings/users/invitations/{invitation.pk}/revoke/" in html


def test_users_page_invites_and_answers_without_account_details(
    owner_client, practice, other_owner, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(
            "/settings/users/new/", {"email": other_owner.email, "role": "billing", "full_name": ""}, follow=True
        )
    html = response.content.decode()
    assert f"Invitation sent to {other_owner.email}." in html
    assert other_owner.full_name not in html
    assert not Membership.objects.filter(user=other_owner, practice=practice).exists()
    assert len(mail.outbox) == 1


def test_invite_form_errors_name_the_field(owner_client):
    response = owner_client.post("/settings/users/new/", {"email": "not-an-email", "role": "wizard"})
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="id_email_error"' in html and 'id="id_role_error"' in html


def test_revoke_confirms_naming_the_email_then_revokes(owner_client, invite):
    invitation, path, _ = invite("revoke.me@example.test")
    page = owner_client.get(f"/settings/users/invitations/{invitation.pk}/revoke/")
    assert page.status_code == 200 and "Revoke the invitation to revoke.me@example.test?" in page.content.decode()
    invitation.refresh_from_db()
    assert invitation.revoked_at is None  # the GET only asks
    response = owner_client.post(f"/settings/users/invitations/{invitation.pk}/revoke/", follow=True)
    assert "Invitation to revoke.me@example.test revoked" in response.content.decode()
    pending = owner_client.get("/settings/users/").content.decode().split("Pending invitations")[1]
    assert "revoke.me@example.test" not in pending and "No invitations waiting" in pending
    gone = owner_client.get(path)
    assert gone.status_code == 410 and "withdrawn" in gone.content.decode()


def test_resend_page_sends_a_new_link(owner_client, invite, django_capture_on_commit_callbacks):
    invitation, old_path, _ = invite("again@example.test")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(f"/settings/users/invitations/{invitation.pk}/resend/", follow=True)
    assert "Invitation sent again to again@example.test" in response.content.decode()
    new_path, _ = _link(mail.outbox[0])
    assert new_path != old_path


def test_another_practices_invitation_is_404(client_for, other_owner, invite):
    invitation, _, _ = invite("mine@example.test")
    other = client_for(other_owner)
    assert other.get(f"/settings/users/invitations/{invitation.pk}/revoke/").status_code == 404
    assert other.post(f"/settings/users/invitations/{invitation.pk}/resend/").status_code == 404


def test_receptionist_cannot_manage_invitations(receptionist_client, invite):
    invitation, _, _ = invite("x@example.test")
    assert receptionist_client.get(f"/settings/users/invitations/{invitation.pk}/revoke/").status_code == 403
    assert receptionist_client.post(f"/settings/users/invitations/{invitation.pk}/resend/").status_code == 403


def test_accept_page_existing_account_signs_in_then_accepts(client, practice, other_owner, invite):
    _, path, _ = invite(other_owner.email)
    page = client.get(path)
    assert page.status_code == 200 and f"Sign in as {other_owner.email} to accept" in page.content.decode()
    assert client.post(path).status_code == 200  # not signed in: nothing happens
    assert not Membership.objects.filter(user=other_owner, practice=practice).exists()
    client.force_login(other_owner)
    response = client.post(path, follow=True)
    assert f"You have joined {practice.name} as Practitioner" in response.content.decode()
    assert Membership.objects.filter(user=other_owner, practice=practice, role=Role.PRACTITIONER).exists()
    used = client.get(path)
    assert used.status_code == 410 and "already been used" in used.content.decode()


def test_accept_page_refuses_a_different_signed_in_account(client_for, practice, receptionist, other_owner, invite):
    _, path, _ = invite(other_owner.email)
    browser = client_for(receptionist)
    page = browser.get(path).content.decode()
    assert f"You are signed in as {receptionist.email}" in page
    browser.post(path)
    assert not Membership.objects.filter(user=other_owner, practice=practice).exists()


def test_accept_page_new_person_sets_password_and_joins(client, practice, invite):
    _, path, _ = invite("fresh@example.test", Role.RECEPTIONIST)
    page = client.get(path).content.decode()
    assert 'for="id_new_password1"' in page and 'for="id_full_name"' in page
    bad = client.post(
        path,
        {
            "full_name": "Fresh Face",
            "new_password1": "a-good-long-password",
            "new_password2": "something-else-entirely",
        },
    )
    assert bad.status_code == 200 and 'id="id_new_password2_error"' in bad.content.decode()
    assert 'value="Fresh Face"' in bad.content.decode()
    response = client.post(
        path,
        {"full_name": "Fresh Face", "new_password1": "a-good-long-password", "new_password2": "a-good-long-password"},
    )
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert client.login(username="fresh@example.test", password="a-good-long-password")
    assert Membership.objects.get(user__email="fresh@example.test", practice=practice).role == Role.RECEPTIONIST


def test_accept_page_refuses_expired_and_unknown_links(client, invite):
    invitation, path, _ = invite("late@example.test")
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - timedelta(days=1))
    expired = client.get(path)
    assert expired.status_code == 410 and "expired" in expired.content.decode()
    assert (
        client.post(
            path,
            {"full_name": "Late", "new_password1": "a-good-long-password", "new_password2": "a-good-long-password"},
        ).status_code
        == 410
    )
    assert not User.objects.filter(email="late@example.test").exists()
    unknown = client.get("/invitations/not-a-real-token/")
    assert unknown.status_code == 404 and "not recognised" in unknown.content.decode()


# --- API -----------------------------------------------------------------------------------------


def test_api_invite_answers_the_same_for_known_and_unknown_email(client, owner, other_owner, practice, api_token_for):
    headers = api_token_for(owner, practice)
    answers = []
    for email in (other_owner.email, "nobody@example.test"):
        response = client.post(
            "/api/v1/users",
            {"email": email, "role": "billing", "full_name": ""},
            content_type="application/json",
            **headers,
        )
        assert response.status_code == 202
        answers.append(response.json())
        assert set(response.json()) == {"detail", "email"}
    assert answers[0]["detail"].replace(other_owner.email, "X") == answers[1]["detail"].replace(
        "nobody@example.test", "X"
    )
    assert not Membership.objects.filter(user=other_owner, practice=practice).exists()


def test_api_lists_resends_and_revokes_invitations(client, owner, practice, api_token_for):
    headers = api_token_for(owner, practice)
    client.post(
        "/api/v1/users",
        {"email": "api.invite@example.test", "role": "billing"},
        content_type="application/json",
        **headers,
    )
    listed = client.get("/api/v1/invitations", **headers).json()
    assert [(i["email"], i["status"]) for i in listed] == [("api.invite@example.test", "pending")]
    invitation_id = listed[0]["id"]
    assert client.post(f"/api/v1/invitations/{invitation_id}/resend", **headers).status_code == 202
    revoked = client.delete(f"/api/v1/invitations/{invitation_id}", **headers)
    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
    assert client.get("/api/v1/invitations", **headers).json() == []
    again = client.post(f"/api/v1/invitations/{invitation_id}/resend", **headers)
    assert again.status_code == 422 and again.json()["detail"][0]["type"] == "revoked"


def test_api_invite_errors_and_permissions(
    client, owner, receptionist, other_owner, other_practice, practice, api_token_for
):
    headers = api_token_for(owner, practice)
    bad = client.post("/api/v1/users", {"email": "nope", "role": "billing"}, content_type="application/json", **headers)
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"][-1] == "email"
    member = client.post(
        "/api/v1/users", {"email": owner.email, "role": "billing"}, content_type="application/json", **headers
    )
    assert member.status_code == 422 and member.json()["detail"][0]["type"] == "duplicate"
    denied = client.post(
        "/api/v1/users",
        {"email": "a@example.test", "role": "billing"},
        content_type="application/json",
        **api_token_for(receptionist, practice),
    )
    assert denied.status_code == 403
    client.post(
        "/api/v1/users",
        {"email": "theirs@example.test", "role": "billing"},
        content_type="application/json",
        **api_token_for(other_owner, other_practice),
    )
    theirs = Invitation.objects.get(email="theirs@example.test")
    assert client.delete(f"/api/v1/invitations/{theirs.pk}", **headers).status_code == 404
