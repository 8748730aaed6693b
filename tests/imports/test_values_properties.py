"""Hypothesis: the import's money parsing, identifier normalisation, dates and the email fast path."""

from __future__ import annotations

import datetime as dt
import string
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from hypothesis import example, given
from hypothesis import strategies as st

from openpractice.imports import values
from openpractice.imports.checks import PLAIN_EMAIL, patient_key

pennies = st.integers(min_value=0, max_value=99_999_999_99)


@given(pennies, st.sampled_from(["{}", "£{}", "{:,}", "£{:,}", " {} "]))
def test_money_reads_back_the_amount_written(p, shape):
    amount = Decimal(p) / 100
    text = shape.format(amount.quantize(Decimal("0.01")))
    parsed = values.money(text, label="Total")
    assert parsed == amount and isinstance(parsed, Decimal) and parsed.as_tuple().exponent == -2


@given(st.text(max_size=20))
@example("12.345")
@example("-5")
@example("NaN")
@example("1e3")
@example("")
def test_money_is_decimal_pence_or_refused_with_a_message(text):
    try:
        parsed = values.money(text, label="Total")
    except ValueError as exc:
        assert "pounds" in str(exc) or "negative" in str(exc)
    else:
        assert isinstance(parsed, Decimal) and parsed >= 0 and parsed.as_tuple().exponent == -2


@given(st.text(alphabet=string.ascii_letters + string.digits + "-/ ", min_size=1, max_size=20))
def test_identifier_normalisation_is_stable_and_ignores_case_and_blanks(text):
    once = values.identifier(text)
    assert values.identifier(once) == once
    assert values.identifier(f"  {text.lower()}  ") == once
    assert once == once.strip() and "  " not in once


@given(
    st.dates(min_value=dt.date(1880, 1, 1), max_value=dt.date(2100, 12, 31)),
    st.sampled_from(
        ["%d/%m/%Y", "%Y-%m-%d", "%d-%m-%Y", "%d.%m.%Y", "%d %b %Y", "%d/%m/%Y 00:00:00", "%Y-%m-%dT00:00:00"]
    ),
)
def test_dates_in_every_export_shape_read_back(day, fmt):
    assert values.date(day.strftime(fmt), label="Date of birth") == day


@pytest.mark.parametrize("text", ["31/02/1990", "12/04/80", "1980-13-01", "tomorrow", "", "04/12"])
def test_impossible_dates_refused(text):
    with pytest.raises(ValueError, match="four-digit year"):
        values.date(text, label="Date of birth")


@given(st.emails())
def test_email_fast_path_accepts_only_what_django_accepts(email):
    email = email.lower()
    if PLAIN_EMAIL.fullmatch(email) and len(email) <= 254:
        validate_email(email)  # never raises: the fast path is a subset


@given(st.text(alphabet="ab.@-_+", max_size=20))
def test_email_fast_path_subset_on_odd_text(text):
    if PLAIN_EMAIL.fullmatch(text):
        try:
            validate_email(text)
        except ValidationError:  # pragma: no cover - would be a bug in the subset
            pytest.fail(f"{text!r} passed the fast path but not validate_email")


@given(st.text(max_size=10), st.text(max_size=10))
def test_patient_key_without_id_or_nhs_is_name_and_birth(first, last):
    key = patient_key(source_id="", nhs_number="", last_name=last, first_name=first, born=dt.date(1980, 1, 1))
    assert key.startswith("nd:") and key.endswith("|1980-01-01")
    assert (
        key
        == patient_key(
            source_id="", nhs_number="", last_name=last.upper(), first_name=f" {first} ", born=dt.date(1980, 1, 1)
        )
        or not (first + last).isascii()
    )
