"""No combined page or API route ever shows a practice the person is not a member of.

Generated: every bureau route (read from the URL configuration and the OpenAPI document, so a new
route fails `test_every_bureau_route_is_tried` until it has a driver here) is tried, with every
kind of row and a filter naming each practice, by bureau staff who are members of a subset of the
bureau's practices with any role (Hypothesis draws the subset and the roles, active or not). The
answer must name no other practice, and the API's rows come only from practices whose role has
that kind's capability. The bureau's own run covers every practice, so it is the hardest case."""

from __future__ import annotations

import itertools
import json

import pytest
from django.test import Client
from django.urls import get_resolver
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openpractice.api import api
from openpractice.billing.models import Invoice
from openpractice.bureaus.models import BureauRun, RunKind
from openpractice.bureaus.selectors import Kind
from openpractice.healthcode.models import BulkSubmission
from openpractice.practices.models import Membership
from openpractice.practices.roles import Role, role_can
from openpractice.remittances.models import FetchRun
from tests.bureaus.world import NAMES, build_bureau, bureau_user
from tests.test_tenancy_routes import _walk

pytestmark = pytest.mark.django_db
PRACTICES = 5


@pytest.fixture(scope="module")
def world(django_db_blocker, django_db_setup):
    from django.db import transaction

    with django_db_blocker.unblock(), transaction.atomic():
        world = build_bureau(practices=PRACTICES, invoices=12)
        run = BureauRun.objects.create(
            bureau=world.bureau,
            kind=RunKind.SUBMISSION,
            requested=PRACTICES,
            skipped=[{"practice_id": p.pk, "practice": p.name, "why": "Not set up"} for p in world.practices],
        )
        for p in world.practices:
            run.submissions.add(BulkSubmission.objects.create(practice=p, requested=1))
        fetch = BureauRun.objects.create(bureau=world.bureau, kind=RunKind.REMITTANCE_FETCH)
        for p in world.practices:
            fetch.fetches.add(FetchRun.objects.create(practice=p))
        world.runs = [run, fetch]
        yield world
        transaction.set_rollback(True)


def page_routes() -> set[str]:
    return {name for _, name, _ in _walk(get_resolver().url_patterns) if name.startswith("bureaus:")}


def api_routes() -> set[str]:
    schema = api.get_openapi_schema(path_prefix="/api/v1/")
    return {
        f"{m.upper()} {path}" for path, ops in schema["paths"].items() for m in ops if path.startswith("/api/v1/bureau")
    }


# -- one driver per route: the answers (status, text) it gets ---------------------------------------
def _filters(world):
    yield {}
    yield {"insurer": "bup", "age": "90+"}
    for p in world.practices:
        yield {"practice": p.pk}


def _queue_page(client, world):
    for kind, filters in itertools.product(Kind.ALL, list(_filters(world))):
        yield client.get("/bureau/", {"kind": kind, **filters})


def _bills(world):
    return [pk for p in world.practices for pk in Invoice.objects.filter(practice=p).values_list("pk", flat=True)[:2]]


def _submit_page(client, world):
    ids = [str(i) for i in _bills(world)]
    yield client.post("/bureau/submit/", {"invoice": ids})
    yield client.post("/bureau/submit/", {"invoice": ids, "confirmed": "yes"}, follow=True)


def _fetch_page(client, world):
    yield client.post("/bureau/fetch/", follow=True)


def _open_page(client, world):
    for p in world.practices:
        yield client.post("/bureau/open/", {"practice_id": p.pk, "next": "/invoices/"}, follow=True)
        yield client.get("/")


def _count_debts_page(client, world):
    yield client.post("/bureau/aged-debt/count/", {"next": "/bureau/?kind=debts"}, follow=True)


def _run_page(client, world):
    for run in world.runs:
        yield client.get(f"/bureau/runs/{run.pk}/")


def _api_practices(client, world):
    yield client.get("/api/v1/bureau/practices")


def _api_queue(client, world):
    for kind, filters in itertools.product(Kind.ALL, list(_filters(world))):
        yield client.get("/api/v1/bureau/queue", {"kind": kind, **filters})


def _api_aged(client, world):
    for filters in _filters(world):
        yield client.get("/api/v1/bureau/aged-debt", filters)


def _api_submit(client, world):
    yield client.post("/api/v1/bureau/submissions", json.dumps({"invoice_ids": _bills(world)}), "application/json")


def _api_fetch(client, world):
    body = json.dumps({"practice_ids": [p.pk for p in world.practices]})
    yield client.post("/api/v1/bureau/remittance-fetches", body, "application/json")


def _api_run(client, world):
    for run in world.runs:
        yield client.get(f"/api/v1/bureau/runs/{run.pk}")


DRIVERS = {
    "bureaus:queue": _queue_page,
    "bureaus:submit": _submit_page,
    "bureaus:fetch": _fetch_page,
    "bureaus:open": _open_page,
    "bureaus:run": _run_page,
    "bureaus:count_debts": _count_debts_page,
    "GET /api/v1/bureau/practices": _api_practices,
    "GET /api/v1/bureau/queue": _api_queue,
    "GET /api/v1/bureau/aged-debt": _api_aged,
    "POST /api/v1/bureau/submissions": _api_submit,
    "POST /api/v1/bureau/remittance-fetches": _api_fetch,
    "GET /api/v1/bureau/runs/{bureau_run_id}": _api_run,
}


def test_every_bureau_route_is_tried():
    assert page_routes() | api_routes() == set(DRIVERS)


def _api_practice_ids(body) -> list[tuple[str, int]]:
    """(kind, practice id) of every row an API answer names."""
    found = []
    items = body if isinstance(body, list) else body.get("rows", []) + body.get("parts", []) + body.get("skipped", [])
    for item in items:
        if isinstance(item, dict):
            found.append((item.get("kind", ""), item.get("practice_id", item.get("id"))))
    return found


_emails = itertools.count()


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(
    memberships=st.dictionaries(
        st.integers(0, PRACTICES - 1), st.tuples(st.sampled_from(Role.values), st.booleans()), max_size=PRACTICES
    )
)
def test_no_bureau_route_shows_a_practice_the_person_is_not_a_member_of(world, memberships):
    user = bureau_user(world, {i: role for i, (role, _) in memberships.items()}, email=f"s{next(_emails)}@bureau.test")
    for i, (_, active) in memberships.items():
        Membership.objects.filter(user=user, practice=world.practices[i]).update(is_active=active)
    member = {world.practices[i].pk: role for i, (role, active) in memberships.items() if active}
    strangers = [p.name for p in world.practices if p.pk not in member]
    client = Client(raise_request_exception=True)
    client.force_login(user)
    problems = []
    for route, drive in DRIVERS.items():
        for answer in drive(client, world):
            text = answer.content.decode()
            assert answer.status_code < 500, (route, answer.status_code)
            problems += [f"{route}: shows {name}" for name in strangers if name in text]
            if route.startswith(("GET /api", "POST /api")) and answer.status_code in (200, 202):
                for kind, practice_id in _api_practice_ids(answer.json()):
                    if route.endswith("/practices"):
                        continue
                    if practice_id not in member:
                        problems.append(f"{route}: a row of practice {practice_id}")
                    elif kind in Kind.CAPABILITY and not role_can(member[practice_id], Kind.CAPABILITY[kind]):
                        problems.append(f"{route}: a {kind} row of practice {practice_id} (role {member[practice_id]})")
    assert not problems, "\n".join(problems[:20])
    assert all(name in NAMES for name in strangers)


def test_a_practices_own_user_gets_no_bureau_page_or_route(world):
    client = Client()
    client.force_login(world.worlds[0].user)  # the first practice's owner, not bureau staff
    assert client.get("/bureau/").status_code == 403
    assert client.get(f"/bureau/runs/{world.runs[0].pk}/").status_code == 403
    assert client.get("/api/v1/bureau/queue").status_code == 403
    page = client.get("/invoices/").content.decode()
    assert 'href="/bureau/"' not in page
    assert not [n for n in NAMES[1:PRACTICES] if n in page]


def test_an_api_token_sees_only_the_practice_it_is_bound_to(world, api_token_for):
    user = bureau_user(world, {0: Role.OWNER, 1: Role.OWNER}, email="token@bureau.test")
    headers = api_token_for(user, world.practices[1])
    client = Client()
    for kind in Kind.ALL:
        body = client.get("/api/v1/bureau/queue", {"kind": kind}, **headers).json()
        assert {row["practice_id"] for row in body["rows"]} <= {world.practices[1].pk}, kind
    practices = client.get("/api/v1/bureau/practices", **headers).json()
    assert [p["id"] for p in practices] == [world.practices[1].pk]
