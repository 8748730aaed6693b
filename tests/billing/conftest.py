"""A practice set up like a real one against the sandbox clearing house: the demo practice
(seed_demo: practitioners with Healthcode identifiers, insurer contacts, products with contract
prices and codes, patients insured with the sandbox's demo members) with credentials for the
sandbox started for this test run."""

from __future__ import annotations

import datetime as dt
import random
import string

import pytest
from django.core.management import call_command


@pytest.fixture
def demo(db, sandbox_credentials):
    from openpractice.healthcode.credentials import save_healthcode_credentials
    from openpractice.healthcode.services import test_connection
    from openpractice.home.management.commands.seed_demo import DEMO_PRACTICE
    from openpractice.practices.models import Practice

    call_command("seed_demo", "--quiet-if-exists")
    practice = Practice.objects.get(name=DEMO_PRACTICE)
    save_healthcode_credentials(practice=practice, **sandbox_credentials)
    assert test_connection(practice=practice).ok  # calls need credentials that passed the test
    # The sandbox lives for the whole run while each test's database starts afresh: a prefix of
    # its own keeps this test's invoice numbers from meeting an earlier test's bills there.
    from openpractice.billing.services import set_number_prefix

    set_number_prefix(practice=practice, prefix="".join(random.choices(string.ascii_uppercase, k=4)))
    return practice


@pytest.fixture
def make_invoice(demo):
    """An insurer invoice for a demo patient: one line of `product` on `service_date`."""
    from openpractice.billing import services
    from openpractice.patients.models import Patient
    from openpractice.practices.models import Membership
    from openpractice.products.models import Product

    def make(
        last_name="Bennett",
        product="Initial consultation",
        service_date=None,
        practitioner="dr.patel",
        bill_to="insurer",
        quantity=1,
        **data,
    ):
        patient = Patient.objects.get(practice=demo, last_name=last_name)
        insurance = next(r for r in patient.relationships.all() if r.relationship_type == "insurance")
        membership = Membership.objects.get(practice=demo, user__email__startswith=practitioner)
        day = service_date or dt.date.today()
        header = {
            "bill_to": bill_to,
            "patient": patient,
            "insurance": insurance if bill_to == "insurer" else None,
            "practitioner": membership,
            "invoice_date": day,
            "primary_diagnosis": "M17.1",
            **data,
        }
        lines = [
            {"product": Product.objects.get(practice=demo, name=product), "service_date": day, "quantity": quantity}
        ]
        return services.create_invoice(practice=demo, data=header, lines=lines)

    return make


def pytest_collection_modifyitems(config, items):
    """Tests that flush the database (transactional ones) go last: a flush takes the migrations'
    reference data (ICD-10, sample codes) away from every database test after it."""
    flushing = [
        item
        for item in items
        if item.name.startswith(("test_concurrent_issues_never_share_a_number", "test_concurrent_chunk_deliveries"))
    ]
    for item in flushing:
        items.remove(item)
        items.append(item)
