"""Importing contacts, products with contract prices, and open invoices as opening balances."""

from __future__ import annotations

from decimal import Decimal

import pytest

from openpractice.billing.models import HealthcodeStatus, Invoice, PaymentOutcome, RecordStatus
from openpractice.contacts.models import Contact
from openpractice.imports import services
from openpractice.imports.models import ImportStatus
from openpractice.products.models import ContractPrice, Product
from tests.imports.conftest import PATIENTS_HEADER

CONTACTS = "Id,Type,Name,Healthcode identifier,Email,Postcode"


def test_contacts_with_healthcode_identifier(practice, upload):
    run = upload(
        practice,
        "contacts",
        CONTACTS,
        "C1,Insurer,Bupa,bup,claims@bupa.example,",
        "C2,GP,Marylebone Health Centre,,,NW1 5LT",
    )
    run = services.post_import(run=run)
    assert run.status == ImportStatus.POSTED, run.problems
    bupa = Contact.objects.get(practice=practice, name="Bupa")
    assert bupa.insurer.healthcode_identifier == "bup" and bupa.email == "claims@bupa.example"
    assert Contact.objects.get(practice=practice, contact_type="gp").postcode == "NW1 5LT"
    again = services.check_import(run=upload(practice, "contacts", CONTACTS, "C1,Insurer,Bupa,bup,,"))
    assert again.counts["already_imported"] == 1 and again.counts["create"] == 0


def test_contact_problems(practice, upload):
    run = services.check_import(
        run=upload(practice, "contacts", CONTACTS, "C1,Insurer,Nobody Health,zzz,,", "C2,Plumber,Bob,,x@,ZZ")
    )
    found = {(p["row"], p["field"]) for p in run.problems}
    assert found == {(2, "healthcode_identifier"), (3, "contact_type"), (3, "email"), (3, "postcode")}
    assert not Contact.objects.filter(practice=practice).exists()


PRODUCTS = "Name,Type,Duration,Price,VAT,ISC,CCSD,Insurer,Contract price,Valid from"


def test_products_with_contract_prices(practice, upload, insurer_contact):
    insurer_contact(practice, "bup")
    insurer_contact(practice, "ppp")
    run = upload(
        practice,
        "products",
        PRODUCTS,
        "Initial consultation,Appointment,30,£250.00,exempt,,,,,",
        "Initial consultation,,,250,,,,bup,200.00,01/01/2026",
        'Initial consultation,,,250,,,,ppp,"1,210.5",01/01/2026',
        "Knee injection,Procedure,,400,,,,,,",
    )
    run = services.post_import(run=run)
    assert run.status == ImportStatus.POSTED, run.problems
    consult = Product.objects.get(practice=practice, name="Initial consultation")
    assert consult.list_price == Decimal("250.00") and consult.duration_minutes == 30
    prices = {c.insurer_contact.insurer.healthcode_identifier: c.price for c in ContractPrice.objects.all()}
    assert prices == {"bup": Decimal("200.00"), "ppp": Decimal("1210.50")}
    again = services.check_import(run=upload(practice, "products", PRODUCTS, "Knee injection,Procedure,,400,,,,,,"))
    assert again.counts["already_imported"] == 1


def test_product_problems_name_row_and_field(practice, upload, insurer_contact):
    insurer_contact(practice, "bup")
    run = services.check_import(
        run=upload(
            practice,
            "products",
            PRODUCTS,
            "Scan,Appointment,abc,12.345,maybe,,,,,",
            "X-ray,Procedure,,-5,,NOTACODE,,bup,,",
        )
    )
    found = {(p["row"], p["field"]) for p in run.problems}
    assert {
        (2, "duration_minutes"),
        (2, "list_price"),
        (2, "vat_treatment"),
        (3, "list_price"),
        (3, "contract_price"),
    } <= found
    assert not Product.objects.filter(practice=practice).exists()


def test_product_code_checked_by_the_products_service(practice, upload):
    run = services.check_import(run=upload(practice, "products", PRODUCTS, "X-ray,Procedure,,50,,NOTACODE,,,,"))
    assert [(p["row"], p["field"]) for p in run.problems] == [(2, "industry_standard_code")]
    assert not Product.objects.filter(practice=practice).exists()  # the trial write was rolled back


INVOICES = "Invoice No,Patient ID,Insurer,Membership number,Date,Due,Total,Balance"


@pytest.fixture
def imported_patients(practice, upload, insurer_contact, practitioner):
    insurer_contact(practice, "bup")
    services.post_import(
        run=upload(
            practice,
            "patients",
            PATIENTS_HEADER,
            "P1,,Ada,Lovelace,10/12/1985,F,,,,,,,bup,12345678",
            "P2,,Charles,Babbage,26/12/1971,M,,,,,,,,",
        )
    )


def test_open_invoices_become_opening_balances(practice, upload, imported_patients):
    run = upload(
        practice,
        "invoices",
        INVOICES,
        "INV000120,P1,bup,12345678,01/10/2026,31/10/2026,300.00,300.00",
        "A-77,P2,,,15/09/2026,,150.00,50.00",
        "A-78,P2,,,15/09/2026,,80.00,0.00",
    )
    run = services.check_import(run=run)
    assert run.counts["create"] == 2 and run.counts["paid"] == 1, run.problems
    assert not Invoice.objects.filter(practice=practice).exists()
    run = services.post_import(run=run)
    assert run.status == ImportStatus.POSTED, run.problems
    insurer_bill = Invoice.objects.get(practice=practice, number="INV000120")
    assert insurer_bill.record_status == RecordStatus.ISSUED and insurer_bill.bill_to == "insurer"
    # not offered for submission again: the other system sent it
    assert insurer_bill.healthcode_status == HealthcodeStatus.NOT_FOUND
    assert insurer_bill.balance == Decimal("300.00")
    part = Invoice.objects.get(practice=practice, number="A-77")
    assert part.balance == Decimal("50.00") and part.payment_outcome == PaymentOutcome.PART_PAID
    assert part.payments.get().amount == Decimal("100.00")
    # the practice's own numbering moves past an imported number in its style
    from openpractice.billing.models import NumberSequence

    assert NumberSequence.objects.get(practice=practice, kind="invoice").next_value == 121
    again = services.check_import(run=upload(practice, "invoices", INVOICES, "A-77,P2,,,15/09/2026,,150.00,50.00"))
    assert again.counts["already_imported"] == 1 and again.counts["create"] == 0


def test_invoice_problems(practice, upload, imported_patients):
    run = services.post_import(
        run=upload(
            practice,
            "invoices",
            INVOICES,
            "A-1,P404,,,01/10/2026,,100,10",
            "A-2,P2,bup,,01/10/2026,,100,200",
            "A-3,P2,bup,,01/10/2026,,100,50",
            "A-1,P1,,,2026-13-01,,x,10",
        )
    )
    assert run.status == ImportStatus.FAILED
    found = {(p["row"], p["field"]) for p in run.problems}
    assert {(2, "patient"), (3, "balance"), (4, "insurer"), (5, "number"), (5, "invoice_date"), (5, "total")} <= found
    assert not Invoice.objects.filter(practice=practice).exists()


def test_invoice_all_or_nothing_when_the_service_refuses(practice, upload, imported_patients):
    run = services.post_import(
        run=upload(
            practice,
            "invoices",
            INVOICES,
            "A-1,P2,,,01/10/2026,,100,10",
            "A-2,P2,,,01/10/2026,01/09/2026,100,10",
        )
    )
    assert [(p["row"], p["field"]) for p in run.problems] == [(3, "due_date")]
    assert not Invoice.objects.filter(practice=practice).exists()
