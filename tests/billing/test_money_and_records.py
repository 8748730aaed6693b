"""Numbers, totals, VAT, payments, credit notes, void: the money rules, without the network."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection, transaction

from openpractice.billing import services
from openpractice.billing.errors import BillingError
from openpractice.billing.models import PaymentOutcome, RecordStatus
from openpractice.billing.money import parse_money, round_money


def test_round_money_is_half_up_and_refuses_floats():
    assert round_money(Decimal("0.125")) == Decimal("0.13")
    assert round_money(Decimal("-0.125")) == Decimal("-0.13")
    assert round_money("10") == Decimal("10.00")
    with pytest.raises(TypeError):
        round_money(0.1)
    with pytest.raises(BillingError, match="two decimal places"):
        parse_money("1.234", field="amount", label="Amount")
    with pytest.raises(BillingError, match="in pounds"):
        parse_money("ten", field="amount", label="Amount")


def test_numbers_are_sequential_short_and_never_reused(make_invoice, demo):
    numbers = []
    for _ in range(3):
        numbers.append(services.issue_invoice(invoice=make_invoice()).number)
    prefix = numbers[0][:-6]
    assert numbers == [f"{prefix}000001", f"{prefix}000002", f"{prefix}000003"]
    assert all(len(n) <= 10 and "." not in n for n in numbers)
    voided = services.void_invoice(invoice=make_invoice(), reason="raised in error")
    assert voided.record_status == RecordStatus.VOID and voided.number == ""
    issued = services.issue_invoice(invoice=make_invoice())
    services.void_invoice(invoice=issued, reason="duplicate")
    assert services.issue_invoice(invoice=make_invoice()).number == f"{prefix}000005"  # 4 stays with the void one
    with pytest.raises(BillingError, match="1 to 4 capital letters"):
        services.set_number_prefix(practice=demo, prefix="IN.V")


def test_a_rolled_back_issue_gives_its_number_back(make_invoice):
    invoice = make_invoice()
    with pytest.raises(RuntimeError), transaction.atomic():
        services.issue_invoice(invoice=invoice)
        raise RuntimeError("the request failed after taking a number")
    assert services.issue_invoice(invoice=invoice).number.endswith("000001")


def test_prefix_length_keeps_numbers_within_ten_characters(demo):
    from openpractice.billing.models import NumberSequence

    services.set_number_prefix(practice=demo, prefix="ABCD")
    NumberSequence.objects.filter(practice=demo).update(next_value=999999)
    with transaction.atomic():
        assert services.take_number(practice=demo) == "ABCD999999"
    with pytest.raises(BillingError, match="used up"), transaction.atomic():
        services.take_number(practice=demo)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks across threads need PostgreSQL")
@pytest.mark.django_db(transaction=True)  # runs last (conftest): its flush removes reference data
def test_concurrent_issues_never_share_a_number(django_db_blocker, request):
    from concurrent.futures import ThreadPoolExecutor

    from django.core.management import call_command

    call_command("load_reference_codes")  # an earlier transactional test may have flushed them
    make_invoice = request.getfixturevalue("make_invoice")

    from django.db import connections

    invoices = [make_invoice() for _ in range(12)]

    def issue(invoice):
        try:
            return services.issue_invoice(invoice=invoice).number
        finally:
            connections.close_all()

    with ThreadPoolExecutor(6) as pool:
        numbers = list(pool.map(issue, invoices))
    prefix = numbers[0][:-6]
    assert sorted(numbers) == [f"{prefix}{n:06d}" for n in range(1, 13)]


def test_contract_price_on_the_date_of_service_else_list_price(make_invoice, demo):
    insurer_bill = make_invoice(product="Knee arthroscopy")
    assert insurer_bill.lines.get().unit_price == Decimal("950.00")  # Bupa's contract
    patient_bill = make_invoice(product="Knee arthroscopy", bill_to="patient")
    assert patient_bill.lines.get().unit_price == Decimal("1100.00") and patient_bill.insurer_contact is None
    before_contract = make_invoice(product="Knee arthroscopy", service_date=dt.date(2020, 1, 1))
    assert before_contract.lines.get().price_source == "list"


def test_vat_is_rounded_per_line_with_one_rule(make_invoice, demo):

    from openpractice.products import services as products

    products.create_product(
        practice=demo,
        data={
            "product_type": "procedure",
            "name": "Medical report",
            "procedure_type": "Report or letter",
            "duration_minutes": None,
            "list_price": Decimal("33.33"),
            "vat_treatment": "standard",
            "industry_standard_code": "",
            "procedure_code": "",
        },
    )
    invoice = make_invoice(product="Medical report", bill_to="patient", quantity=3)
    line = invoice.lines.get()
    assert line.net_amount == Decimal("99.99") and line.vat_amount == Decimal("20.00")
    assert invoice.total == Decimal("119.99")


def test_payments_credit_notes_and_outcome(make_invoice):
    invoice = services.issue_invoice(invoice=make_invoice())
    with pytest.raises(BillingError, match="at most the balance"):
        services.record_payment(invoice=invoice, amount="500.00", received_on=dt.date.today())
    services.record_payment(invoice=invoice, amount="100.00", received_on=dt.date.today())
    invoice.refresh_from_db()
    assert invoice.payment_outcome == PaymentOutcome.PART_PAID and invoice.balance == Decimal("80.00")
    note = services.create_credit_note(invoice=invoice, amount="80.00", reason="shortfall waived")
    invoice.refresh_from_db()
    assert note.number == "CN000001" and invoice.payment_outcome == PaymentOutcome.PAID and invoice.balance == 0
    with pytest.raises(BillingError, match="has payments"):
        services.void_invoice(invoice=invoice, reason="no")
    with pytest.raises(BillingError, match="can no longer be changed"):
        services.update_invoice(invoice=invoice, data={"notes": "x"})


def test_write_off(make_invoice):
    invoice = services.issue_invoice(invoice=make_invoice())
    services.write_off(invoice=invoice, reason="patient abroad")
    invoice.refresh_from_db()
    assert invoice.payment_outcome == PaymentOutcome.WRITTEN_OFF and invoice.balance == 0


def test_email_sends_the_pdf(make_invoice, mailoutbox):
    invoice = services.issue_invoice(invoice=make_invoice())
    services.email_invoice(invoice=invoice, to="accounts@insurer.example")
    assert mailoutbox[0].attachments[0][0] == f"invoice-{invoice.number}.pdf"
    assert mailoutbox[0].attachments[0][1].startswith(b"%PDF")
    with pytest.raises(BillingError, match="email address"):
        services.email_invoice(invoice=invoice, to="not-an-address")


def test_bad_header_input_names_the_field(make_invoice):
    with pytest.raises(BillingError) as error:
        make_invoice(primary_diagnosis="NOTACODE")
    assert error.value.field == "primary_diagnosis"
    with pytest.raises(BillingError) as error:
        make_invoice(service_setting="ward")
    assert error.value.field == "service_setting"
    with pytest.raises(BillingError) as error:
        make_invoice(quantity=0)
    assert error.value.field == "lines[1].quantity"
