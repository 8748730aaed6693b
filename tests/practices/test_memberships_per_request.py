"""Every page reads the signed-in user's memberships once: the current practice and the sidebar's
practice switch come from the same read (practices/middleware.py, context_processors.py)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from openpractice.practices.models import Membership
from openpractice.practices.roles import Role

pytestmark = pytest.mark.django_db


def test_a_member_of_two_practices_has_the_switch_from_one_read(practice, other_practice, make_member, client_for):
    user = make_member(practice, email="two@example.test")
    make_member(other_practice, role=Role.BILLING, email="two@example.test")
    client = client_for(user)
    client.get("/patients/")
    with CaptureQueriesContext(connection) as captured:
        html = client.get("/patients/").content.decode()
    membership_reads = [q["sql"] for q in captured.captured_queries if Membership._meta.db_table in q["sql"]]
    assert len(membership_reads) == 1, membership_reads
    assert 'id="practice-switch"' in html
    assert "Alpha Clinic" in html and "Beta Clinic" in html


def test_the_switch_chooses_the_practice_and_a_left_one_falls_back(practice, other_practice, make_member, client_for):
    user = make_member(practice, email="two@example.test")
    make_member(other_practice, role=Role.BILLING, email="two@example.test")
    client = client_for(user)
    assert client.get("/").context["current_practice"] == practice  # by name: Alpha first
    client.post("/practice/switch/", {"practice_id": other_practice.pk})
    assert client.get("/").context["current_practice"] == other_practice
    Membership.objects.filter(user=user, practice=other_practice).update(is_active=False)
    response = client.get("/")
    assert response.context["current_practice"] == practice
    assert [m.practice for m in response.context["user_memberships"]] == [practice]
