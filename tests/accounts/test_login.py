"""Login, throttling of wrong passwords, password change and reset."""

import re

import pytest
from django.core import mail

PASSWORD = "correct-horse-battery"  # as in the root conftest


@pytest.fixture(autouse=True)
def _clear_cache(db):
    from django.core.cache import cache

    cache.clear()


def test_login_page_renders_for_anonymous(client, db):
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    assert b'<label for="id_username">Email address' in response.content


def test_login_with_email_case_insensitive(client, owner):
    response = client.post("/accounts/login/", {"username": "OWNER@alpha.test", "password": PASSWORD})
    assert response.status_code == 302
    assert client.get("/").status_code == 200


def test_wrong_password_names_the_problem(client, owner):
    response = client.post("/accounts/login/", {"username": owner.email, "password": "nope"})
    assert response.status_code == 200
    assert b"do not match" in response.content


def test_wrong_passwords_are_throttled(client, owner, settings):
    settings.LOGIN_FAILURE_LIMIT = 5
    for _ in range(5):
        assert client.post("/accounts/login/", {"username": owner.email, "password": "wrong"}).status_code == 200
    # Even the right password is refused while throttled.
    response = client.post("/accounts/login/", {"username": owner.email, "password": PASSWORD})
    assert response.status_code == 429
    assert b"Too many failed attempts" in response.content
    assert client.get("/").status_code == 302


def test_throttle_counts_per_account(client, owner, receptionist, settings):
    settings.LOGIN_FAILURE_LIMIT = 3
    for _ in range(3):
        client.post("/accounts/login/", {"username": owner.email, "password": "wrong"})
    response = client.post("/accounts/login/", {"username": receptionist.email, "password": PASSWORD})
    assert response.status_code == 302


def test_password_reset_sends_a_working_link(client, owner):
    response = client.post("/accounts/password/reset/", {"email": owner.email})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    link = re.search(r"http://testserver(/accounts/password/reset/\S+/)", mail.outbox[0].body).group(1)
    response = client.get(link, follow=True)
    assert b"Set a new password" in response.content
    form_url = response.redirect_chain[-1][0]
    response = client.post(form_url, {"new_password1": "a-brand-new-pass", "new_password2": "a-brand-new-pass"})
    assert response.status_code == 302
    owner.refresh_from_db()
    assert owner.check_password("a-brand-new-pass")


def test_password_change_shows_errors_at_the_field(client, owner):
    client.force_login(owner)
    response = client.post(
        "/accounts/password/",
        {
            "old_password": "wrong",
            "new_password1": "short",
            "new_password2": "short",
        },
    )
    html = response.content.decode()
    assert 'id="id_old_password_error"' in html
    assert "too short" in html


def test_logout_needs_post(client, owner):
    client.force_login(owner)
    client.post("/accounts/logout/")
    assert client.get("/").status_code == 302
