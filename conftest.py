"""Fixtures shared by tests/ and e2e/: practices, people in every role, logged-in clients."""

from __future__ import annotations

import os
import shutil

import pytest

from openpractice.practices.roles import Role

PASSWORD = "correct-horse-battery"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")


def pytest_collection_modifyitems(config, items):
    """Browser tests need Debian's Chromium. Skipped visibly where it is missing, except in CI."""
    if shutil.which(CHROMIUM) or os.path.exists(CHROMIUM):
        # One rerun for a browser test, shown as "R" and in the summary: a headless browser on a
        # loaded 2-core machine can miss a timeout; a real fault fails twice.
        for item in items:
            if "browser" in item.keywords:
                item.add_marker(pytest.mark.flaky(reruns=1, reruns_delay=2))
        return
    if os.environ.get("OPENPRACTICE_REQUIRE_BROWSER") == "1":
        return  # let them run and fail: CI must never skip the browser
    skip = pytest.mark.skip(
        reason=f"Chromium not installed at {CHROMIUM}: apt-get install chromium to run browser tests"
    )
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(skip)


# The database cache for every test, whatever REDIS_URL says (the test database gets its table):
# tests/test_cache_redis.py tests Redis itself. Static files by their own names, as the test server
# finds them, whatever a `make run` collected (tests/test_collectstatic_if_changed.py tests those).
TEST_CACHES = {
    alias: {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "openpractice_cache"}
    for alias in ("default", "database")
}
TEST_STATIC_STORAGE = {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"}
# Fast password hashing for tests: the production PBKDF2 (a million rounds, about 0.25 s of CPU)
# ran for every user a fixture or seed_demo made and every form login, several minutes of a CI run.
# What tests check (a password works, a wrong one does not) is the same with any hasher.
TEST_PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# WhiteNoise looks a static file up when it is asked for, not by listing every file (finders and
# STATIC_ROOT) when a handler starts: each test client starts one, and the listing cost about 30 ms
# every time (minutes over the API fuzz tests, which make a client per case). The same files are
# served with the same headers either way.
TEST_WHITENOISE_AUTOREFRESH = True


def pytest_configure(config):
    from django.conf import settings

    if settings.configured:
        from django.test.utils import override_settings

        storages = {**settings.STORAGES, "staticfiles": TEST_STATIC_STORAGE}
        override_settings(
            CACHES=TEST_CACHES,
            STORAGES=storages,
            PASSWORD_HASHERS=TEST_PASSWORD_HASHERS,
            WHITENOISE_AUTOREFRESH=TEST_WHITENOISE_AUTOREFRESH,
        ).enable()


@pytest.fixture(autouse=True)
def _clearing_house_hosts(settings):
    """Tests start sandboxes on free ports of 127.0.0.1 (and some use httpx's mock transport for
    hc.test): allowed here as an administrator would list them. Tests of the refusals set their own."""
    settings.HEALTHCODE_ALLOWED_HOSTS = ["127.0.0.1", "hc.test"]
    # seed_demo's year of invoices is for people trying the app: tests that want it ask (--history).
    settings.DEMO_HISTORY = False


@pytest.fixture
def make_practice(db):
    from openpractice.practices.models import Practice

    def make(name="Test Practice", **extra):
        return Practice.objects.create(name=name, **extra)

    return make


@pytest.fixture
def make_member(db):
    from openpractice.accounts.models import User
    from openpractice.practices.models import Membership

    counter = {"n": 0}

    def make(practice, role=Role.OWNER, email=None, full_name=None, **extra):
        counter["n"] += 1
        email = email or f"{role}{counter['n']}@example.test"
        user = User.objects.filter(email=email).first() or User.objects.create_user(
            email=email, password=PASSWORD, full_name=full_name or f"{role.title()} {counter['n']}"
        )
        Membership.objects.create(user=user, practice=practice, role=role, **extra)
        return user

    return make


@pytest.fixture
def practice(make_practice):
    return make_practice("Alpha Clinic", address_line1="1 Alpha Road", city="London", postcode="W1A 1AA")


@pytest.fixture
def other_practice(make_practice):
    return make_practice("Beta Clinic")


@pytest.fixture
def owner(practice, make_member):
    return make_member(practice, Role.OWNER, email="owner@alpha.test", full_name="Alice Owner")


@pytest.fixture
def receptionist(practice, make_member):
    return make_member(practice, Role.RECEPTIONIST, email="reception@alpha.test", full_name="Rob Reception")


@pytest.fixture
def biller(practice, make_member):
    return make_member(practice, Role.BILLING, email="billing@alpha.test", full_name="Bea Biller")


@pytest.fixture
def practitioner(practice, make_member):
    return make_member(practice, Role.PRACTITIONER, email="dr@alpha.test", full_name="Dr Pat Practitioner")


@pytest.fixture
def other_owner(other_practice, make_member):
    return make_member(other_practice, Role.OWNER, email="owner@beta.test", full_name="Bob Beta")


def _client_for(user):
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def client_for():
    return _client_for


@pytest.fixture
def owner_client(owner):
    return _client_for(owner)


@pytest.fixture
def receptionist_client(receptionist):
    return _client_for(receptionist)


@pytest.fixture
def api_token_for(db):
    from openpractice.accounts.services import create_api_token

    def make(user, practice):
        _, raw = create_api_token(user=user, practice=practice, name="test")
        return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}

    return make


@pytest.fixture(scope="session")
def healthcode_sandbox(tmp_path_factory):
    """The sandbox clearing house (sandbox/), a real process on a free port, for the whole run."""
    from sandbox.testing import start_sandbox

    process = start_sandbox(tmp_path_factory.mktemp("healthcode-sandbox"))
    yield process
    process.stop()


@pytest.fixture
def sandbox_credentials(healthcode_sandbox):
    """Form/API values for the sandbox's demo site (HC16190, openpractice-demo)."""
    from openpractice.healthcode.client import clear_caches

    clear_caches()
    return {
        "environment": "sandbox",
        "discovery_url": f"{healthcode_sandbox.url}/.well-known/discovery-document.json",
        "site_id": healthcode_sandbox.site_id,
        "api_key_id": healthcode_sandbox.client_id,
        "api_key": healthcode_sandbox.client_secret,
    }


@pytest.fixture(autouse=True)
def _reference_codes_after_flush(request):
    """Transactional tests (browser tests, worker tests) end by flushing every table, which takes
    the reference data the coding migration loaded (ICD-10, published insurers, sample codes) with
    it. Load whatever is missing before each such test (asked for by fixture or by
    `django_db(transaction=True)`), so test order never matters."""
    marker = request.node.get_closest_marker("django_db")
    marked = marker is not None and bool(marker.kwargs.get("transaction") or (marker.args and marker.args[0]))
    if marked or "transactional_db" in request.fixturenames or "live_server" in request.fixturenames:
        request.getfixturevalue("transactional_db")
        from openpractice.coding.reference import load_reference_data

        load_reference_data()
