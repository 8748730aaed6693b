"""The practice's bank account for transfers: entered under Settings › Practice (or the API),
checked where it enters, and printed on statements."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openpractice.practices import services
from openpractice.practices.errors import PracticeError
from openpractice.practices.validators import normalise_account_number, normalise_sort_code

pytestmark = pytest.mark.django_db


@given(st.text(alphabet="0123456789", min_size=6, max_size=6), st.sampled_from(["", " ", "-", " - "]))
def test_a_sort_code_typed_any_way_is_stored_one_way(digits, sep):
    typed = sep.join([digits[:2], digits[2:4], digits[4:]])
    assert normalise_sort_code(typed) == f"{digits[:2]}-{digits[2:4]}-{digits[4:]}"


@given(st.text(alphabet="0123456789", min_size=7, max_size=8))
def test_an_account_number_is_eight_digits(digits):
    assert normalise_account_number(digits) == digits.zfill(8)


def test_saved_normalised(practice):
    services.update_practice(
        practice=practice,
        data={"bank_account_name": "Demo Practice Ltd", "bank_sort_code": "20 00 00", "bank_account_number": "1234567"},
    )
    practice.refresh_from_db()
    assert (practice.bank_sort_code, practice.bank_account_number) == ("20-00-00", "01234567")


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"bank_sort_code": "20-00", "bank_account_number": "12345678"}, "bank_sort_code"),
        ({"bank_sort_code": "20-00-00", "bank_account_number": "12AB5678"}, "bank_account_number"),
        ({"bank_sort_code": "20-00-00"}, "bank_account_number"),
    ],
)
def test_bad_or_half_an_account_is_refused_naming_the_field(practice, data, field):
    with pytest.raises(PracticeError) as refused:
        services.update_practice(practice=practice, data=data)
    assert refused.value.field == field
    practice.refresh_from_db()
    assert practice.bank_sort_code == "" and practice.bank_account_number == ""


def test_the_settings_page_saves_the_account_and_shows_errors(client, owner, practice):
    client.force_login(owner)
    details = {"name": practice.name, "postcode": "", "email": "", "website": ""}
    answer = client.post("/settings/practice/", {**details, "bank_sort_code": "200000", "bank_account_number": ""})
    assert answer.status_code == 200
    assert "Enter both the sort code and the account number" in answer.content.decode()
    answer = client.post(
        "/settings/practice/",
        {**details, "bank_account_name": "Demo", "bank_sort_code": "200000", "bank_account_number": "12345678"},
    )
    assert answer.status_code == 302
    practice.refresh_from_db()
    assert practice.bank_sort_code == "20-00-00"


def test_the_statement_prints_the_account(practice):
    from openpractice.receivables.statements import bank_details

    assert bank_details(practice) is None
    services.update_practice(practice=practice, data={"bank_sort_code": "200000", "bank_account_number": "12345678"})
    practice.refresh_from_db()
    details = bank_details(practice)
    assert details is not None and details.sort_code == "20-00-00" and details.account_name == practice.name
