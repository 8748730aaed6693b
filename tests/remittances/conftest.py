"""Fixtures: a small practice (`world`) and the demo practice against the sandbox (`demo_remit`)."""

from __future__ import annotations

import datetime as dt

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
    from openpractice.practices.management.commands.seed_demo import DEMO_PRACTICE
    from openpractice.practices.models import HealthcodeIntegration, Practice
    from openpractice.practices.services import save_healthcode_credentials

    call_command("seed_demo", "--quiet-if-exists")
    practice = Practice.objects.get(name=DEMO_PRACTICE)
    save_healthcode_credentials(practice=practice, environment="sandbox",
                                discovery_url=f"{remit_sandbox.url}/.well-known/healthcode-discovery",
                                site_id=remit_sandbox.site_id, api_key_id=remit_sandbox.client_id,
                                api_key=remit_sandbox.client_secret)
    HealthcodeIntegration.objects.filter(practice=practice).update(last_test_ok=True)
    return practice


def collected_invoice(practice, last_name="Bennett", product="Initial consultation"):
    """An insurer invoice for a demo patient, checked, submitted and delivered to the sandbox."""
    from openpractice.billing import services
    from openpractice.healthcode import submission as hc
    from openpractice.healthcode.services import check_membership
    from openpractice.patients.models import Patient
    from openpractice.practices.models import Membership
    from openpractice.products.models import Product

    patient = Patient.objects.get(practice=practice, last_name=last_name)
    insurance = next(r for r in patient.relationships.all() if r.relationship_type == "insurance")
    membership = Membership.objects.get(practice=practice, user__email__startswith="dr.patel")
    day = dt.date.today()
    invoice = services.create_invoice(practice=practice, data={
        "bill_to": "insurer", "patient": patient, "insurance": insurance, "practitioner": membership,
        "invoice_date": day, "primary_diagnosis": "M17.1"},
        lines=[{"product": Product.objects.get(practice=practice, name=product), "service_date": day, "quantity": 1}])
    check_membership(relationship=insurance, active_on=day)
    submission = hc.submit_invoice(invoice=invoice, enqueue=False)
    assert hc.deliver(submission.pk) == "accepted", submission.last_error
    return invoice
