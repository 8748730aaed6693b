"""The demo practice (seed_demo) with one patient-paid invoice: records to open and a team to open them."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import call_command
from django.test import Client


@pytest.fixture
def clinic(db):
    from openpractice.home.management.commands.seed_demo import DEMO_PRACTICE
    from openpractice.practices.models import Practice

    call_command("seed_demo", "--quiet-if-exists")
    return Practice.objects.get(name=DEMO_PRACTICE)


def _user(email):
    from openpractice.accounts.models import User

    return User.objects.get(email=email)


@pytest.fixture
def clinic_owner(clinic):
    return _user("owner@demo.openpractice.test")


@pytest.fixture
def clinic_biller(clinic):
    return _user("billing@demo.openpractice.test")


@pytest.fixture
def clinic_reception(clinic):
    return _user("reception@demo.openpractice.test")


@pytest.fixture
def browser_for():
    def make(user):
        client = Client()
        client.force_login(user)
        return client

    return make


@pytest.fixture
def patient(clinic):
    from openpractice.patients.models import Patient

    return Patient.objects.get(practice=clinic, last_name="Bennett")


@pytest.fixture
def invoice(clinic, patient):
    """Billed to the patient: its page needs no clearing house."""
    from openpractice.billing import services
    from openpractice.practices.models import Membership
    from openpractice.products.models import Product

    doctor = Membership.objects.get(practice=clinic, user__email="dr.patel@demo.openpractice.test")
    today = dt.date.today()
    return services.create_invoice(
        practice=clinic,
        data={
            "bill_to": "patient",
            "patient": patient,
            "insurance": None,
            "practitioner": doctor,
            "invoice_date": today,
            "primary_diagnosis": "M17.1",
        },
        lines=[
            {
                "product": Product.objects.get(practice=clinic, name="Initial consultation"),
                "service_date": today,
                "quantity": 1,
            }
        ],
    )
