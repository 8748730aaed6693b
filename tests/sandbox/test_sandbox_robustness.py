"""Whatever a client sends, the sandbox answers 4xx with an OperationOutcome, never 5xx."""

from __future__ import annotations

import datetime as dt

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sandbox.fhir import dumps
from sandbox.testing import example_claim

JSON_SCALARS = st.none() | st.booleans() | st.integers(-(10**6), 10**6) | st.text(max_size=12)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
CLAIM_KEYS = sorted(example_claim())
ITEM_KEYS = ["sequence", "productOrService", "servicedDate", "quantity", "unitPrice", "net"]
FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _answer_is_sound(answer) -> None:
    assert answer.status_code < 500, answer.text
    if answer.status_code >= 400:
        assert answer.json()["resourceType"] == "OperationOutcome"


@FUZZ
@given(key=st.sampled_from(CLAIM_KEYS), value=JSON_VALUES)
def test_a_claim_with_any_element_replaced_never_gets_a_5xx(api, key, value):
    claim = example_claim(invoice_number="FUZZ1", service_date=dt.date(2026, 6, 15))
    claim[key] = value
    _answer_is_sound(api.submit(claim))


@FUZZ
@given(key=st.sampled_from(ITEM_KEYS), value=JSON_VALUES)
def test_a_charge_line_with_any_element_replaced_never_gets_a_5xx(api, key, value):
    claim = example_claim(invoice_number="FUZZ2", service_date=dt.date(2026, 6, 15))
    claim["item"][0][key] = value
    _answer_is_sound(api.submit(claim))


@FUZZ
@given(
    endpoint=st.sampled_from(
        [
            "list_insurers_endpoint",
            "search_code_set_endpoint",
            "find_member_endpoint",
            "claim_status_endpoint",
            "cancel_claim_endpoint",
            "get_remittance_details_endpoint",
            "acknowledge_remittance_endpoint",
            "search_remittance_summary_endpoint",
        ]
    ),
    form=st.dictionaries(
        st.sampled_from(
            [
                "page",
                "count",
                "codeSet",
                "insurerIdentifier",
                "membershipNumber",
                "lastName",
                "dateOfBirth",
                "postCode",
                "policyActiveOn",
                "billId",
                "invoiceNumber",
                "remittanceId",
                "paymentAmount",
                "dateCreated",
                "datePaid",
                "amountInvoiced",
                "hasShortFall",
                "activeOn",
            ]
        ),
        st.text(max_size=12),
        max_size=6,
    ),
)
def test_any_search_form_never_gets_a_5xx(api, endpoint, form):
    _answer_is_sound(api.http.post(api.endpoints[endpoint], data=form, headers=api.headers()))


@FUZZ
@given(body=st.binary(max_size=200))
def test_any_bytes_as_a_claim_never_get_a_5xx(api, body):
    _answer_is_sound(
        api.http.post(
            api.endpoints["submit_claim_endpoint"],
            content=body,
            headers=api.headers(**{"Content-Type": "application/fhir+json"}),
        )
    )


def test_decimal_amounts_survive_exactly(api):
    claim = example_claim(
        invoice_number="EXACT1",
        service_date=dt.date(2026, 6, 15),
        lines=[{"isc": "SCON1", "unit_price": "33.33", "quantity": 3}],
    )
    assert b'"value":99.99' in dumps(claim)
    assert api.submit(claim).status_code == 201
