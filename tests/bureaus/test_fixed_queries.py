"""The combined queue costs the same number of queries for a bureau of two small practices and
one of five bigger ones: every kind of row, the counts and aged debt are one query each whatever
the number of practices (tests/test_pages_fixed_queries.py holds the same for history's size)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from openpractice.bureaus.selectors import Kind
from openpractice.practices.roles import Role
from tests.bureaus.world import build_bureau, bureau_user

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def bureaus(django_db_blocker, django_db_setup):
    from django.db import transaction

    with django_db_blocker.unblock(), transaction.atomic():
        small = build_bureau(practices=2, invoices=10, name="Small Bureau")
        big = build_bureau(practices=5, invoices=40, name="Big Bureau")
        # Practice names repeat across the two bureaus; each is a world of its own.
        yield [
            (small, bureau_user(small, dict.fromkeys(range(2), Role.OWNER), email="s@small.test")),
            (big, bureau_user(big, dict.fromkeys(range(5), Role.OWNER), email="s@big.test")),
        ]
        transaction.set_rollback(True)


def _count(user, url) -> tuple[int, list[str]]:
    client = Client()
    client.force_login(user)
    client.get(url)
    with CaptureQueriesContext(connection) as captured:
        answer = client.get(url)
    assert answer.status_code == 200, url
    return len(captured.captured_queries), [q["sql"] for q in captured.captured_queries]


@pytest.mark.parametrize("kind", Kind.ALL)
@pytest.mark.parametrize("base", ["/bureau/", "/api/v1/bureau/queue"])
def test_the_combined_queue_costs_the_same_for_two_practices_or_five(bureaus, kind, base):
    (small, small_user), (big, big_user) = bureaus
    few, _ = _count(small_user, f"{base}?kind={kind}")
    many, sql = _count(big_user, f"{base}?kind={kind}")
    assert few == many, f"{kind}: {few} queries for 2 practices, {many} for 5\n" + "\n".join(sql)
