import pytest

from openpractice.coding.importing import CsvCodeSource
from openpractice.coding.models import ImportKind
from openpractice.coding.services import import_code_set


def csv_bytes(*lines: str) -> bytes:
    return ("\n".join(lines) + "\n").encode("utf-8")


@pytest.fixture
def import_csv():
    def do(practice, *lines, system="ccsd", insurer=None, retire_missing=True, today=None, content=None):
        return import_code_set(
            practice=practice,
            kind=ImportKind.ACCEPTED if insurer else ImportKind.CODES,
            system=system,
            source=CsvCodeSource(content if content is not None else csv_bytes(*lines)),
            insurer=insurer,
            retire_missing=retire_missing,
            today=today,
        )

    return do


@pytest.fixture
def bupa(db):
    from openpractice.coding.models import Insurer

    return Insurer.objects.get(healthcode_identifier="bup", practice__isnull=True)
