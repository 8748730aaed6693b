"""The app's membership and authorisation formats (coding/insurer_formats.py) and the sandbox's
(sandbox/rules.py) are written twice on purpose (the sandbox imports nothing of the app): on
generated numbers, both accept exactly the same ones for every insurer whose format Healthcode
publishes. Values are generated as the app stores them (normalised: upper case, single spaces)."""

import string

from hypothesis import given
from hypothesis import strategies as st

from openpractice.coding.insurer_formats import check_authorisation_code, check_registration_number, normalise
from sandbox import rules

# Sandbox identifier -> how the app's directory names it (the sandbox-only identifiers are not
# public, so the app keys those by name).
PUBLISHED_FORMATS = {
    "alh": "Alliance Health",
    "alz": "Allianz Partners",
    "bui": "Bupa Global",
    "ppp": "AXA Health",
    "slh": "Vitality Health",
}
AUTHORISATION_CHECKED = {"alh": "Alliance Health", "alz": "Allianz Partners", "nuh": "Aviva"}


def _shaped(parts):
    """A value built from literal pieces and runs of digits / letters: near-misses included."""
    return st.lists(
        st.one_of(
            st.sampled_from(["W", "P", "C", "AXA-", "AXA/", "HOL/", "INTL7", "AXI", "BI-", "-", " ", "/", "\\"]),
            st.text(string.digits, min_size=1, max_size=11),
            st.text(string.ascii_uppercase, min_size=1, max_size=3),
        ),
        min_size=1,
        max_size=parts,
    ).map("".join)


numbers = st.one_of(
    _shaped(5),
    st.text(string.ascii_uppercase + string.digits + " -/\\", min_size=1, max_size=20),
    st.sampled_from(
        ["W123456789", "W1234567890-01", "W1234 12345", "W1234 123456-12", "P12345", "1234567", "BI-1234-5678-9012"]
    ),
).map(normalise)
codes = st.one_of(_shaped(4), st.text(string.ascii_uppercase + string.digits + "-/\\", min_size=1, max_size=30)).map(
    normalise
)


@given(st.sampled_from(sorted(PUBLISHED_FORMATS)), numbers)
def test_registration_formats_agree(identifier, number):
    if not number:
        return
    app = check_registration_number(number, identifier=identifier, name=PUBLISHED_FORMATS[identifier]).ok
    sandbox = rules.matches_any(number, rules.membership_formats(identifier))
    if identifier == rules.VITALITY_INSURER and rules.VITALITY_MEMBER_NUMBER.match(number):
        sandbox = False  # the sandbox refuses a Vitality member number by its own rule
    assert app == sandbox, (identifier, number)


@given(st.sampled_from(sorted(AUTHORISATION_CHECKED)), numbers, codes)
def test_authorisation_formats_agree(identifier, member_number, code):
    if not code or len(code) > 30:
        return
    app = check_authorisation_code(
        code, identifier=identifier, name=AUTHORISATION_CHECKED[identifier], registration_number=member_number
    ).ok
    formats = rules.authorisation_formats(identifier, member_number)
    sandbox = formats is None or rules.matches_any(code, formats)
    assert app == sandbox, (identifier, member_number, code)


@given(st.sampled_from(["W123456789", "W1234567890-01", "W1234 12345", "W1234 123456-12"]), codes)
def test_an_allianz_member_with_a_w_number_has_aetnas_authorisation_rule_in_both(member_number, code):
    if not code:
        return  # an authorisation code is optional: blank passes both
    app = check_authorisation_code(code, identifier="alz", name="Allianz Partners", registration_number=member_number)
    assert rules.authorisation_formats("alz", member_number) is rules.AETNA_AUTHORISATION_FORMATS
    assert app.ok == rules.matches_any(code, rules.AETNA_AUTHORISATION_FORMATS)


def test_no_insurer_the_sandbox_lists_is_left_out_of_the_directory():
    from sandbox import seed

    listed = {row[0] for row in seed.INSURERS}
    assert "aet" not in listed and rules.INSURER_ALIASES["aet"] in listed
    assert "aet" not in rules.MEMBERSHIP_FORMATS and "aet" not in rules.AUTHORISATION_FORMATS
