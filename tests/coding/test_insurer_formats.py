"""Every published membership and authorisation format, valid and invalid (HEALTHCODE.md)."""

import re
import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openpractice.coding.insurer_formats import (
    authorisation_formats,
    check_authorisation_code,
    check_registration_number,
    insurer_key,
    is_aetna_americas_number,
    registration_formats,
)

digits = lambda n, m=None: st.text(string.digits, min_size=n, max_size=m or n)  # noqa: E731
letters = lambda n, m=None: st.text(string.ascii_uppercase, min_size=n, max_size=m or n)  # noqa: E731
alnum = lambda n: st.text(string.ascii_uppercase + string.digits, min_size=n, max_size=n)  # noqa: E731

INSURERS = {
    "alliance": {"name": "Alliance Health"},
    "allianz": {"name": "Allianz Partners"},
    # An Aetna Americas member is an Allianz Partners member with a W number (AUTH_MEMBER below).
    "aetna": {"identifier": "alz", "name": "Allianz Partners"},
    "bupa_global": {"identifier": "bui", "name": "Bupa Global"},
    "axa": {"identifier": "ppp", "name": "AXA Health"},
    "freedom": {"name": "Freedom"},
    "exeter": {"name": "Exeter"},
    "axa_global": {"name": "AXA Global"},
    "vitality": {"identifier": "slh", "name": "Vitality Health"},
    "aviva": {"identifier": "nuh", "name": "Aviva"},
    "bupa": {"identifier": "bup", "name": "Bupa"},
}

VALID_REGISTRATION = [
    ("alliance", "123456"),
    ("alliance", "1234567"),
    ("alliance", "12345678"),
    ("allianz", "P1234"),
    ("allianz", "P123456789"),
    ("allianz", "W123456789"),  # an Aetna Americas member: billed to Allianz Partners
    ("allianz", "W1234 123456-12"),
    ("aetna", "P12345"),
    ("aetna", "W123456789"),
    ("aetna", "W1234567890"),
    ("aetna", "W1234 12345"),
    ("aetna", "W1234 123456"),
    ("aetna", "W123456789-01"),
    ("aetna", "W1234567890-12"),
    ("aetna", "W1234 12345-99"),
    ("bupa_global", "BI-1234-5678-9012"),
    ("bupa_global", "12-1234-5678-9012"),
    ("bupa_global", "bi-1234-5678-9012"),
    ("axa", "AXA-AB123456"),
    ("axa", "AX1234567B"),
    ("axa", "1234567A"),
    ("axa", "AXA/A1234567"),
    ("axa", "HOL/A1234567"),
    ("axa", "AB123456"),
    ("axa", "ABC12345"),
    ("axa", "12345678AB12"),
    ("axa", "AB12345678"),
    ("axa", "1234567"),
    ("axa", "123456"),
    ("axa", "AXI12345678"),
    ("axa", "OGI12345678"),
    ("axa", "INTL7123456"),
    ("axa", "INTL71234567"),
    ("freedom", "AB123456"),
    ("freedom", "ABC12345"),
    ("exeter", "12345678AB12"),
    ("exeter", "AB12345678"),
    ("exeter", "1234567"),
    ("exeter", "123456"),
    ("axa_global", "AXE12345678"),
    ("axa_global", "BXC12345678"),
    ("axa_global", "HKE12345678"),
    ("axa_global", "KVE12345678"),
    ("axa_global", "INTL71234567"),
    ("vitality", "40123456"),
    ("aviva", "100200300"),
    ("bupa", "10000001"),
]

INVALID_REGISTRATION = [
    ("alliance", "12345", "Alliance Health registration numbers look like NNNNNN"),
    ("alliance", "123456789", "6 to 8 digits"),
    ("alliance", "A123456", "Alliance Health"),
    ("allianz", "P123", "P + 4 to 9 digits"),
    ("allianz", "P1234567890", "P + 4 to 9 digits"),
    ("aetna", "W12345678", "W + 9 digits"),
    ("aetna", "W1234 1234", "W + 4 digits"),
    ("aetna", "W123456789-1", "-NN"),
    ("bupa_global", "BI-123-5678-9012", "Bupa Global registration numbers look like XX-NNNN-NNNN-NNNN"),
    ("bupa_global", "BI12345678901234", "XX-NNNN-NNNN-NNNN"),
    ("axa", "AXA-A1234567", "AXA-AA000000"),
    ("axa", "12345", "AXA Health registration numbers look like"),
    ("axa", "XYZ12345678", "INTL7"),
    ("freedom", "A1234567", "Freedom registration numbers look like AA000000 or AAA00000"),
    ("exeter", "12345", "Exeter registration numbers look like"),
    ("axa_global", "AXZ12345678", "AXA Global registration numbers"),
    ("axa_global", "INTL712345", "INTL7 + 6 or 7 digits"),
    ("vitality", "1234567", "8-digit policy number"),
    ("vitality", "1234567890", "Vitality member number"),
    ("vitality", "A1234567", "8-digit policy number"),
    ("bupa", "!!", "letters and digits"),
    ("aviva", "X" * 31, "at most 30"),
]


@pytest.mark.parametrize("insurer,value", VALID_REGISTRATION)
def test_valid_registration_numbers(insurer, value):
    result = check_registration_number(value, **INSURERS[insurer])
    assert result.ok, result.message
    assert result.value == value.upper()


@pytest.mark.parametrize("insurer,value,expected", INVALID_REGISTRATION)
def test_invalid_registration_numbers_name_the_format(insurer, value, expected):
    result = check_registration_number(value, **INSURERS[insurer])
    assert not result.ok
    assert expected in result.message


def test_blank_registration_is_refused():
    assert "Enter the registration number" in check_registration_number("  ", identifier="bup").message


def test_bupa_global_message_names_the_format_exactly():
    assert check_registration_number("BI123", identifier="bui").message.startswith(
        "Bupa Global registration numbers look like XX-NNNN-NNNN-NNNN"
    )


def test_vitality_member_number_rejected_with_reason():
    result = check_registration_number("1212345678", identifier="slh")
    assert not result.ok
    assert "member number" in result.message and "8-digit policy number" in result.message


# -- properties ---------------------------------------------------------------------------------
@given(digits(6, 8))
def test_alliance_any_6_to_8_digits(value):
    assert check_registration_number(value, name="Alliance Health").ok


@given(digits(0, 5) | digits(9, 12))
def test_alliance_other_lengths_refused(value):
    assert not check_registration_number(value, name="Alliance Health").ok


@given(digits(4, 9))
def test_allianz_p_numbers(value):
    assert check_registration_number("P" + value, name="Allianz Partners").ok


@given(st.sampled_from(["W{9}", "W{10}", "W{4} {5}", "W{4} {6}"]), st.booleans(), st.data())
def test_aetna_w_numbers(shape, suffix, data):
    value = ""
    for part in shape.replace("}", "{").split("{"):
        value += data.draw(digits(int(part))) if part.isdigit() else part
    if suffix:
        value += "-" + data.draw(digits(2))
    assert check_registration_number(value, name="Allianz Partners").ok
    assert check_registration_number(value, identifier="alz", name="Allianz Partners").ok
    assert is_aetna_americas_number(value)


@given(alnum(2), digits(4), digits(4), digits(4))
def test_bupa_global_shape(prefix, a, b, c):
    assert check_registration_number(f"{prefix}-{a}-{b}-{c}", identifier="bui").ok
    assert not check_registration_number(f"{prefix}{a}{b}{c}", identifier="bui").ok


@given(letters(2), digits(6), letters(1), digits(7))
def test_axa_shapes(two, six, one, seven):
    for value in (f"AXA-{two}{six}", f"{two}{seven}{one}", f"{seven}{one}", f"AXA/{one}{seven}", f"HOL/{one}{seven}"):
        assert check_registration_number(value, identifier="ppp").ok, value


@given(st.sampled_from(["AXI", "AXE", "AXC", "BXI", "BXE", "BXC", "HKE", "KVE", "OGI"]), digits(8), digits(6, 7))
def test_axa_global_shapes(prefix, eight, intl):
    assert check_registration_number(prefix + eight, name="AXA Global").ok
    assert check_registration_number("INTL7" + intl, name="AXA Global").ok


@given(digits(8))
def test_vitality_policy_numbers(value):
    assert check_registration_number(value, identifier="slh").ok


@given(digits(8))
def test_vitality_member_numbers_refused(rest):
    result = check_registration_number("12" + rest, identifier="slh")
    assert not result.ok and "member number" in result.message


# -- authorisation codes ------------------------------------------------------------------------
VALID_AUTH = [
    ("aetna", "C123456"),
    ("aetna", "C1234567890"),
    ("aetna", "12345"),
    ("aetna", "12345678"),
    ("alliance", "ABC12345"),
    ("alliance", "A-B12345"),
    ("allianz", "AUTH-123-X"),
    ("allianz", "abc"),
    ("aviva", "123456/12/1234/123"),
    ("aviva", "123456\\12\\1234\\123"),
    ("aviva", "123456/12"),
    ("axa", "anything goes 1"),
    ("bupa", "B12345"),
    ("vitality", ""),
]
INVALID_AUTH = [
    ("aetna", "AUTH-1", "Aetna Americas (Allianz Partners) authorisation codes look like C + 6 to 10 digits"),
    (
        "aetna",
        "C12345",
        "Aetna Americas (Allianz Partners) authorisation codes look like C + 6 to 10 digits or 5 to 8 digits",
    ),
    ("aetna", "1234", "5 to 8 digits"),
    ("aetna", "C12345678901", "C + 6 to 10 digits"),
    ("alliance", "AB123456", "Alliance Health authorisation codes look like AAANNNNN or A-ANNNNN"),
    ("alliance", "A-1234567", "A-ANNNNN"),
    ("allianz", "AUTH/1", "letters, digits and hyphens"),
    ("aviva", "123456/1", "Aviva authorisation codes look like NNNNNN/NN/NNNN/NNN"),
    ("aviva", "123456/12/1234", "NNNNNN/NN"),
]


# The member's registration number, where it decides the authorisation format.
AUTH_MEMBER = {"aetna": "W123456789", "allianz": "P12345"}


@pytest.mark.parametrize("insurer,value", VALID_AUTH)
def test_valid_authorisation_codes(insurer, value):
    result = check_authorisation_code(value, **INSURERS[insurer], registration_number=AUTH_MEMBER.get(insurer))
    assert result.ok, result.message


@pytest.mark.parametrize("insurer,value,expected", INVALID_AUTH)
def test_invalid_authorisation_codes_name_the_format(insurer, value, expected):
    result = check_authorisation_code(value, **INSURERS[insurer], registration_number=AUTH_MEMBER.get(insurer))
    assert not result.ok
    assert expected in result.message


@given(digits(6, 10), digits(5, 8), st.sampled_from(["W123456789", "W1234567890-01", "W1234 12345"]))
def test_aetna_codes_for_allianz_members_with_w_numbers(c_digits, plain, member):
    allianz = {"identifier": "alz", "name": "Allianz Partners", "registration_number": member}
    assert check_authorisation_code("C" + c_digits, **allianz).ok
    assert check_authorisation_code(plain, **allianz).ok
    assert authorisation_formats(**allianz) == "C + 6 to 10 digits or 5 to 8 digits"


@given(st.text(string.ascii_uppercase + string.digits + "-", min_size=1, max_size=30))
def test_allianz_w_member_codes_are_aetnas_p_member_codes_free(value):
    aetna_shape = bool(re.fullmatch(r"C\d{6,10}|\d{5,8}", value))
    w_member = check_authorisation_code(value, name="Allianz Partners", registration_number="W123456789")
    p_member = check_authorisation_code(value, name="Allianz Partners", registration_number="P12345")
    assert w_member.ok == aetna_shape
    assert p_member.ok
    if not w_member.ok:
        assert "C + 6 to 10 digits" in w_member.message


@given(digits(4, 9), digits(0, 3))
def test_p_numbers_are_not_aetna_numbers(value, noise):
    assert not is_aetna_americas_number("P" + value)
    assert not is_aetna_americas_number("W" + noise)


@given(letters(3), digits(5), letters(1), letters(1))
def test_alliance_auth_shapes(three, five, a, b):
    assert check_authorisation_code(three + five, name="Alliance Health").ok
    assert check_authorisation_code(f"{a}-{b}{five}", name="Alliance Health").ok


@given(digits(6), digits(2), digits(4), digits(3), st.sampled_from(["/", "\\"]))
def test_aviva_auth_shapes(a, b, c, d, sep):
    assert check_authorisation_code(sep.join([a, b, c, d]), identifier="nuh").ok
    assert check_authorisation_code(f"{a}/{b}", identifier="nuh").ok


@given(st.text(string.ascii_letters + string.digits + "-", min_size=1, max_size=30))
def test_allianz_free_format(value):
    assert check_authorisation_code(value, name="Allianz Partners").ok


@given(st.text(min_size=1, max_size=40))
def test_never_crashes_and_always_explains(value):
    for insurer in INSURERS.values():
        for check in (check_registration_number, check_authorisation_code):
            result = check(value, **insurer)
            assert result.ok or result.message


def test_insurer_keys():
    assert insurer_key("bup", "Bupa") == "bup"
    # No separate Aetna insurer: a directory entry that mentions Aetna is read as Allianz Partners.
    assert insurer_key("", "Allianz Partners (Aetna Americas)") == "allianz partners"
    assert insurer_key("aet", "Aetna Americas") == "allianz partners"
    assert insurer_key("alz", "Allianz Partners") == "allianz partners"
    assert insurer_key(None, "Bupa Global") == "bui"
    assert insurer_key("alh", "Alliance Health") == "alliance health"
    assert insurer_key(None, "AXA Global") == "axa global"
    assert registration_formats(identifier="bui").startswith("XX-NNNN")
