"""Fixtures for the set-up tests (contacts, products, patients)."""

import pytest

from openpractice.coding.selectors import find_insurer


def _insurer_contact(practice, identifier="bup", name=None):
    from openpractice.contacts.services import create_contact

    insurer = find_insurer(practice=practice, healthcode_identifier=identifier)
    return create_contact(
        practice=practice, data={"contact_type": "insurer", "name": name or insurer.name, "insurer": insurer}
    )


def _named_insurer_contact(practice, name):
    """An insurer without a public identifier (Alliance Health, Allianz Partners …)."""
    from openpractice.coding.models import Insurer
    from openpractice.contacts.services import create_contact

    insurer = Insurer.objects.filter(practice__isnull=True, name=name).first() or Insurer.objects.create(
        practice=practice, name=name
    )
    return create_contact(practice=practice, data={"contact_type": "insurer", "name": name, "insurer": insurer})


@pytest.fixture
def insurer_contact(db):
    return _insurer_contact


@pytest.fixture
def named_insurer_contact(db):
    return _named_insurer_contact


def pytest_terminal_summary(terminalreporter):
    """`schemathesis: N cases, M server errors` for the API fuzz tests (tests/test_api_fuzz.py),
    summed from each test's report so it also adds up across xdist workers."""
    cases = errors = 0
    seen = False
    for reports in terminalreporter.stats.values():
        for report in reports:
            if getattr(report, "when", None) != "teardown":
                continue
            for name, value in getattr(report, "user_properties", []):
                if name == "schemathesis":
                    seen = True
                    cases += value["cases"]
                    errors += value["server_errors"]
    if seen:
        terminalreporter.write_line(f"schemathesis: {cases} cases, {errors} server errors")
