"""Every route, generated from the URL configuration and the OpenAPI document, tried by another
practice's owner with practice A's object ids: the answer is 404 or 403 (405 where the method is
not the route's), never A's data, never a success, never a 500; and nothing of A's changes.

Nothing here lists routes by hand. A route added later is covered by itself; if it takes a URL
argument this file cannot fill, `test_every_route_argument_has_an_object_of_practice_a` fails and
names it: add an object of that kind to `practice_a` and its id to `ids`.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from django.test import Client
from django.urls import URLResolver, get_resolver
from django.utils import timezone
from pydantic_core.core_schema import ErrorType

from openpractice.api import api
from openpractice.practices.roles import Role

sys.path.insert(0, str(Path(__file__).parent / "remittances"))
from remit_helpers import World, bundle, receive

# Routes that name no practice object: their arguments are signed tokens, not ids.
# The invitation link is the invitee's own capability, like a password-reset link.
# The patient's "Pay online" link is a signed token too, and Stripe's webhook address carries the
# practice's opaque key and answers only a request signed with that practice's secret.
NOT_PRACTICE_OBJECTS = {
    "accounts:password_reset_confirm",
    "practices:invitation",
    "card_payments:pay",
    "card_payments:paid",
    "card_payments:webhook",
}
# URL arguments that are not ids (a code system); a route with only these is a scoped list.
NOT_IDS = {"system"}
PYDANTIC_ERRORS = set(ErrorType.__args__)  # a 422 of these never reached the view
SECRET = [
    "Zebedee",
    "Quuxley",
    "Aardvarkscan",
    "Xylophone Rooms",
    "Acme Privatehealth",
    "Aardvarkectomy",
    "BACS-ZZSECRET",
    "secret-biller@alpha.test",
    "Zanzibar Insurance Contact",
]


def _walk(patterns, prefix="", namespace=""):
    for p in patterns:
        if isinstance(p, URLResolver):
            ns = f"{namespace}{p.namespace}:" if p.namespace else namespace
            yield from _walk(p.url_patterns, prefix + str(p.pattern), ns)
        else:
            yield prefix + str(p.pattern), f"{namespace}{p.name}", p


def page_routes():
    """(route, name, kwarg names) for every page: not the API (below), the admin or static files."""
    out = []
    for route, name, pattern in _walk(get_resolver().url_patterns):
        if route.startswith(("api/", "admin/")) or name in NOT_PRACTICE_OBJECTS:
            continue
        out.append((route, name, list(pattern.pattern.converters) or re.findall(r"<(?:\w+:)?(\w+)>", route)))
    return out


SCHEMA = api.get_openapi_schema(path_prefix="/api/v1/")


def api_operations():
    return [(path, method, op) for path, ops in SCHEMA["paths"].items() for method, op in ops.items()]


@pytest.fixture
def practice_a(practice, make_member, insurer_contact):
    """One object of each kind in practice A, named so that any leak is recognisable."""
    from openpractice.accounts.services import create_api_token
    from openpractice.card_payments.models import CardPayment
    from openpractice.coding.models import AcceptedCode, Code, CodeImport, Insurer
    from openpractice.contacts.services import create_contact
    from openpractice.healthcode.models import ApiExchange, BulkSubmission, Submission
    from openpractice.practices.models import Membership
    from openpractice.practices.services import create_location, invite_member
    from openpractice.products.models import ContractPrice
    from openpractice.receivables.models import ChaseRun, StatementRun, WriteOff, WriteOffEntry
    from openpractice.remittances.models import FetchRun, PendingImport, ShortfallVerdict

    world = World(practice, make_member, insurer_contact, last="Quuxley")
    world.patient.first_name = "Zebedee"
    world.patient.save()
    product = world.products["Scan"]
    product.name = "Aardvarkscan"
    product.save()
    insurer = Insurer.objects.create(practice=practice, name="Acme Privatehealth")
    contact = create_contact(
        practice=practice, data={"contact_type": "insurer", "name": "Zanzibar Insurance Contact", "insurer": insurer}
    )
    code = Code.objects.create(
        practice=practice, system="ccsd", code="ZZ999", code_key="ZZ999", description="Aardvarkectomy"
    )
    AcceptedCode.objects.create(
        practice=practice, insurer=insurer, system="ccsd", code="ZZ999", code_key="ZZ999", description="Aardvarkectomy"
    )
    code_import = CodeImport.objects.create(
        practice=practice, kind="codes", system="ccsd", filename="Aardvarkectomy.csv"
    )
    location = create_location(practice=practice, data={"name": "Xylophone Rooms"})
    biller = make_member(practice, Role.BILLING, email="secret-biller@alpha.test", full_name="Zebedee Biller")
    membership = Membership.objects.get(practice=practice, user=biller)
    token, _ = create_api_token(user=biller, practice=practice, name="Aardvarkscan token")
    paid, part = world.invoice(), world.invoice("Scan")
    batch = receive(
        practice,
        bundle(
            [{"invoice": paid}, {"invoice": part, "paid": ["200.00"], "reason": "Benefit maximum"}],
            reference="BACS-ZZSECRET",
        ),
    )
    line = batch.lines.get(invoice=part)
    contract = ContractPrice.objects.create(
        practice=practice,
        product=product,
        insurer_contact=world.insurer,
        price=Decimal("99.00"),
        valid_from=dt.date(2025, 1, 1),
    )
    bulk = BulkSubmission.objects.create(practice=practice, requested=1)
    Submission.objects.create(practice=practice, invoice=part, version=1, idempotency_key="zz-secret-1", bulk=bulk)
    invitation = invite_member(
        practice=practice,
        email="zz-invitee@alpha.test",
        role=Role.BILLING,
        invited_by=biller,
        full_name="Zebedee Invitee",
    )
    pending = PendingImport.objects.create(
        practice=practice,
        user=biller,
        name="Quuxley.csv",
        kind="csv",
        content=b"Quuxley",
        expires_at=timezone.now() + dt.timedelta(hours=1),
    )
    fetch_run = FetchRun.objects.create(practice=practice, status="failed", error="Quuxley unreachable")
    # A bureau run over practice A (the other owner works for no bureau: refused).
    from openpractice.bureaus.models import Bureau, BureauPractice, BureauRun

    bureau = Bureau.objects.create(name="Quuxley Billing Bureau")
    BureauPractice.objects.create(bureau=bureau, practice=practice)
    bureau_run = BureauRun.objects.create(bureau=bureau, kind="remittance_fetch")
    bureau_run.fetches.add(fetch_run)
    from openpractice.imports.services import create_import

    data_import = create_import(
        practice=practice,
        kind="patients",
        source_name="Quuxley PAS",
        filename="Quuxley.csv",
        data=b"Id,First name,Last name,DOB\nQ1,Zebedee,Quuxley,01/01/1980\n",
    )
    chase_run = ChaseRun.objects.create(practice=practice, run_on=dt.date(2026, 1, 5))
    statement_run = StatementRun.objects.create(
        practice=practice, patient_ids=[world.patient.pk], as_of=dt.date(2026, 1, 5), requested=1
    )
    card_payment = CardPayment.objects.create(
        practice=practice,
        patient=world.patient,
        payment_intent="pi_zz_secret",
        amount=Decimal("20.00"),
        received_on=dt.date(2026, 1, 5),
    )
    verdict = ShortfallVerdict.objects.get(remittance_line=line)
    verdict.kind = "underpayment"  # on the insurer dispute list
    verdict.save()
    self_pay = world.invoice(bill_to="patient")
    write_off = WriteOff.objects.create(
        practice=practice, invoice=self_pay, amount=Decimal("10.00"), reason="Quuxley", status="approved"
    )
    entry = WriteOffEntry.objects.create(
        practice=practice,
        invoice=self_pay,
        write_off=write_off,
        amount=Decimal("10.00"),
        reason="Quuxley",
        posted_on=dt.date(2026, 1, 5),
    )
    exchange = ApiExchange.objects.create(
        practice=practice,
        endpoint="claims",
        method="POST",
        url="http://127.0.0.1/",
        request_body="Quuxley",
        response_body="Aardvarkscan",
    )
    ids = {
        "patient_id": world.patient.pk,
        "relationship_id": world.insurance.pk,
        "contact_id": contact.pk,
        "product_id": product.pk,
        "contract_id": contract.pk,
        "invoice_id": part.pk,
        "location_id": location.pk,
        "membership_id": membership.pk,
        "token_id": token.pk,
        "insurer_id": insurer.pk,
        "import_id": code_import.pk,
        "batch_id": batch.pk,
        "line_id": line.pk,
        "allocation_id": line.allocations.first().pk,
        "bulk_id": bulk.pk,
        "exchange_id": exchange.pk,
        "pending_id": pending.pk,
        "run_id": fetch_run.pk,
        "chase_run_id": chase_run.pk,
        "statement_run_id": statement_run.pk,
        "payment_id": card_payment.pk,
        "bureau_run_id": bureau_run.pk,
        "verdict_id": verdict.pk,
        "write_off_id": write_off.pk,
        "entry_id": entry.pk,
        "card_payment_id": card_payment.pk,
        "data_import_id": data_import.pk,
        "invitation_id": invitation.pk,
        "system": "ccsd",
        "code": code.code,
    }
    return ids


def _snapshot(practice):
    """Practice A's rows that a refused request must leave exactly as they were."""
    from django.apps import apps

    rows = {}
    for model in apps.get_models():
        if model._meta.app_label.startswith("openpractice") or model.__module__.startswith("openpractice"):
            field = {f.name for f in model._meta.concrete_fields}
            if "practice" in field and not model.__name__.startswith("Historical"):
                rows[model.__name__] = sorted(map(repr, model.objects.filter(practice=practice).values()))
    return rows


def _leaks(content: bytes) -> list[str]:
    text = content.decode(errors="replace")
    return [s for s in SECRET if s in text]


@pytest.fixture
def client_b(other_owner):
    client = Client(raise_request_exception=False)
    client.force_login(other_owner)
    client.user = other_owner
    return client


def test_every_route_argument_has_an_object_of_practice_a(practice_a):
    names = {n for _, _, kwargs in page_routes() for n in kwargs}
    names |= {p["name"] for _, _, op in api_operations() for p in op.get("parameters", []) if p["in"] == "path"}
    missing = sorted(names - set(practice_a))
    assert not missing, (
        f"No practice-A object for the URL argument(s) {missing}: add one to practice_a in "
        f"{Path(__file__).name} so the route's tenancy is tested."
    )


def test_pages_refuse_another_practices_objects(practice, practice_a, client_b):
    before = _snapshot(practice)
    problems, tried = [], 0
    for route, name, kwargs in page_routes():
        url = "/" + re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(practice_a[m.group(1)]), route)
        answers = {}
        for method in ("GET", "POST"):
            client_b.force_login(client_b.user)  # a route before (logout, switch) may have ended the session
            answers[method] = client_b.generic(method, url)
        for method, answer in answers.items():
            tried += 1
            if leaked := _leaks(answer.content):
                problems.append(f"{method} {url} ({name}): shows practice A's {leaked}")
            if kwargs and answer.status_code not in (403, 404, 405):
                problems.append(f"{method} {url} ({name}): {answer.status_code}, expected 404 or 403")
            if not kwargs and answer.status_code >= 500:
                problems.append(f"{method} {url} ({name}): {answer.status_code}")
        if kwargs and {a.status_code for a in answers.values()} == {405}:
            problems.append(f"{url} ({name}): neither GET nor POST reached the route")
    assert not problems, "\n".join(problems)
    assert _snapshot(practice) == before
    assert tried > 150


def _example(schema: dict, ids: dict):
    """A small value that satisfies the schema's types, so a body reaches the view."""
    if "$ref" in schema:
        schema = SCHEMA["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    for key in ("anyOf", "allOf", "oneOf"):
        if key in schema:
            return _example(schema[key][0], ids)
    if "enum" in schema:
        return schema["enum"][0]
    if "default" in schema:
        return schema["default"]
    kind = schema.get("type")
    if kind == "object":
        return {k: _example(v, ids) for k, v in schema.get("properties", {}).items() if k in schema.get("required", [])}
    if kind == "array":
        return []
    if kind == "integer":
        return 1
    if kind == "number":
        return "1.00"
    if kind == "boolean":
        return False
    if schema.get("format") == "date":
        return "2026-01-05"
    return "1"


def test_api_refuses_another_practices_objects(practice, other_practice, other_owner, practice_a, api_token_for):
    headers = api_token_for(other_owner, other_practice)
    client = Client(raise_request_exception=False)
    before = _snapshot(practice)
    problems, tried, schema_refused = [], 0, []
    for path, method, op in api_operations():
        params = [p for p in op.get("parameters", []) if p["in"] == "path" and p["name"] not in NOT_IDS]
        url = re.sub(r"\{(\w+)\}", lambda m: str(practice_a[m.group(1)]), path)
        query = {p["name"]: "1" for p in op.get("parameters", []) if p["in"] == "query" and p.get("required")}
        content = op.get("requestBody", {}).get("content", {})
        body, content_type = "", "application/json"
        if "application/json" in content:
            body = json.dumps(_example(content["application/json"]["schema"], practice_a))
        elif content:
            content_type = next(iter(content))
        if query:
            url += "?" + "&".join(f"{k}={v}" for k, v in query.items())
        answer = client.generic(method.upper(), url, body, content_type=content_type, **headers)
        tried += 1
        if leaked := _leaks(answer.content):
            problems.append(f"{method.upper()} {url}: shows practice A's {leaked}")
        if answer.status_code >= 500:
            problems.append(f"{method.upper()} {url}: {answer.status_code}")
        if params:
            status = answer.status_code
            if status == 422 and all(d.get("type") in PYDANTIC_ERRORS for d in answer.json().get("detail", [])):
                schema_refused.append(f"{method.upper()} {path}")
                continue  # the body was refused by its schema before the view looked anything up
            if status not in (403, 404):
                problems.append(f"{method.upper()} {url}: {status} {answer.content[:200]!r}, expected 404 or 403")
    assert not problems, "\n".join(problems)
    assert _snapshot(practice) == before
    assert tried >= len(api_operations()) > 50
    # The example bodies must reach the views: a body the schema refuses proves nothing about tenancy.
    assert len(schema_refused) <= 3, schema_refused
