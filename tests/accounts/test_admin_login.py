"""The Django admin: off by default; when ADMIN_ENABLED, its login is the app's throttled,
two-factor sign-in."""

from __future__ import annotations

import importlib

import pytest
from django.core.cache import cache
from django.urls import clear_url_caches

from tests.accounts.test_two_factor import PASSWORD, code_for, turn_on


@pytest.fixture(autouse=True)
def _clear_cache(db):
    cache.clear()


def _reload_urls():
    import openpractice.urls

    importlib.reload(openpractice.urls)
    clear_url_caches()


@pytest.fixture
def admin_on(settings):
    settings.ADMIN_ENABLED = True
    _reload_urls()
    yield
    settings.ADMIN_ENABLED = False
    _reload_urls()


def test_the_admin_is_off_by_default(client, owner, settings):
    assert settings.ADMIN_ENABLED is False
    assert client.get("/admin/login/").status_code == 404
    assert client.post("/admin/login/", {"username": owner.email, "password": PASSWORD}).status_code == 404
    assert client.get("/admin/").status_code == 404


def test_admin_login_is_the_apps_sign_in(client, admin_on, owner):
    response = client.get("/admin/login/?next=/admin/")
    assert response.status_code == 302 and response["Location"] == "/accounts/login/?next=/admin/"
    # The admin's own password form is gone: a POST there signs nobody in.
    response = client.post("/admin/login/", {"username": owner.email, "password": PASSWORD})
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert "_auth_user_id" not in client.session


def test_admin_sign_in_is_throttled(client, admin_on, owner, settings):
    settings.LOGIN_FAILURE_LIMIT = 3
    owner.is_staff = True
    owner.save()
    for _ in range(3):
        client.post("/accounts/login/", {"username": owner.email, "password": "wrong", "next": "/admin/"})
    response = client.post("/accounts/login/", {"username": owner.email, "password": PASSWORD, "next": "/admin/"})
    assert response.status_code == 429
    assert client.get("/admin/").status_code == 302


def test_staff_reach_the_admin_after_password_and_code(client, admin_on, owner, practice):
    owner.is_staff = True
    owner.is_superuser = True
    owner.save()
    device, _ = turn_on(owner)
    response = client.post("/accounts/login/", {"username": owner.email, "password": PASSWORD, "next": "/admin/"})
    assert response["Location"] == "/accounts/login/code/"
    assert client.get("/admin/").status_code == 302  # not yet
    response = client.post("/accounts/login/code/", {"code": code_for(device)})
    assert response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_people_who_are_not_staff_are_refused_without_a_loop(client, admin_on, receptionist, practice):
    client.force_login(receptionist)
    response = client.get("/admin/", follow=True)
    assert response.status_code == 403
    assert len(response.redirect_chain) == 1
