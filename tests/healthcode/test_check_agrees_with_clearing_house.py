"""Must show: on a generated set of bills mixing valid and invalid ones, every bill the
pre-submission check passes is validated by the clearing house, and every bill it stops fails
there.

The practice knows what a real practice can know: its code sets synced from the clearing house
(code-set API, so withdrawn codes carry their dates), the accepted-code lists and maxima its
insurers' contracts teams send, and the insurers' Find Member answers. Generated bills vary
everything the check can know: insurer, member (including lapsed ones), registration number
(unknown, malformed, a Vitality member number), name / date of birth / postcode against the
insurer's record, first date of service (future, beyond the insurer's time limit), diagnosis,
authorisation code format, products (codes not accepted, withdrawn, no code, fee above the
insurer's maximum), quantity, setting, payee and facility, a practitioner with no identifier.
What the check cannot know (a 600 number or identifier unknown to Healthcode, an insurer not
recognising a practitioner) is not generated: see healthcode/rules.py."""

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openpractice.billing import services as billing
from openpractice.healthcode import submission as hc
from openpractice.healthcode.checking import check_invoice
from openpractice.healthcode.models import SubmissionState

# The sandbox's members (docs/sandbox.md): insurer, number, first, last, sex, born, postcode.
MEMBERS = [
    ("bup", "10000001", "Oliver", "Bennett", "male", "1980-04-12", "SW1A 1AA"),
    ("bup", "10000009", "Harry", "Whitfield", "male", "1968-02-14", "LS1 4DY"),  # lapsed
    ("ppp", "AX1234567B", "Isla", "Turner", "female", "1990-07-21", "B1 1BB"),
    ("ppp", "HOL/A1234567", "Emily", "Hughes", "female", "1972-03-08", "CF10 1EP"),  # lapsed
    ("nuh", "100200300", "Noah", "Patel", "male", "1992-01-15", "BS1 4DJ"),
    ("slh", "40123456", "Mia", "Robinson", "female", "1995-08-19", "G1 1XQ"),
    # Checked by format: Alliance Health, and Allianz Partners members with a P number and with an
    # Aetna Americas W number (whose authorisation code must be Aetna's format).
    ("alh", "1234567", "Ada", "Lovelace", "female", "1980-12-10", "SW1A 1AA"),
    ("alz", "P123456", "Paul", "Allianz", "male", "1970-01-01", "SW1A 1AA"),
    ("alz", "W1234 123456-01", "Walter", "Aetnason", "male", "1975-05-05", "SW1A 1AA"),
]
MUTATIONS = ["none"] * 10 + ["wrong_number", "wrong_postcode", "wrong_birth_date", "wrong_surname", "legacy_bad_format"]
WRONG_NUMBERS = {
    "bup": "10000077",
    "ppp": "AX7654321B",
    "nuh": "100200377",
    "slh": "40123477",
    "alh": "7654321",
    "alz": "W123456789",
}
BAD_FORMATS = {"bup": "1000", "ppp": "AX12", "nuh": "12345", "slh": "1212345678", "alh": "12345", "alz": "W12"}
# The insurers whose identifier is not public: their contacts are added once the directory sync
# (part of the code-set sync) has filled their identifiers.
NOT_PUBLIC_INSURERS = {"alh": "Alliance Health", "alz": "Allianz Partners"}
# Maxima (GBP per unit) for the agreed-fee insurers, as their contracts teams list them.
CCSD_MAXIMA = {
    "W8500": "1200.00",
    "W8520": "950.00",
    "C7520": "1500.00",
    "C6180": "400.00",
    "E2880": "150.00",
    "H2510": "300.00",
    "20110": "60.00",
    "25000": "250.00",
    "64301": "350.00",
    "20300": "200.00",
}
ISC_MAXIMA = {
    "SCON1": "200.00",
    "SCON2": "150.00",
    "SAUD1": "120.00",
    "SCAR1": "180.00",
    "SOPH1": "150.00",
    "SRES1": "160.00",
    "SPAT1": "90.00",
    "SRAD1": "250.00",
}
NOT_ACCEPTED = {"bup": {"E2880"}, "ppp": {"H2510"}, "slh": {"C6180"}}
# Extra products beyond the demo ones: name, ISC, CCSD, list price
EXTRA_PRODUCTS = [
    ("Knee arthroscopy, multiple (list price)", "", "W8500", "1500.00"),
    ("Local anaesthetic (withdrawn code)", "", "AC100", "50.00"),
    ("Report (no code)", "", "", "80.00"),
    ("Sigmoidoscopy", "", "H2510", "250.00"),
    ("Needling of bleb", "", "C6180", "300.00"),
]
PRODUCTS = [
    "Initial consultation",
    "Follow-up consultation",
    "Knee arthroscopy",
    "Epley manoeuvre",
    "Electrocardiogram (ECG)",
] + [p[0] for p in EXTRA_PRODUCTS]

# Mostly valid choices, so a set mixes bills that pass with bills that fail for one or two reasons.
bills = st.fixed_dictionaries(
    {
        "member": st.sampled_from(range(len(MEMBERS))),
        "mutation": st.sampled_from(MUTATIONS),
        "days_ago": st.sampled_from([0, 0, 3, 3, 10, 40, 100, 200, -4]),
        "diagnosis": st.sampled_from(["M17.1"] * 4 + ["H25.9", ""]),
        "auth": st.sampled_from([""] * 4 + ["123456/12", "AUTH-1", "C1234567", "ABC12345"]),
        "products": st.lists(st.sampled_from(PRODUCTS[:1] * 8 + PRODUCTS[1:]), min_size=1, max_size=2),
        "quantity": st.integers(1, 3),
        "setting": st.sampled_from(["consulting_room", "outpatient", "inpatient", "daycase"]),
        "payee_location": st.booleans(),
        "facility": st.booleans(),
        "practitioner": st.sampled_from(["dr.patel"] * 9 + ["nobody"]),
    }
)
VALID = {
    "member": 0,
    "mutation": "none",
    "days_ago": 1,
    "diagnosis": "M17.1",
    "auth": "",
    "quantity": 1,
    "products": ["Initial consultation"],
    "setting": "outpatient",
    "payee_location": False,
    "facility": False,
    "practitioner": "dr.patel",
}


@pytest.fixture
def own_sandbox(tmp_path):
    from openpractice.healthcode.client import clear_caches
    from sandbox.testing import start_sandbox

    clear_caches()  # a fresh clearing house: invoice numbers never met before
    sandbox = start_sandbox(tmp_path / "sandbox")
    yield sandbox
    sandbox.stop()


@pytest.fixture
def practice(db, own_sandbox):
    from django.core.management import call_command

    from openpractice.coding.importing import CsvCodeSource
    from openpractice.coding.selectors import find_insurer
    from openpractice.coding.services import import_code_set
    from openpractice.contacts.models import Contact
    from openpractice.healthcode.credentials import save_healthcode_credentials
    from openpractice.healthcode.services import sync_code_sets_from_clearing_house, test_connection
    from openpractice.home.management.commands.seed_demo import DEMO_PRACTICE
    from openpractice.practices.models import Practice
    from openpractice.products import services as products

    call_command("seed_demo", "--quiet-if-exists")
    practice = Practice.objects.get(name=DEMO_PRACTICE)
    save_healthcode_credentials(
        practice=practice,
        environment="sandbox",
        discovery_url=f"{own_sandbox.url}/.well-known/discovery-document.json",
        site_id=own_sandbox.site_id,
        api_key_id=own_sandbox.client_id,
        api_key=own_sandbox.client_secret,
    )
    assert test_connection(practice=practice).ok  # calls need credentials that passed the test
    sync_code_sets_from_clearing_house(practice=practice)
    for identifier in ("bup", "ppp"):
        insurer = find_insurer(practice=practice, healthcode_identifier=identifier)
        ccsd = "code,max fee\n" + "".join(
            f"{c},{fee}\n" for c, fee in CCSD_MAXIMA.items() if c not in NOT_ACCEPTED.get(identifier, ())
        )
        import_code_set(
            practice=practice, kind="accepted", system="ccsd", insurer=insurer, source=CsvCodeSource(ccsd.encode())
        )
        isc = "code,max fee\n" + "".join(f"{c},{fee}\n" for c, fee in ISC_MAXIMA.items())
        import_code_set(
            practice=practice, kind="accepted", system="isc", insurer=insurer, source=CsvCodeSource(isc.encode())
        )
    for name, isc, ccsd, price in EXTRA_PRODUCTS:
        products.create_product(
            practice=practice,
            data={
                "product_type": "procedure",
                "name": name,
                "procedure_type": "Minor procedure",
                "duration_minutes": None,
                "list_price": Decimal(price),
                "vat_treatment": "exempt",
                "industry_standard_code": isc,
                "procedure_code": ccsd,
            },
        )
    assert Contact.objects.filter(practice=practice, contact_type="insurer").count() == 4
    from openpractice.contacts.services import create_contact

    for identifier, name in NOT_PUBLIC_INSURERS.items():
        insurer = find_insurer(practice=practice, healthcode_identifier=identifier)
        assert insurer is not None and insurer.name == name  # filled by the directory sync
        create_contact(practice=practice, data={"contact_type": "insurer", "name": name, "insurer": insurer})
    return practice


def _patient(practice, bill, n):
    from openpractice.contacts.models import Contact
    from openpractice.patients import services as patients
    from openpractice.patients.models import PatientRelationship

    insurer, number, first, last, sex, born, postcode = MEMBERS[bill["member"]]
    mutation = bill["mutation"]
    born = dt.date.fromisoformat(born)
    if mutation == "wrong_postcode":
        postcode = "ZZ9 9ZZ"
    elif mutation == "wrong_birth_date":
        born = born.replace(day=1 if born.day != 1 else 2)
    elif mutation == "wrong_surname":
        last = last + "son"
    elif mutation == "wrong_number":
        number = WRONG_NUMBERS[insurer]
    patient = patients.create_patient(
        practice=practice,
        data={
            "first_name": first,
            "last_name": last,
            "sex": sex,
            "date_of_birth": born,
            "postcode": postcode,
            "nhs_number": "",
            "address_line1": f"{n} Example Street",
        },
    )
    contact = Contact.objects.get(practice=practice, insurer__healthcode_identifier=insurer)
    relationship = patients.add_relationship(
        patient=patient,
        data={
            "relationship_type": "insurance",
            "related_contact": contact,
            "related_patient": None,
            "registration_number": number,
        },
    )
    if mutation == "legacy_bad_format":  # typed before numbers were checked on entry
        PatientRelationship.objects.filter(pk=relationship.pk).update(registration_number=BAD_FORMATS[insurer])
        relationship.refresh_from_db()
    return patient, relationship


def _raise(practice, bill, n):
    from openpractice.practices.models import Location, Membership
    from openpractice.products.models import Product

    patient, relationship = _patient(practice, bill, n)
    if bill["practitioner"] == "nobody":
        doctor = Membership.objects.get(practice=practice, user__email__startswith="reception")
    else:
        doctor = Membership.objects.get(practice=practice, user__email__startswith=bill["practitioner"])
    day = dt.date.today() - dt.timedelta(days=bill["days_ago"])
    rooms = Location.objects.get(practice=practice, healthcode_600_number="600123456")
    unit = Location.objects.get(practice=practice, healthcode_600_number="600654321")
    stay = bill["setting"] in ("inpatient", "daycase")
    invoice = billing.create_invoice(
        practice=practice,
        data={
            "bill_to": "insurer",
            "patient": patient,
            "insurance": relationship,
            "practitioner": doctor,
            "invoice_date": dt.date.today(),
            "service_setting": bill["setting"],
            "admission_date": day if stay else None,
            "discharge_date": day if stay else None,
            "primary_diagnosis": bill["diagnosis"],
            "authorisation_code": bill["auth"],
            "payee_kind": "location" if bill["payee_location"] else "practitioner",
            "payee_location": rooms if bill["payee_location"] else None,
            "facility": unit if bill["facility"] else None,
        },
        lines=[
            {
                "product": Product.objects.get(practice=practice, name=name),
                "service_date": day,
                "quantity": bill["quantity"],
            }
            for name in bill["products"]
        ],
    )
    return billing.issue_invoice(invoice=invoice)


@settings(max_examples=3, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(generated=st.lists(bills, min_size=24, max_size=24))
def test_the_check_and_the_clearing_house_agree(practice, own_sandbox, generated):
    from openpractice.healthcode.services import check_membership
    from sandbox.testing import SandboxApi

    # One surely valid and one surely invalid bill in every set, so each set is a mix.
    generated = [VALID, {**VALID, "mutation": "wrong_number"}, *generated]
    sent = []
    for n, bill in enumerate(generated):
        invoice = _raise(practice, bill, n)
        check_membership(relationship=invoice.insurance, active_on=invoice.first_date_of_service)
        result = check_invoice(invoice=invoice)
        # Send every bill, whatever the check says: the clearing house is the judge here.
        submission = hc._queue(invoice_id=invoice.pk, user=None, bulk=None, checked=check_facts_of(invoice))
        assert hc.deliver(submission.pk) == SubmissionState.ACCEPTED
        sent.append((bill, result, submission))
    SandboxApi(own_sandbox).advance(61)
    disagreements = []
    for bill, result, submission in sent:
        submission.refresh_from_db()
        submission = hc.refresh_status(submission=submission)
        validated = submission.healthcode_status == "validated"
        if result.passed != validated:
            disagreements.append(
                {
                    "bill": bill,
                    "check": [(p.field, p.error) for p in result.errors],
                    "clearing_house": [(e["field"], e["error"]) for e in submission.errors],
                }
            )
    assert not disagreements, disagreements
    outcomes = {result.passed for _, result, _ in sent}
    assert outcomes == {True, False}


def check_facts_of(invoice):
    from openpractice.billing.models import Invoice
    from openpractice.healthcode.checking import facts_for_invoice, invoices_for_check

    return facts_for_invoice(invoices_for_check(Invoice.objects.filter(pk=invoice.pk)).get())
