"""The demo bureau (seed_demo --bureau) and the bureau's pages at their edge: the switcher, the
header band, the nav entry, the confirmation and run pages."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.test import Client

from openpractice.accounts.models import User
from openpractice.billing.models import Invoice
from openpractice.bureaus import selectors
from openpractice.bureaus.models import Bureau, BureauRun, BureauStaff
from openpractice.home.management.commands.seed_demo import BUREAU_PRACTICES, BUREAU_USER, DEMO_BUREAU, DEMO_PRACTICE
from openpractice.practices.models import Practice

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo():
    call_command("seed_demo", "--bureau")
    user = BureauStaff.objects.get(user__email=BUREAU_USER[0]).user
    client = Client()
    client.force_login(user)
    return user, client


def test_the_demo_bureau_runs_three_practices(demo):
    user, _ = demo
    space = selectors.workspace(user=user)
    assert space.bureau == Bureau.objects.get(name=DEMO_BUREAU)
    assert sorted(p.name for p in space.practices()) == sorted([DEMO_PRACTICE, *(p[0] for p in BUREAU_PRACTICES)])
    ready = selectors.queue_page(space=space, kind="ready").rows
    not_ready = selectors.queue_page(space=space, kind="not_ready").rows
    assert {r.practice for r in ready} == {p[0] for p in BUREAU_PRACTICES}
    assert {r.who for r in not_ready} == {"Mia Robinson"}
    call_command("seed_demo", "--bureau")  # once only
    assert Bureau.objects.count() == 1


def test_the_queue_page_names_each_rows_practice_and_offers_the_bulk_action(demo):
    _, client = demo
    page = client.get("/bureau/?kind=ready").content.decode()
    for name, _, _ in BUREAU_PRACTICES:
        assert name in page
    assert "Submit selected to Healthcode" in page and 'href="/bureau/"' in page
    assert client.get("/bureau/?kind=ready&after=bogus").content.decode().count("not valid") == 1


def test_opening_a_rows_practice_switches_to_it_and_the_header_says_so(demo):
    _, client = demo
    eye = Practice.objects.get(name=BUREAU_PRACTICES[1][0])
    invoice = Invoice.objects.filter(practice=eye).first()
    answer = client.post("/bureau/open/", {"practice_id": eye.pk, "next": f"/invoices/{invoice.pk}/"}, follow=True)
    assert answer.redirect_chain[-1][0] == f"/invoices/{invoice.pk}/"
    band = answer.content.decode()
    assert f"working in <strong>{eye.name}</strong>" in band
    # An address elsewhere is not followed.
    assert client.post("/bureau/open/", {"practice_id": eye.pk, "next": "https://evil.example/"})["Location"] == "/"


def test_the_confirmation_names_each_practice_and_nothing_is_sent_before_it(demo):
    _, client = demo
    ids = [str(i) for i in Invoice.objects.values_list("pk", flat=True)]
    page = client.post("/bureau/submit/", {"invoice": ids}).content.decode()
    assert "The bills, by practice" in page and BUREAU_PRACTICES[0][0] in page
    assert not BureauRun.objects.exists()
    answer = client.post("/bureau/submit/", {"invoice": ids, "confirmed": "yes"}, follow=True)
    run = BureauRun.objects.get()
    assert answer.redirect_chain[-1][0] == f"/bureau/runs/{run.pk}/"
    # No connection has passed its test in this database: each practice with bills is skipped, saying why.
    assert "Practices not acted for (2)" in answer.content.decode()


def test_a_consultant_sees_only_their_practice(demo):
    email = BUREAU_PRACTICES[0][1][0]
    client = Client()
    client.force_login(User.objects.get(email=email))
    page = client.get("/invoices/").content.decode()
    assert BUREAU_PRACTICES[0][0] in page
    assert BUREAU_PRACTICES[1][0] not in page and DEMO_PRACTICE not in page and 'href="/bureau/"' not in page
    assert client.get("/bureau/").status_code == 403
