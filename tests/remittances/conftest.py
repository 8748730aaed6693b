"""Fixtures: a small practice (`world`) and the demo practice against the sandbox (`demo_remit`)."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from remit_helpers import World


@pytest.fixture
def world(practice, make_member, insurer_contact):
    return World(practice, make_member, insurer_contact)


@pytest.fixture
def remit_sandbox(tmp_path, request):
    """A clearing house of this test's own: bills and idempotency keys of earlier tests (whose
    databases were rolled back, so ids repeat) must not meet this test's. Parametrise with
    `duplicate_remittances` through indirect=True."""
    from openpractice.healthcode.client import clear_caches
    from sandbox.testing import start_sandbox

    process = start_sandbox(tmp_path / "sandbox", **getattr(request, "param", {}))
    clear_caches()
    yield process
    process.stop()


@pytest.fixture
def demo_remit(db, remit_sandbox):
    """The demo practice (seed_demo) with credentials for this test's sandbox."""
    from openpractice.healthcode.credentials import save_healthcode_credentials
    from openpractice.healthcode.services import test_connection
    from openpractice.home.management.commands.seed_demo import DEMO_PRACTICE
    from openpractice.practices.models import Practice

    call_command("seed_demo", "--quiet-if-exists")
    practice = Practice.objects.get(name=DEMO_PRACTICE)
    save_healthcode_credentials(
        practice=practice,
        environment="sandbox",
        discovery_url=f"{remit_sandbox.url}/.well-known/discovery-document.json",
        site_id=remit_sandbox.site_id,
        api_key_id=remit_sandbox.client_id,
        api_key=remit_sandbox.client_secret,
    )
    assert test_connection(practice=practice).ok  # calls need credentials that passed the test
    return practice
