"""The shell's "Bureau" entry (bureaus.context_processors) costs a person who is not bureau staff
no query: whether they are is read with the memberships of each request (practices.selectors
USER_FLAGS); staff still get the entry, and it follows a change to BureauStaff at once."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from openpractice.accounts.models import User
from openpractice.bureaus.models import BureauStaff
from openpractice.practices.models import Membership, Practice
from openpractice.practices.roles import Role
from tests.bureaus.world import build_bureau, bureau_user

pytestmark = pytest.mark.django_db

ENTRY = 'href="/bureau/"'


def _page(user, url="/patients/"):
    client = Client()
    client.force_login(user)
    client.get(url)
    with CaptureQueriesContext(connection) as captured:
        html = client.get(url).content.decode()
    staff_reads = [q["sql"] for q in captured.captured_queries if BureauStaff._meta.db_table in q["sql"]]
    return html, staff_reads, len(captured.captured_queries)


def test_a_practice_member_who_is_not_staff_pays_nothing_for_the_bureau_entry():
    practice = Practice.objects.create(name="Solo Clinic")
    user = User.objects.create_user(email="solo@example.test", password="x", full_name="Solo Biller")
    Membership.objects.create(user=user, practice=practice, role=Role.BILLING)
    html, staff_reads, _ = _page(user)
    assert ENTRY not in html
    # The only mention of the staff table is the flag inside the memberships' own read.
    assert len(staff_reads) == 1 and Membership._meta.db_table in staff_reads[0], staff_reads


def test_bureau_staff_get_the_entry_and_lose_it_when_no_longer_staff():
    world = build_bureau(practices=1, invoices=2)
    user = bureau_user(world, {0: Role.OWNER})
    html, _, _ = _page(user)
    assert ENTRY in html
    BureauStaff.objects.filter(user=user).update(is_active=False)
    html, staff_reads, _ = _page(user)
    assert ENTRY not in html and len(staff_reads) == 1
