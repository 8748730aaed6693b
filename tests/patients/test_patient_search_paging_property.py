"""Patient search by name (hand-written SQL, patients.selectors) against a reference computed in
Python: for any surname prefix and page size, paging forwards then back visits exactly the matching
patients of this practice, unarchived, in (surname key, first name key, id) order, each once."""

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openpractice.patients import keys, selectors
from openpractice.patients.models import Patient

SURNAMES = ["Abbot", "Abbott", "Abel", "Ab", "Baker", "Bak", "O'Brien", "Obi", "Zed", "Ábel"]
FIRST = ["Ann", "Anne", "Bob", "Ann"]


@pytest.fixture
def patients(practice, other_practice):
    made = []
    for i in range(36):
        last, first = SURNAMES[i % len(SURNAMES)], FIRST[i % len(FIRST)]
        made.append(
            Patient(
                practice=practice,
                first_name=first,
                last_name=last,
                date_of_birth=dt.date(1980, 1, 1),
                last_name_key=keys.name_key(last),
                first_name_key=keys.name_key(first),
                is_archived=i % 7 == 0,
            )
        )
    made.append(
        Patient(
            practice=other_practice,
            first_name="Ann",
            last_name="Abbot",
            date_of_birth=dt.date(1980, 1, 1),
            last_name_key="abbot",
            first_name_key="ann",
        )
    )
    Patient.objects.bulk_create(made)
    return list(Patient.objects.filter(practice=practice))


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    prefix=st.sampled_from(["", "a", "ab", "abb", "abbot", "b", "ob", "obr", "z", "q", "ABE"]), size=st.integers(2, 9)
)
def test_paging_by_surname_prefix_matches_the_reference(practice, patients, prefix, size):
    key = keys.name_key(prefix)
    expected = sorted(
        (p for p in patients if not p.is_archived and p.last_name_key.startswith(key)),
        key=lambda p: (p.last_name_key, p.first_name_key, p.id),
    )
    pages, cursor = [], None
    while True:
        page = selectors.search_patients(practice=practice, query=prefix, after=cursor, limit=size)
        pages.append(page)
        assert len(page.patients) <= size
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert [p.id for page in pages for p in page.patients] == [p.id for p in expected]
    # and back again from the last page, with the cursors the pages gave
    for earlier, later in zip(reversed(pages[:-1]), reversed(pages[1:])):
        back = selectors.search_patients(practice=practice, query=prefix, before=later.prev_cursor, limit=size)
        assert [p.id for p in back.patients] == [p.id for p in earlier.patients]
