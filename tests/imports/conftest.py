"""Helpers for the data import tests: CSV text in, an import run out."""

from __future__ import annotations

import pytest


def csv_of(*rows: str) -> bytes:
    return ("\n".join(rows) + "\n").encode()


@pytest.fixture
def upload(owner):
    from openpractice.imports import services

    def make(practice, kind, *rows, source="OldSystem", filename="export.csv", user=None):
        return services.create_import(
            practice=practice, kind=kind, source_name=source, filename=filename, data=csv_of(*rows), user=user or owner
        )

    return make


PATIENTS_HEADER = "Patient ID,Title,Forename,Surname,DOB,Gender,Email,Telephone,Address,Town,Postcode,NHS No,Insurer,Membership Number"
