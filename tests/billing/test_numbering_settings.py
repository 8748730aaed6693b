"""Settings > Billing: invoice and credit-note number prefixes."""

import pytest
from django.db import transaction
from hypothesis import given, settings
from hypothesis import strategies as st

from openpractice.billing import selectors, services
from openpractice.billing.errors import BillingError
from openpractice.billing.models import NumberSequence, SequenceKind

pytestmark = pytest.mark.django_db


def _take(practice, kind=SequenceKind.INVOICE):
    with transaction.atomic():
        return services.take_number(practice=practice, kind=kind)


def test_changing_the_prefix_carries_the_count_on(practice):
    assert _take(practice) == "INV000001"
    services.set_number_prefixes(practice=practice, invoice_prefix="hs", credit_note_prefix="HSC")
    assert _take(practice) == "HS000002"
    assert _take(practice, SequenceKind.CREDIT_NOTE) == "HSC000001"
    rows = {row["kind"]: row for row in selectors.number_sequences(practice=practice)}
    assert rows["invoice"]["next_number"] == "HS000003" and rows["invoice"]["issued"] == 2


@pytest.mark.parametrize(
    "invoice_prefix, credit_prefix, field",
    [
        ("IN.V", "CN", "invoice_prefix"),
        ("INV1", "CN", "invoice_prefix"),
        ("", "CN", "invoice_prefix"),
        ("INV", "TOOLONG", "credit_note_prefix"),
        ("INV", "inv", "credit_note_prefix"),
    ],
)
def test_bad_prefixes_are_refused_and_nothing_changes(practice, invoice_prefix, credit_prefix, field):
    services.set_number_prefixes(practice=practice, invoice_prefix="ABC", credit_note_prefix="XY")
    with pytest.raises(BillingError) as refused:
        services.set_number_prefixes(practice=practice, invoice_prefix=invoice_prefix, credit_note_prefix=credit_prefix)
    assert refused.value.field == field
    assert dict(NumberSequence.objects.filter(practice=practice).values_list("kind", "prefix")) == {
        "invoice": "ABC",
        "credit_note": "XY",
    }


def test_a_prefix_too_long_for_the_count_is_refused(practice):
    services.set_number_prefix(practice=practice, prefix="AB")
    NumberSequence.objects.filter(practice=practice, kind="invoice").update(next_value=1_000_000)
    with pytest.raises(BillingError, match="10 characters"):
        services.set_number_prefixes(practice=practice, invoice_prefix="ABCD", credit_note_prefix="CN")


def test_settings_page_saves_and_shows_errors_at_the_field(owner_client, practice):
    page = owner_client.get("/settings/billing/")
    assert page.status_code == 200 and b"INV000001" in page.content
    bad = owner_client.post("/settings/billing/", {"invoice_prefix": "IN.V", "credit_note_prefix": "CN"})
    assert bad.status_code == 200
    assert b'id="id_invoice_prefix_error"' in bad.content and b"capital letters" in bad.content
    good = owner_client.post("/settings/billing/", {"invoice_prefix": "hs", "credit_note_prefix": "hsc"}, follow=True)
    assert b"The next invoice will be HS000001" in good.content


def test_only_settings_managers_open_it(client_for, receptionist, biller, other_owner, practice):
    assert client_for(receptionist).get("/settings/billing/").status_code == 403
    assert client_for(biller).get("/settings/billing/").status_code == 403
    # Another practice's owner edits their own sequences, never Alpha's.
    client_for(other_owner).post("/settings/billing/", {"invoice_prefix": "BETA", "credit_note_prefix": "BC"})
    assert not NumberSequence.objects.filter(practice=practice).exists()


@settings(max_examples=200, deadline=None)
@given(typed=st.text(max_size=6), count=st.integers(min_value=1, max_value=10**8))
def test_any_accepted_prefix_gives_numbers_every_insurer_takes(typed, count):
    """Property: whatever is typed, the prefix is refused naming the field, or every number it
    gives is at most 10 characters of capital letters then digits, never a full stop; a count
    that no longer fits is refused too, never cut short."""
    try:
        prefix = services.clean_prefix(typed)
    except BillingError as refused:
        assert refused.field == "prefix"
        return
    assert prefix.isascii() and prefix.isalpha() and prefix.isupper() and 1 <= len(prefix) <= 4
    try:
        number = services.format_number(prefix, count)
    except BillingError as used_up:
        assert used_up.code == "sequence_exhausted" and len(prefix) + len(str(count)) > services.MAX_NUMBER_LENGTH
        return
    assert len(number) <= services.MAX_NUMBER_LENGTH and "." not in number
    assert number.startswith(prefix) and int(number[len(prefix) :]) == count
