"""Fixtures for the set-up tests (contacts, products, patients)."""

import pytest

from openpractice.coding.selectors import find_insurer


def _insurer_contact(practice, identifier="bup", name=None):
    from openpractice.contacts.services import create_contact

    insurer = find_insurer(practice=practice, healthcode_identifier=identifier)
    return create_contact(practice=practice, data={"contact_type": "insurer", "name": name or insurer.name,
                                                   "insurer": insurer})


def _named_insurer_contact(practice, name):
    """An insurer without a public identifier (Alliance Health, Allianz Partners …)."""
    from openpractice.coding.models import Insurer
    from openpractice.contacts.services import create_contact

    insurer = Insurer.objects.filter(practice__isnull=True, name=name).first() or Insurer.objects.create(
        practice=practice, name=name)
    return create_contact(practice=practice, data={"contact_type": "insurer", "name": name, "insurer": insurer})


@pytest.fixture
def insurer_contact(db):
    return _insurer_contact


@pytest.fixture
def named_insurer_contact(db):
    return _named_insurer_contact
