"""The invoice form's rules, without the network: who can be the practitioner (and who comes
first), the Service setting a product calls for, what a setting needs on the first save, and the
running total: priced by the save's own code, so the saved total is the total the form showed."""

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openpractice.billing import services
from openpractice.billing.errors import BillingError
from openpractice.billing.forms import InvoiceForm, LineFormSet
from openpractice.billing.models import BillTo, ServiceSetting
from openpractice.billing.money import round_money
from openpractice.billing.service_setting import setting_for_products, setting_of_procedure_type, too_small_for
from openpractice.practices.models import Membership
from openpractice.practices.roles import Role
from openpractice.practices.selectors import practitioners

D = Decimal
TODAY = dt.date.today()


class Clinic:
    """A practice with an owner, two practitioners (one with a Healthcode identifier), a
    receptionist, a biller, an insured patient and products with a contract price."""

    def __init__(self, practice, make_member, insurer_contact):
        from openpractice.accounts.services import save_practitioner_profile
        from openpractice.patients import services as patients
        from openpractice.products import services as products

        self.practice = practice

        def member(role, name):
            user = make_member(practice, role, full_name=name)
            return Membership.objects.get(practice=practice, user=user)

        self.owner = member(Role.OWNER, "Olivia Owner")
        self.zara = member(Role.PRACTITIONER, "Dr Zara Young")
        self.adam = member(Role.PRACTITIONER, "Dr Adam Able")
        self.reception = member(Role.RECEPTIONIST, "Rita Reception")
        self.biller = member(Role.BILLING, "Ben Biller")
        save_practitioner_profile(membership=self.zara, healthcode_identifier="0651978")
        self.insurer = insurer_contact(practice, "bup")
        self.patient = patients.create_patient(
            practice=practice,
            data={"first_name": "Oliver", "last_name": "Bennett", "date_of_birth": dt.date(1980, 4, 12)},
        )
        self.insurance = patients.add_relationship(
            patient=self.patient,
            data={
                "relationship_type": "insurance",
                "related_contact": self.insurer,
                "related_patient": None,
                "registration_number": "10000001",
            },
        )

        def product(name, procedure_type, price, vat="exempt"):
            return products.create_product(
                practice=practice,
                data={
                    "product_type": "procedure",
                    "name": name,
                    "procedure_type": procedure_type,
                    "duration_minutes": None,
                    "list_price": D(price),
                    "vat_treatment": vat,
                    "industry_standard_code": "",
                    "procedure_code": "",
                },
            )

        self.consultation = product("Initial consultation", "Initial consultation", "220.00")
        self.knee = product("Knee arthroscopy", "Day case surgery", "1100.00")
        self.hip = product("Hip replacement", "Inpatient surgery", "9000.00")
        self.report = product("Medical report", "Report or letter", "99.99", vat="standard")
        products.set_contract_price(
            product=self.knee, insurer_contact=self.insurer, price=D("950.00"), valid_from=dt.date(2020, 1, 1)
        )

    def form(self, data=None, membership=None, invoice=None):
        return InvoiceForm(data, practice=self.practice, patient=self.patient, membership=membership, invoice=invoice)

    def header(self, **changes):
        return {
            "bill_to": BillTo.INSURER,
            "patient": self.patient,
            "insurance": self.insurance,
            "practitioner": self.zara,
            "invoice_date": TODAY,
            **changes,
        }


@pytest.fixture
def clinic(practice, make_member, insurer_contact):
    return Clinic(practice, make_member, insurer_contact)


# -- practitioners -----------------------------------------------------------------------------
def test_only_practitioners_are_listed_by_name(clinic):
    listed = list(clinic.form().fields["practitioner"].queryset)
    assert listed == [clinic.adam, clinic.zara]  # no owner, receptionist or biller
    assert list(clinic.form().fields["controlling_specialist"].queryset) == [clinic.adam, clinic.zara]
    labels = [label for _, label in clinic.form().fields["practitioner"].choices][1:]
    assert labels == ["Dr Adam Able (no Healthcode identifier)", "Dr Zara Young (0651978)"]


def test_the_signed_in_practitioner_comes_first(clinic):
    assert list(practitioners(practice=clinic.practice, first=clinic.zara)) == [clinic.zara, clinic.adam]
    # A biller is no practitioner: the list stays by name.
    assert list(practitioners(practice=clinic.practice, first=clinic.biller)) == [clinic.adam, clinic.zara]


def test_an_owner_with_practitioner_details_is_a_practitioner(clinic):
    from openpractice.accounts.services import save_practitioner_profile

    save_practitioner_profile(membership=clinic.owner, healthcode_identifier="0712345")
    assert clinic.owner in practitioners(practice=clinic.practice)


def test_inactive_practitioners_leave_the_list_but_an_invoice_keeps_its_own(clinic):
    invoice = services.create_invoice(
        practice=clinic.practice,
        data=clinic.header(practitioner=clinic.adam),
        lines=[{"product": clinic.consultation, "service_date": TODAY, "quantity": 1}],
    )
    clinic.adam.is_active = False
    clinic.adam.save()
    assert list(clinic.form().fields["practitioner"].queryset) == [clinic.zara]
    assert clinic.adam in clinic.form(invoice=invoice).fields["practitioner"].queryset


# -- the setting a product calls for ---------------------------------------------------------------
@pytest.mark.parametrize(
    "procedure_type, setting",
    [
        ("Day case surgery", ServiceSetting.DAYCASE),
        ("day-case procedure", ServiceSetting.DAYCASE),
        ("Daycase", ServiceSetting.DAYCASE),
        ("Inpatient surgery", ServiceSetting.INPATIENT),
        ("In-patient stay", ServiceSetting.INPATIENT),
        ("Initial consultation", None),
        ("Minor procedure", None),
        ("", None),
    ],
)
def test_setting_of_a_procedure_type(procedure_type, setting):
    assert setting_of_procedure_type(procedure_type) == setting


def test_the_biggest_stay_wins(clinic):
    assert setting_for_products([clinic.consultation]) is None
    assert setting_for_products([clinic.consultation, clinic.knee]) == ServiceSetting.DAYCASE
    assert setting_for_products([clinic.knee, clinic.hip]) == ServiceSetting.INPATIENT
    assert too_small_for(ServiceSetting.CONSULTING_ROOM, [clinic.knee]) == (ServiceSetting.DAYCASE, clinic.knee)
    assert too_small_for(ServiceSetting.DAYCASE, [clinic.knee]) is None
    assert too_small_for(ServiceSetting.INPATIENT, [clinic.knee]) is None  # more of a stay is allowed
    assert too_small_for(ServiceSetting.DAYCASE, [clinic.knee, clinic.hip])[0] == ServiceSetting.INPATIENT


def _post(clinic, **changes):
    data = {
        "bill_to": "insurer",
        "insurance": clinic.insurance.pk,
        "practitioner": clinic.zara.pk,
        "invoice_date": TODAY.isoformat(),
        "service_setting": "consulting_room",
        "payee_kind": "practitioner",
    }
    data.update(changes)
    return data


@pytest.mark.parametrize("setting", ["daycase", "inpatient"])
def test_a_stay_needs_its_admission_date_on_the_first_save(clinic, setting):
    form = clinic.form(_post(clinic, service_setting=setting))
    assert not form.is_valid()
    assert "admission date" in form.errors["admission_date"][0] and setting in form.errors["admission_date"][0]
    assert clinic.form(_post(clinic, service_setting=setting, admission_date=TODAY.isoformat())).is_valid()
    assert clinic.form(_post(clinic, service_setting="outpatient")).is_valid()  # no stay, no dates


def test_discharge_before_admission_is_a_field_error(clinic):
    form = clinic.form(
        _post(
            clinic,
            service_setting="inpatient",
            admission_date=TODAY.isoformat(),
            discharge_date=(TODAY - dt.timedelta(days=1)).isoformat(),
        )
    )
    assert not form.is_valid() and "before the admission date" in form.errors["discharge_date"][0]


def test_a_day_case_product_on_a_consultation_room_bill_is_a_setting_error(clinic):
    form = clinic.form(_post(clinic))
    assert form.is_valid()
    form.check_setting([clinic.consultation, clinic.knee])
    assert form.errors["service_setting"] == [
        "Knee arthroscopy is day case surgery: choose Daycase (and enter the admission date)."
    ]


def test_the_service_refuses_a_stay_without_its_admission_date(clinic):
    """The API and every other caller meet the same rule as the form."""
    lines = [{"product": clinic.knee, "service_date": TODAY, "quantity": 1}]
    with pytest.raises(BillingError) as refused:
        services.create_invoice(
            practice=clinic.practice, data=clinic.header(service_setting=ServiceSetting.DAYCASE), lines=lines
        )
    assert refused.value.field == "admission_date" and refused.value.code == "required"
    invoice = services.create_invoice(
        practice=clinic.practice,
        data=clinic.header(service_setting=ServiceSetting.DAYCASE, admission_date=TODAY),
        lines=lines,
    )
    assert invoice.admission_date == TODAY and invoice.setting_code == "D"


# -- the running total -------------------------------------------------------------------------------
def test_the_quote_uses_the_insurers_contract_price_and_the_list_price_for_the_patient(clinic):
    lines = [{"product": clinic.knee, "service_date": TODAY, "quantity": 2}]
    insurer = services.quote_lines(practice=clinic.practice, insurer_contact=clinic.insurer, lines=lines)
    patient = services.quote_lines(practice=clinic.practice, insurer_contact=None, lines=lines)
    assert insurer.total == D("1900.00") and insurer.lines[0]["price_source"] == "contract"
    assert patient.total == D("2200.00") and patient.lines[0]["price_source"] == "list"
    vat = services.quote_lines(
        practice=clinic.practice,
        insurer_contact=None,
        lines=[{"product": clinic.report, "service_date": TODAY, "quantity": 3}],
    )
    assert (vat.net, vat.vat, vat.total) == (D("299.97"), D("59.99"), D("359.96"))  # 59.994 rounds to 59.99


def test_a_quote_writes_nothing(clinic):
    from openpractice.billing.models import Invoice

    services.quote_lines(
        practice=clinic.practice,
        insurer_contact=clinic.insurer,
        lines=[{"product": clinic.knee, "service_date": TODAY, "quantity": 1}],
    )
    assert not Invoice.objects.exists()


PRICE = st.decimals(min_value=D("0.00"), max_value=D("99999.99"), places=2, allow_nan=False, allow_infinity=False)
LINE = st.tuples(
    PRICE,  # list price
    st.one_of(st.none(), PRICE),  # the insurer's contract price, if any
    st.integers(min_value=1, max_value=999),  # quantity
    st.sampled_from(["exempt", "standard", "zero"]),
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(LINE, min_size=1, max_size=6), to_insurer=st.booleans())
def test_the_saved_total_is_the_total_the_form_showed(clinic, lines, to_insurer):
    """Any lines, quantities and prices: the form's running total (quote_lines) equals the saved
    invoice's total and a hand-worked Decimal sum (price × quantity, VAT per line half-up)."""
    from openpractice.billing.models import Invoice
    from openpractice.products import services as products
    from openpractice.products.models import ContractPrice, Product

    Invoice.objects.filter(practice=clinic.practice).delete()
    ContractPrice.objects.filter(practice=clinic.practice).delete()
    Product.objects.filter(practice=clinic.practice, name__startswith="P ").delete()
    rows, expected = [], D("0.00")
    for number, (list_price, contract, quantity, vat) in enumerate(lines):
        product = products.create_product(
            practice=clinic.practice,
            data={
                "product_type": "procedure",
                "name": f"P {number}",
                "procedure_type": "",
                "duration_minutes": None,
                "list_price": list_price,
                "vat_treatment": vat,
                "industry_standard_code": "",
                "procedure_code": "",
            },
        )
        if contract is not None:
            products.set_contract_price(
                product=product, insurer_contact=clinic.insurer, price=contract, valid_from=dt.date(2020, 1, 1)
            )
        price = contract if (to_insurer and contract is not None) else list_price
        net = price * quantity
        expected += net + round_money(net * {"exempt": D("0"), "standard": D("0.20"), "zero": D("0")}[vat])
        rows.append({"product": product, "service_date": TODAY, "quantity": quantity})
    payer = clinic.insurer if to_insurer else None
    quote = services.quote_lines(practice=clinic.practice, insurer_contact=payer, lines=rows)
    header = clinic.header() if to_insurer else clinic.header(bill_to=BillTo.PATIENT, insurance=None)
    invoice = services.create_invoice(practice=clinic.practice, data=header, lines=rows)
    invoice.refresh_from_db()
    assert quote.total == invoice.total == expected
    assert (quote.net, quote.vat) == (invoice.net_total, invoice.vat_total)
    assert invoice.total.as_tuple().exponent == -2


def test_lines_formset_lists_its_chosen_products(clinic):
    data = {
        "lines-TOTAL_FORMS": "3",
        "lines-INITIAL_FORMS": "0",
        "lines-0-product": clinic.knee.pk,
        "lines-0-service_date": TODAY.isoformat(),
        "lines-0-quantity": "1",
        "lines-1-product": "",
        "lines-1-service_date": "",
        "lines-1-quantity": "1",
        "lines-2-product": clinic.hip.pk,
        "lines-2-service_date": TODAY.isoformat(),
        "lines-2-quantity": "2",
    }
    lines = LineFormSet(data, prefix="lines", form_kwargs={"practice": clinic.practice})
    assert lines.is_valid() and lines.products() == [clinic.knee, clinic.hip]
