"""The dashboard (home app): the practice at a glance and the getting-started checklist, which
reads every app's set-up; and seed_demo, the demo practice that `make run` loads."""

from django.core.management import call_command

from openpractice.home.management.commands.seed_demo import DEMO_PRACTICE, DEMO_USERS
from openpractice.practices.models import Practice

CHECKLIST = [
    ("Add your practice's address and contact details", "/settings/practice/"),
    ("Add the locations you work from", "/settings/locations/"),
    ("Invite your team", "/settings/users/"),
    ("Enter your Healthcode credentials and test the connection", "/settings/integrations/"),
    ("Give each practitioner their Healthcode identifier", "/settings/users/"),
    ("Add your insurers as contacts, with their Healthcode identifier (Insurance)", "/contacts/"),
    ("Add products with contract prices and codes", "/products/"),
    ("Add patients with their insurer and registration number", "/patients/"),
]


def test_a_new_practice_sees_every_step_to_do(owner_client, practice):
    response = owner_client.get("/")
    assert response.status_code == 200
    assert [(item["label"], item["url"]) for item in response.context["checklist"]] == CHECKLIST
    assert not any(item["done"] for item in response.context["checklist"][1:])
    html = response.content.decode()
    assert "Getting started" in html and "Not set up" in html
    nav = response.context["nav_entries"]
    assert nav[0] == {"label": "Dashboard", "url": "/", "active": True}


def test_seed_demo_loads_the_demo_practice_once(db, client):
    call_command("seed_demo", "--quiet-if-exists")
    practice = Practice.objects.get(name=DEMO_PRACTICE)
    assert practice.memberships.count() == len(DEMO_USERS)
    call_command("seed_demo", "--quiet-if-exists")
    assert Practice.objects.filter(name=DEMO_PRACTICE).count() == 1
    client.force_login(practice.memberships.get(role="owner").user)
    checklist = client.get("/").context["checklist"]
    # Everything but the connection test, which needs the sandbox running (seed_demo --test-connection).
    assert [item["label"] for item in checklist if not item["done"]] == [CHECKLIST[3][0]]
