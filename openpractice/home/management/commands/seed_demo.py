"""Load the demo practice once: users for every role, locations, the sandbox credentials, the
Healthcode set-up (practitioners' identifiers, insurer contacts, products with contract prices and
codes, patients insured with the sandbox's demo members) and, unless told not to, twelve months of
its work played through the services (home/demo_history.py): invoices in every state, bills at
Healthcode, remittances, shortfalls, payments and debt."""

import argparse
import datetime as dt
import json
import time
from decimal import Decimal

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from openpractice.accounts.models import User
from openpractice.accounts.services import save_practitioner_profile
from openpractice.billing import services as billing
from openpractice.billing.models import Invoice
from openpractice.bureaus import services as bureau_services
from openpractice.bureaus.models import Bureau
from openpractice.coding.importing import CsvCodeSource
from openpractice.coding.models import Code, CodeSource, Insurer
from openpractice.coding.reference import load_insurers, load_sample_ccsd
from openpractice.coding.selectors import find_insurer
from openpractice.coding.services import import_code_set
from openpractice.contacts.services import create_contact
from openpractice.healthcode import services as healthcode
from openpractice.healthcode.credentials import save_healthcode_credentials
from openpractice.healthcode.stored_checks import recheck_all
from openpractice.home.demo_history import EXT, NS, DemoClock, play_year
from openpractice.patients import services as patients
from openpractice.patients.models import Patient
from openpractice.practices import services
from openpractice.practices.models import Location, Membership, Practice
from openpractice.practices.roles import Role
from openpractice.products import services as products
from openpractice.products.models import Product
from openpractice.receivables import services as receivables
from openpractice.remittances import services as remittances
from openpractice.remittances.models import RemittanceLine

DEMO_PRACTICE = "Harley Street Demo Clinic"
DEMO_PASSWORD = "demo-practice-2026"
DEMO_USERS = [
    ("owner@demo.openpractice.test", "Olivia Owner", Role.OWNER),
    ("dr.patel@demo.openpractice.test", "Dr Asha Patel", Role.PRACTITIONER),
    ("reception@demo.openpractice.test", "Rita Reception", Role.RECEPTIONIST),
    ("billing@demo.openpractice.test", "Ben Biller", Role.BILLING),
    ("dr.sample@demo.openpractice.test", "Dr Bilal Sample", Role.PRACTITIONER),
    ("carys.demo@demo.openpractice.test", "Ms Carys Demo", Role.PRACTITIONER),
]
# The sandbox's demo practitioners (sandbox/seed.py PRACTITIONERS): Healthcode identifier, specialty, title.
DEMO_PRACTITIONERS = {
    "dr.patel@demo.openpractice.test": (
        "0651978",
        "6519780",
        "Trauma and orthopaedic surgery",
        "Consultant Orthopaedic Surgeon",
    ),
    "dr.sample@demo.openpractice.test": ("0712345", "7123450", "Cardiology", "Consultant Cardiologist"),
    "carys.demo@demo.openpractice.test": ("0698765", "6987650", "Ophthalmology", "Consultant Ophthalmic Surgeon"),
}
DEMO_INSURERS = [("Bupa", "bup"), ("AXA Health", "ppp"), ("Aviva", "nuh"), ("Vitality", "slh")]
# Sample industry standard codes: invented, as the sandbox's (real ISC values are not public).
DEMO_ISC = [
    ("SCON1", "SAMPLE ISC: initial outpatient consultation"),
    ("SCON2", "SAMPLE ISC: follow-up outpatient consultation"),
    ("SCAR1", "SAMPLE ISC: cardiac diagnostic test"),
    ("SOPH1", "SAMPLE ISC: ophthalmology diagnostic test"),
]
# Codes each insurer does not accept in the sandbox (sandbox/seed.py _NOT_ACCEPTED): their lists leave them out.
DEMO_CCSD = ["W8500", "W8520", "C7520", "C6180", "E2880", "H2510", "20110", "25000", "64301", "20300"]
DEMO_NOT_ACCEPTED = {"bup": {"E2880"}, "ppp": {"H2510"}, "slh": {"C6180"}}
# name, type, procedure type, minutes, list price, ISC, CCSD, {insurer: contract price}
DEMO_PRODUCTS = [
    (
        "Initial consultation",
        "appointment",
        "Initial consultation",
        30,
        "220.00",
        "SCON1",
        "20300",
        {"bup": "180.00", "ppp": "190.00", "nuh": "185.00", "slh": "175.00"},
    ),
    ("Follow-up consultation", "appointment", "Follow-up consultation", 20, "160.00", "SCON2", "", {"bup": "130.00"}),
    (
        "Knee arthroscopy",
        "procedure",
        "Day case surgery",
        None,
        "1100.00",
        "",
        "W8520",
        {"bup": "950.00", "ppp": "900.00"},
    ),
    ("Epley manoeuvre", "procedure", "Minor procedure", 20, "150.00", "", "E2880", {"nuh": "140.00"}),
    ("Electrocardiogram (ECG)", "procedure", "Diagnostic test", 15, "75.00", "SCAR1", "20110", {"bup": "60.00"}),
]
# The sandbox's demo members (sandbox/seed.py MEMBERS): first, last, sex, born, postcode, insurer, registration number.
DEMO_PATIENTS = [
    ("Oliver", "Bennett", "male", "1980-04-12", "SW1A 1AA", "bup", "10000001", "07700 900101", "9434765919"),
    ("Amelia", "Clarke", "female", "1975-09-30", "M1 1AE", "bup", "10000002", "07700 900102", ""),
    ("Isla", "Turner", "female", "1990-07-21", "B1 1BB", "ppp", "AX1234567B", "07700 900103", ""),
    ("Jack", "Morgan", "male", "1985-11-03", "EH1 1YZ", "ppp", "AXA-AB123456", "07700 900104", ""),
    ("Noah", "Patel", "male", "1992-01-15", "BS1 4DJ", "nuh", "100200300", "07700 900105", ""),
    ("Mia", "Robinson", "female", "1995-08-19", "G1 1XQ", "slh", "40123456", "07700 900106", ""),
]
# The sandbox clearing house's demo site (docs/sandbox.md).
SANDBOX_SITE_ID = "HC16190"
SANDBOX_API_KEY_ID = "openpractice-demo"
SANDBOX_API_KEY = "sandbox-demo-key"


class Command(BaseCommand):
    help = (
        "Create the demo practice (once): an owner, practitioners, a receptionist and a biller, its "
        "Healthcode set-up and a year of its invoices, bills, remittances and payments."
    )

    def add_arguments(self, parser):
        parser.add_argument("--quiet-if-exists", action="store_true", help="Say nothing when it is already there.")
        parser.add_argument(
            "--history",
            action=argparse.BooleanOptionalAction,
            default=None,
            help="Play twelve months of the practice's work (default: settings.DEMO_HISTORY, on; the "
            "test suite turns it off and asks for it where it needs it).",
        )
        parser.add_argument(
            "--bureau",
            action=argparse.BooleanOptionalAction,
            default=None,
            help="Also a billing bureau managing the demo practice and two consultants' practices "
            "(default: as --history).",
        )
        parser.add_argument(
            "--test-connection",
            action="store_true",
            help="Only run the demo practice's Healthcode connection test (waiting up to 20 s for "
            "the sandbox to start), if its credentials have not passed it yet: the clearing "
            "house takes no other call from untested credentials.",
        )

    def handle(self, *args, **options):
        if options["test_connection"]:
            return self._test_connection()
        return self._seed(**options)

    def _test_connection(self):
        for name in (DEMO_PRACTICE, *(p[0] for p in BUREAU_PRACTICES if p[2])):
            self._test_practice_connection(name)

    def _test_practice_connection(self, name):
        practice = Practice.objects.filter(name=name).first()
        if practice is None or healthcode.is_configured(practice=practice):
            return
        deadline = time.monotonic() + 20
        while True:
            report = healthcode.test_connection(practice=practice)
            if report.ok or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        self.stdout.write(f"{name}'s Healthcode connection test: {'worked' if report.ok else report.message}")

    @transaction.atomic
    def _seed(self, **options):
        if Practice.objects.filter(name=DEMO_PRACTICE).exists():
            if not options["quiet_if_exists"]:
                self.stdout.write("The demo practice is already loaded.")
            return
        users = {}
        for email, name, role in DEMO_USERS:
            users[role] = User.objects.filter(email=email).first() or User.objects.create_user(
                email=email, password=DEMO_PASSWORD, full_name=name
            )
        practice = services.create_practice(
            name=DEMO_PRACTICE,
            owner=users[Role.OWNER],
            address_line1="10 Harley Street",
            city="London",
            postcode="W1G 9PF",
            phone="020 7946 0000",
            email="hello@demo.openpractice.test",
            # a made-up account for the demo's statements (how to pay by transfer)
            bank_account_name="Demo Practice Ltd",
            bank_sort_code="20-00-00",
            bank_account_number="12345678",
        )
        for email, _, role in DEMO_USERS[1:]:
            services.enrol_member(practice=practice, user=User.objects.get(email=email), role=role)
        _demo_locations(practice)
        contacts = self._healthcode_setup(practice, users[Role.OWNER])
        save_healthcode_credentials(
            practice=practice,
            environment="sandbox",
            discovery_url=settings.SANDBOX_URL.rstrip("/") + "/.well-known/discovery-document.json",
            site_id=SANDBOX_SITE_ID,
            api_key_id=SANDBOX_API_KEY_ID,
            api_key=SANDBOX_API_KEY,
        )
        history = settings.DEMO_HISTORY if options.get("history") is None else options["history"]
        if history:
            started = time.monotonic()
            counts = play_year(practice=practice, biller=users[Role.BILLING], contacts=contacts)
            self.stdout.write(
                f"Played twelve months of the practice's work in {time.monotonic() - started:.0f} s: "
                f"{counts.invoices} invoices, {counts.remittances} remittances, "
                f"{counts.shortfalls_moved} shortfalls moved to patients."
            )
            seed_collections(practice=practice, biller=users[Role.BILLING])
        bureau = history if options.get("bureau") is None else options["bureau"]
        if bureau:
            seed_bureau(bills=True)
        self.stdout.write(
            self.style.SUCCESS(f"Demo practice “{DEMO_PRACTICE}” loaded. Log in at {settings.OPENPRACTICE_URL} with:")
        )
        for email, _, role in DEMO_USERS:
            self.stdout.write(f"  {Role(role).label:<13} {email}  password: {DEMO_PASSWORD}")
        if bureau:
            self.stdout.write(f"  {'Bureau':<13} {BUREAU_USER[0]}  password: {DEMO_PASSWORD}  ({DEMO_BUREAU})")
            for _, (email, _, _), _ in BUREAU_PRACTICES:
                self.stdout.write(f"  {'Consultant':<13} {email}  password: {DEMO_PASSWORD}")

    def _healthcode_setup(self, practice, owner, practitioners=DEMO_PRACTITIONERS):
        # Idempotent: the migration loads these, but a flushed test database may have lost them.
        load_insurers(Insurer)
        load_sample_ccsd(Code)

        for email, (identifier, gmc, specialty, title) in practitioners.items():
            membership = Membership.objects.get(practice=practice, user__email=email)
            save_practitioner_profile(
                membership=membership,
                healthcode_identifier=identifier,
                gmc_number=gmc,
                specialty=specialty,
                professional_title=title,
            )
        rooms = Location.objects.get(practice=practice, name="Harley Street consulting rooms")
        services.update_location(
            location=rooms, data={"healthcode_600_number": "600123456", "is_provider": True, "is_payee": True}
        )
        hospital = Location.objects.get(practice=practice, name="London Bridge Hospital")
        services.update_location(location=hospital, data={"healthcode_600_number": "600654321", "is_provider": True})

        isc = "code,description\n" + "".join(f"{code},{text}\n" for code, text in DEMO_ISC)
        import_code_set(
            practice=practice, kind="codes", system="isc", source=CsvCodeSource(isc.encode(), source=CodeSource.SAMPLE)
        )
        contacts = {}
        for name, identifier in DEMO_INSURERS:
            insurer = find_insurer(practice=practice, healthcode_identifier=identifier)
            contacts[identifier] = create_contact(
                practice=practice,
                data={
                    "contact_type": "insurer",
                    "name": name,
                    "insurer": insurer,
                    "email": f"providers@{identifier}.example",
                    "phone": "0345 600 0000",
                },
            )
            if identifier in DEMO_NOT_ACCEPTED:
                accepted = "code\n" + "".join(f"{c}\n" for c in DEMO_CCSD if c not in DEMO_NOT_ACCEPTED[identifier])
                import_code_set(
                    practice=practice,
                    kind="accepted",
                    system="ccsd",
                    insurer=insurer,
                    source=CsvCodeSource(accepted.encode(), source=CodeSource.SAMPLE),
                )
        gp = create_contact(
            practice=practice,
            data={
                "contact_type": "gp",
                "name": "Dr Helen Ward, Marylebone Health Centre",
                "phone": "020 7946 0321",
                "city": "London",
                "postcode": "NW1 5LT",
            },
        )
        start = dt.date(dt.date.today().year - 1, 1, 1)  # prices in force for the year of history
        for name, kind, procedure_type, minutes, price, isc_code, ccsd, contracts in DEMO_PRODUCTS:
            product = products.create_product(
                practice=practice,
                data={
                    "product_type": kind,
                    "name": name,
                    "procedure_type": procedure_type,
                    "duration_minutes": minutes,
                    "list_price": Decimal(price),
                    "vat_treatment": "exempt",
                    "industry_standard_code": isc_code,
                    "procedure_code": ccsd,
                },
            )
            for identifier, contract_price in contracts.items():
                products.set_contract_price(
                    product=product,
                    insurer_contact=contacts[identifier],
                    price=Decimal(contract_price),
                    valid_from=start,
                )
        previous = None
        for first, last, sex, born, postcode, identifier, registration, phone, nhs in DEMO_PATIENTS:
            patient = patients.create_patient(
                practice=practice,
                data={
                    "first_name": first,
                    "last_name": last,
                    "sex": sex,
                    "date_of_birth": dt.date.fromisoformat(born),
                    "postcode": postcode,
                    "phone": phone,
                    "email": f"{first.lower()}.{last.lower()}@example.com",
                    "nhs_number": nhs,
                    "address_line1": "1 Example Street",
                    "city": "London" if postcode.startswith("SW") else "",
                },
            )
            patients.add_relationship(
                patient=patient,
                data={
                    "relationship_type": "insurance",
                    "related_contact": contacts[identifier],
                    "related_patient": None,
                    "registration_number": registration,
                },
            )
            patients.add_relationship(
                patient=patient, data={"relationship_type": "gp", "related_contact": gp, "related_patient": None}
            )
            if previous is not None:
                patients.add_relationship(
                    patient=patient,
                    data={"relationship_type": "emergency", "related_contact": None, "related_patient": previous},
                )
            previous = patient
        return contacts


def _demo_locations(practice):
    """The rooms and the hospital every demo practice works from (their 600 numbers are set up with Healthcode)."""
    services.create_location(
        practice=practice,
        data={
            "name": "Harley Street consulting rooms",
            "address_line1": "10 Harley Street",
            "city": "London",
            "postcode": "W1G 9PF",
            "phone": "020 7946 0000",
            "is_active": True,
        },
    )
    services.create_location(
        practice=practice,
        data={
            "name": "London Bridge Hospital",
            "address_line1": "27 Tooley Street",
            "city": "London",
            "postcode": "SE1 2PR",
            "phone": "",
            "is_active": True,
        },
    )


# -- A billing bureau: the demo practice and two consultants' practices, run by one biller ---------
DEMO_BUREAU = "Harbour Billing Bureau"
BUREAU_USER = ("bureau@demo.openpractice.test", "Hana Harbour")
# practice, its consultant (email, name, practitioner details as DEMO_PRACTITIONERS), its Healthcode
# site and key (the sandbox's second site, sandbox/seed.py OTHER_*) or None: not connected yet.
BUREAU_PRACTICES = [
    (
        "Sample Heart Clinic",
        (
            "dr.sample@sampleheart.openpractice.test",
            "Dr Bilal Sample",
            ("0712345", "7123450", "Cardiology", "Consultant Cardiologist"),
        ),
        ("HC99999", "other-practice", "other-practice-key"),
    ),
    (
        "Demo Eye Practice",
        (
            "carys@demoeye.openpractice.test",
            "Ms Carys Demo",
            ("0698765", "6987650", "Ophthalmology", "Consultant Ophthalmic Surgeon"),
        ),
        None,
    ),
]


def seed_bureau(*, bills: bool = True, sandbox_url: str | None = None):
    """The demo bureau (once): the demo practice and BUREAU_PRACTICES, each with its own consultant
    (its owner), set-up and Healthcode site, and one biller (BUREAU_USER) on the bureau's staff
    and a member of all three. `bills`: a few insurer bills in each new practice, checked."""
    bureau = Bureau.objects.filter(name=DEMO_BUREAU).first()
    if bureau is not None:
        return bureau
    demo = Practice.objects.get(name=DEMO_PRACTICE)
    biller = User.objects.filter(email=BUREAU_USER[0]).first() or User.objects.create_user(
        email=BUREAU_USER[0], password=DEMO_PASSWORD, full_name=BUREAU_USER[1]
    )
    bureau = bureau_services.create_bureau(name=DEMO_BUREAU)
    bureau_services.add_staff(bureau=bureau, user=biller)
    bureau_services.add_practice(bureau=bureau, practice=demo)
    services.enrol_member(practice=demo, user=biller, role=Role.BILLING)
    discovery = (sandbox_url or settings.SANDBOX_URL).rstrip("/") + "/.well-known/discovery-document.json"
    for name, (email, full_name, details), site in BUREAU_PRACTICES:
        consultant = User.objects.filter(email=email).first() or User.objects.create_user(
            email=email, password=DEMO_PASSWORD, full_name=full_name
        )
        practice = services.create_practice(name=name, owner=consultant, city="London")
        services.enrol_member(practice=practice, user=biller, role=Role.BILLING)
        _demo_locations(practice)
        Command()._healthcode_setup(practice, consultant, practitioners={email: details})
        if site:
            save_healthcode_credentials(
                practice=practice,
                environment="sandbox",
                discovery_url=discovery,
                site_id=site[0],
                api_key_id=site[1],
                api_key=site[2],
            )
        bureau_services.add_practice(bureau=bureau, practice=practice)
        if bills:
            doctor = Membership.objects.get(practice=practice, user=consultant)
            today = dt.date.today()
            # Two bills ready to go; one dated ahead, which the check holds back (first date of service).
            for last_name, ahead in (("Bennett", 0), ("Clarke", 0), ("Robinson", 3)):
                demo_insurer_bill(
                    practice=practice, practitioner=doctor, last_name=last_name, day=today + dt.timedelta(days=ahead)
                )
            recheck_all(practice=practice)
    return bureau


def demo_insurer_bill(*, practice, practitioner, last_name: str, day: dt.date, product: str = "Initial consultation"):
    """An outpatient insurer bill (a draft) for a demo patient, on the patient's insurance."""
    patient = Patient.objects.get(practice=practice, last_name=last_name)
    return billing.create_invoice(
        practice=practice,
        data={
            "bill_to": "insurer",
            "patient": patient,
            "insurance": patient.relationships.get(relationship_type="insurance"),
            "practitioner": practitioner,
            "invoice_date": dt.date.today(),
            "primary_diagnosis": "M17.1",
            "service_setting": "outpatient",
        },
        lines=[{"product": Product.objects.get(practice=practice, name=product), "service_date": day, "quantity": 1}],
    )


# -- Collections (receivables): a few patients who owe the practice ------------------------------
# name, email, product, days ago, paid since (self-pay bills, due on their date)
DEMO_SELF_PAY = [
    ("Grace", "Hughes", "grace.hughes@example.com", "Initial consultation", 50, "70.00"),
    ("Harry", "Evans", "", "Follow-up consultation", 20, ""),
]
# patient, insurer, product, days ago billed, days ago remitted, paid by the insurer, insurer's reason
DEMO_SHORTFALLS = [
    ("Clarke", "bup", "Initial consultation", 75, 60, "130.00", "Policy excess applies"),
    ("Turner", "ppp", "Knee arthroscopy", 70, 45, "765.00", "Above the benefit maximum"),
]


def seed_collections(*, practice, biller, today: dt.date | None = None) -> int:
    """Overdue self-pay bills and shortfalls moved to insured patients, made through the services on
    the demo clock (home/demo_history.DemoClock) at the days they would have happened, so the
    Collections pages (accounts owing, the work queue, a chase run) have debts of every age to show.
    The number of debts made."""
    today = today or dt.date.today()
    doctor = Membership.objects.get(practice=practice, user__email="dr.patel@demo.openpractice.test")
    product = {p.name: p for p in Product.objects.filter(practice=practice)}
    clock = DemoClock(timezone_now_at(today))

    def on(days_ago: int):
        clock.moment = timezone_now_at(today - dt.timedelta(days=days_ago))
        return clock.running()

    made = 0
    for first, last, email, name, days_ago, paid in DEMO_SELF_PAY:
        with on(days_ago):
            patient = patients.create_patient(
                practice=practice,
                data={
                    "first_name": first,
                    "last_name": last,
                    "date_of_birth": dt.date(1968, 3, 14),
                    "email": email,
                    "address_line1": "2 Example Street",
                    "city": "London",
                    "postcode": "W1A 1AA",
                },
            )
            day = today - dt.timedelta(days=days_ago)
            invoice = billing.issue_invoice(
                invoice=billing.create_invoice(
                    practice=practice,
                    data={"bill_to": "patient", "patient": patient, "practitioner": doctor, "invoice_date": day},
                    lines=[{"product": product[name], "service_date": day, "quantity": 1}],
                    created_by=biller,
                )
            )
        if paid:
            with on(days_ago - 10):
                billing.record_payment(
                    invoice=invoice, amount=paid, received_on=today - dt.timedelta(days=days_ago - 10), method="card"
                )
        made += 1
    registration = {last: reg for _, last, _, _, _, _, reg, _, _ in DEMO_PATIENTS}
    for last, insurer, name, billed, remitted, paid, reason in DEMO_SHORTFALLS:
        patient = Patient.objects.get(practice=practice, last_name=last)
        insurance = next(r for r in patient.relationships.all() if r.relationship_type == "insurance")
        with on(billed):
            day = today - dt.timedelta(days=billed)
            invoice = billing.issue_invoice(
                invoice=billing.create_invoice(
                    practice=practice,
                    data={
                        "bill_to": "insurer",
                        "patient": patient,
                        "insurance": insurance,
                        "practitioner": doctor,
                        "invoice_date": day,
                        "primary_diagnosis": "M17.1",
                    },
                    lines=[{"product": product[name], "service_date": day, "quantity": 1}],
                    created_by=biller,
                )
            )
        with on(remitted):
            body = _shortfall_remittance(
                invoice, insurer, registration[last], Decimal(paid), reason, today - dt.timedelta(days=remitted)
            )
            batch, _ = remittances.store_batch(
                practice=practice, source="clearing_house", external_id=body["id"], raw_payload=json.dumps(body)
            )
            remittances.post_batch(batch_id=batch.pk, user=biller)
        with on(remitted - 2):
            line = RemittanceLine.objects.get(batch=batch, invoice=invoice)
            remittances.transfer_shortfall(line=line, user=biller)
        made += 1
    harry = Invoice.objects.filter(practice=practice, patient__last_name="Evans", bill_to="patient").first()
    if harry is not None:
        with on(3):
            receivables.add_note(invoice=harry, text="Rang Mr Evans: no answer, left a message.", by=biller)
    return made


def timezone_now_at(day: dt.date) -> dt.datetime:
    """Ten in the morning of `day`, in the site's time zone (the demo clock's moment)."""
    return timezone.make_aware(dt.datetime.combine(day, dt.time(10, 0)))


def _shortfall_remittance(invoice, insurer: str, member: str, paid: Decimal, reason: str, day: dt.date) -> dict:
    """A one-bill remittance as the clearing house sends it (docs/sandbox.md), paying `paid` of it."""
    [line] = list(invoice.lines.all())
    invoiced = line.net_amount + line.vat_amount
    bill_id = f"HCBDEMO{invoice.pk:06d}"
    money = lambda v: {"value": float(v), "currency": "GBP"}  # noqa: E731 (FHIR amounts are JSON numbers)
    return {
        "resourceType": "Bundle",
        "id": f"RMTDEMO{invoice.pk:06d}",
        "type": "collection",
        "entry": [
            {
                "resource": {
                    "resourceType": "PaymentReconciliation",
                    "id": f"RMTDEMO{invoice.pk:06d}",
                    "paymentIssuer": {"identifier": {"system": f"{NS}/sid/insurer-identifier", "value": insurer}},
                    "paymentDate": day.isoformat(),
                    "paymentAmount": money(paid),
                    "paymentIdentifier": {
                        "system": f"{NS}/sid/payment-reference",
                        "value": f"BACS-DEMO-{invoice.pk:05d}",
                    },
                    "detail": [
                        {
                            "extension": [
                                {"url": f"{EXT}/amount-invoiced", "valueMoney": money(invoiced)},
                                {"url": f"{EXT}/shortfall", "valueMoney": money(invoiced - paid)},
                                {"url": f"{EXT}/patient-name", "valueString": str(invoice.patient)},
                                {"url": f"{EXT}/membership-number", "valueString": member},
                            ],
                            "identifier": {"system": f"{NS}/sid/bill-id", "value": bill_id},
                            "request": {"identifier": {"system": f"{NS}/sid/invoice-number", "value": invoice.number}},
                            "response": {"reference": f"ClaimResponse/{bill_id}"},
                            "date": day.isoformat(),
                            "amount": money(paid),
                        }
                    ],
                }
            },
            {
                "resource": {
                    "resourceType": "ClaimResponse",
                    "id": bill_id,
                    "item": [
                        {
                            "itemSequence": line.sequence,
                            "adjudication": [
                                {"category": {"coding": [{"code": "submitted"}]}, "amount": money(invoiced)},
                                {"category": {"coding": [{"code": "benefit"}]}, "amount": money(paid)},
                                {
                                    "category": {"coding": [{"code": "shortfall"}]},
                                    "reason": {"coding": [{"code": "benefit-maximum"}], "text": reason},
                                    "amount": money(invoiced - paid),
                                },
                            ],
                        }
                    ],
                }
            },
        ],
    }
