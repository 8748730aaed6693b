"""The bureau page's "Practices" panel: each of the person's practices with its consultant and
the state of this month's and last month's consultant report, and a link that opens the report in
that practice. Only the person's own practices; two queries whatever their number."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone

from openpractice.accounts.models import User
from openpractice.bureaus import selectors
from openpractice.practices.models import Membership
from openpractice.practices.roles import Role
from openpractice.reports import consultant
from openpractice.reports.consultant_models import ConsultantReport
from tests.bureaus.world import build_bureau, bureau_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    world = build_bureau(practices=3, invoices=6)
    user = bureau_user(world, {0: Role.BILLING, 1: Role.BILLING})  # not a member of the third
    doctor = User.objects.create_user(email="dr.alder@example.test", password="x", full_name="Dr Ada Alder")
    Membership.objects.create(user=doctor, practice=world.practices[0], role=Role.PRACTITIONER)
    return world, user


def _report(practice, month, *, sent=False):
    now = timezone.now()
    return ConsultantReport.objects.create(
        practice=practice, month=month, figures={}, generated_at=now, sent_at=now if sent else None
    )


def test_each_practice_shows_its_consultant_and_its_reports_state(world):
    world, user = world
    this = consultant.month_start(timezone.localdate())
    last = consultant.previous_month(this)
    _report(world.practices[0], last, sent=True)
    _report(world.practices[1], this)
    _report(world.practices[2], last, sent=True)  # not the person's practice
    space = selectors.workspace(user=user)
    lines = {line.practice_id: line for line in selectors.practices_panel(space=space, user=user)}
    assert set(lines) == {world.practices[0].pk, world.practices[1].pk}
    alder, birch = lines[world.practices[0].pk], lines[world.practices[1].pk]
    assert alder.consultant == "Dr Ada Alder"  # the practitioner before the owner
    assert birch.consultant  # its owner when it has no practitioner
    assert (alder.last_month.status, alder.this_month.status) == ("sent", "not saved")
    assert (birch.last_month.status, birch.this_month.status) == ("not saved", "saved")
    assert alder.report_path == f"/reports/consultant/?month={last:%Y-%m}"


def test_the_panel_costs_two_queries_whatever_the_number_of_practices(world, django_assert_num_queries):
    world, user = world
    space = selectors.workspace(user=user)
    with django_assert_num_queries(2):
        selectors.practices_panel(space=space, user=user)


def test_the_page_lists_the_panel_and_its_link_opens_the_report_in_that_practice(world):
    world, user = world
    client = Client()
    client.force_login(user)
    page = client.get("/bureau/").content.decode()
    assert 'id="bureau-practices"' in page and "Dr Ada Alder" in page
    assert page.count("Monthly report</button>") == 2 and world.practices[2].name not in page
    last = consultant.previous_month(consultant.month_start(timezone.localdate()))
    answer = client.post(
        "/bureau/open/",
        {"practice_id": world.practices[1].pk, "next": f"/reports/consultant/?month={last:%Y-%m}"},
        follow=True,
    )
    assert answer.redirect_chain[-1][0] == f"/reports/consultant/?month={last:%Y-%m}"
    body = answer.content.decode()
    assert answer.status_code == 200 and f"working in <strong>{world.practices[1].name}</strong>" in body
    assert last.strftime("%B %Y") in body
    # the third practice's report cannot be opened through the switcher
    refused = client.post(
        "/bureau/open/", {"practice_id": world.practices[2].pk, "next": "/reports/consultant/"}, follow=True
    )
    assert refused.redirect_chain[-1][0] == "/bureau/" and "not a member" in refused.content.decode()
