from __future__ import annotations

import pytest

from tests.bureaus.world import build_bureau


@pytest.fixture(scope="module")
def world(django_db_blocker, django_db_setup):
    """A bureau of three practices, built once for the module in a transaction rolled back at its
    end (each test's is a savepoint). A module that needs another world defines its own `world`."""
    from django.db import transaction

    with django_db_blocker.unblock(), transaction.atomic():
        yield build_bureau(practices=3)
        transaction.set_rollback(True)
