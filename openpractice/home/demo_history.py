"""Twelve months of the demo practice's work, played day by day through the services a practice
uses: invoices raised (billing), bills submitted and the clearing house's answers recorded
(healthcode's queue and `apply_answer`), remittances received and posted (remittances'
`store_batch` / `post_batch`), shortfalls moved to patients, patients' payments, write-offs and
credit notes. Nothing here writes an invoice field: billing does, called by those services.

The services stamp "today" themselves (an invoice issued, a bill's events, a shortfall's patient
invoice, a payment's "not in the future" check), so the year is replayed on a demo clock:
`django.utils.timezone.now` answers the replayed moment while this runs, and the real time after.
The clearing house is not called over HTTP (the sandbox is not running while `make run` seeds): its
answers (bill ids, Validated/Failed with its errors, Awaiting collection, Collected, remittance
Bundles shaped as docs/sandbox.md describes) are applied through the same services that apply the
real ones. Seeded random: the same practice every time, relative to the day it is loaded."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import heapq
import itertools
import json
import random
from collections import defaultdict
from collections.abc import Callable, Iterator
from decimal import Decimal

from django.utils import timezone

from openpractice.billing import services as billing
from openpractice.billing.models import HealthcodeStatus, Invoice, PaymentMethod
from openpractice.healthcode.answers import BillAnswer
from openpractice.healthcode.submission.queue import submit_invoice
from openpractice.healthcode.submission.transitions import apply_answer
from openpractice.patients import services as patients
from openpractice.patients.models import Patient
from openpractice.practices.models import Membership
from openpractice.products.models import Product
from openpractice.remittances import services as remittances
from openpractice.remittances.models import LineStatus, RemittanceLine

SEED = 15
DAYS = 365
NS = "https://openpractice.org/fhir/healthcode"
EXT = f"{NS}/StructureDefinition"
CENT = Decimal("0.01")

# Invented patients (not the sandbox's members): first, last, sex, born, postcode, insurer or "" (self-pay).
MORE_PATIENTS = [
    ("Harry", "Wilson", "male", "1968-02-11", "W1U 6TQ", "bup"),
    ("Sophie", "Hughes", "female", "1983-06-05", "NW3 2QG", "bup"),
    ("George", "Edwards", "male", "1959-10-28", "SW3 4LZ", "ppp"),
    ("Emily", "Khan", "female", "1991-03-17", "E14 5AB", "nuh"),
    ("Thomas", "Wright", "male", "1977-12-01", "N1 9GU", "slh"),
    ("Grace", "Thompson", "female", "1964-07-23", "SE10 8XJ", "bup"),
    ("William", "Walker", "male", "1988-09-09", "W2 1HU", "ppp"),
    ("Olivia", "White", "female", "1972-04-30", "SW19 5AE", "bup"),
    ("James", "Roberts", "male", "1955-01-14", "KT1 1EU", "nuh"),
    ("Ava", "Green", "female", "1999-11-02", "TW9 1DN", "slh"),
    ("Charlie", "Hall", "male", "1981-05-19", "EC1V 4PW", "bup"),
    ("Lily", "Wood", "female", "1969-08-08", "SE1 9SG", "ppp"),
    ("Jacob", "Harris", "male", "1993-02-25", "NW8 7AL", "bup"),
    ("Freya", "Lewis", "female", "1986-10-13", "W8 4PT", "nuh"),
    ("Alfie", "Clark", "male", "1974-06-29", "SW6 3JJ", "slh"),
    ("Evie", "Jackson", "female", "1961-12-20", "N6 5HG", "bup"),
    ("Oscar", "Martin", "male", "1979-03-03", "E1 6AN", "ppp"),
    ("Poppy", "Cooper", "female", "1995-09-27", "SW11 1AA", "bup"),
    ("Henry", "King", "male", "1952-04-16", "W4 2PD", "nuh"),
    ("Ella", "Baker", "female", "1984-01-08", "SE22 8HF", "bup"),
    ("Leo", "Allen", "male", "1990-07-07", "NW1 8AH", ""),
    ("Isabella", "Young", "female", "1976-05-12", "W6 9NB", ""),
    ("Archie", "Scott", "male", "1966-11-30", "SW15 2SR", ""),
    ("Rosie", "Mitchell", "female", "1987-08-21", "N16 8JH", ""),
    ("Freddie", "Carter", "male", "1997-02-02", "E8 3DL", ""),
    ("Daisy", "Phillips", "female", "1958-09-15", "SE5 8RS", ""),
]
# What each practitioner bills (sandbox/seed.py specialties) and the diagnoses they write.
WORK = {
    "dr.patel": (
        ["Initial consultation", "Follow-up consultation", "Knee arthroscopy"],
        ["M17.1", "M23.2", "M25.5"],
    ),
    "dr.sample": (
        ["Initial consultation", "Follow-up consultation", "Electrocardiogram (ECG)"],
        ["I20.9", "R07.4", "I10"],
    ),
    "carys.demo": (["Initial consultation", "Follow-up consultation", "Epley manoeuvre"], ["H81.1", "H40.1", "R42"]),
}
# Products an insurer has a contract price for, or takes at list price (the others' time it is
# billed is a bill not ready: Bupa refuses E2880; AXA wants agreed fees).
INSURER_TAKES = {
    "bup": {"Initial consultation", "Follow-up consultation", "Knee arthroscopy", "Electrocardiogram (ECG)"},
    "ppp": {"Initial consultation", "Knee arthroscopy"},
    "nuh": {"Initial consultation", "Follow-up consultation", "Epley manoeuvre", "Electrocardiogram (ECG)"},
    "slh": {"Initial consultation", "Follow-up consultation", "Electrocardiogram (ECG)", "Epley manoeuvre"},
}
INSURER_PAYS_EVERY = {"bup": (14, 3), "ppp": (14, 9), "nuh": (28, 5), "slh": (21, 12)}  # days, first offset
REJECTIONS = ["Treatment not covered by the policy", "Policy lapsed on the date of service"]
SHORTFALLS = ["Above the benefit maximum", "Outpatient limit reached", "Policy excess applies"]
FAILURES = [
    ("invalid-registration", "RegistrationNo", "The membership number was not found at the insurer"),
    ("missing-authorisation", "PreAuthNo", "The insurer requires a pre-authorisation number for this treatment"),
]


class DemoClock:
    """While entered, `timezone.now()` (and so `localdate()` and every auto_now) is `self.moment`."""

    def __init__(self, start: dt.datetime):
        self.moment = start

    @contextlib.contextmanager
    def running(self) -> Iterator[DemoClock]:
        real = timezone.now
        timezone.now = lambda: self.moment  # the demo's replayed day
        try:
            yield self
        finally:
            timezone.now = real


@dataclasses.dataclass
class Bill:
    invoice: Invoice
    insurer: str
    patient: Patient
    registration: str
    bill_id: str = ""
    collected_on: dt.date | None = None


@dataclasses.dataclass
class Counts:
    invoices: int = 0
    remittances: int = 0
    shortfalls_moved: int = 0


class Year:
    """The replay: a queue of (moment, step) run in time order on the demo clock."""

    def __init__(self, *, practice, biller, contacts: dict, today: dt.date):
        self.practice = practice
        self.biller = biller
        self.contacts = contacts  # insurer identifier -> Contact
        self.today = today
        self.rng = random.Random(SEED)
        self.queue: list[tuple[dt.datetime, int, Callable[[], object]]] = []
        self.order = itertools.count()
        self.bill_ids = itertools.count(40001)
        self.to_remit: dict[str, list[Bill]] = defaultdict(list)
        self.counts = Counts()
        self.end = timezone.now()  # the real moment: nothing is stamped later than it
        self.clock = DemoClock(timezone.make_aware(dt.datetime.combine(today - dt.timedelta(days=DAYS), dt.time(8))))

    # -- the queue -------------------------------------------------------------------------------
    def at(self, day: dt.date, hour: int, step: Callable[[], object]) -> None:
        moment = timezone.make_aware(dt.datetime.combine(day, dt.time(hour, self.rng.randrange(60))))
        if moment <= self.end:  # what has not happened yet by today never happens
            heapq.heappush(self.queue, (moment, next(self.order), step))

    def play(self) -> Counts:
        self._people()
        first = self.today - dt.timedelta(days=DAYS)
        # Every day alike (the clinic also opens at weekends): the practice played is then the same
        # whichever day of the week it is loaded, only its dates move.
        for offset in range(DAYS + 1):
            day = first + dt.timedelta(days=offset)
            for _ in range(self.rng.choices([0, 1, 2, 3], weights=[3, 4, 2, 1])[0]):
                self.at(day, 9 + self.rng.randrange(8), self._visit_on(day))
        for identifier, (every, offset) in INSURER_PAYS_EVERY.items():
            day = first + dt.timedelta(days=offset)
            while day <= self.today:
                self.at(day, 6, self._remittance_on(identifier, day))
                day += dt.timedelta(days=every)
        with self.clock.running():
            while self.queue:
                moment, _, step = heapq.heappop(self.queue)
                self.clock.moment = moment
                step()
        return self.counts

    # -- people ----------------------------------------------------------------------------------
    def _people(self) -> None:
        formats = {"bup": "1{:07d}", "ppp": "AB{:07d}C", "nuh": "{:09d}", "slh": "4{:07d}"}
        for number, (first, last, sex, born, postcode, insurer) in enumerate(MORE_PATIENTS, start=1):
            patient = patients.create_patient(
                practice=self.practice,
                data={
                    "first_name": first,
                    "last_name": last,
                    "sex": sex,
                    "date_of_birth": dt.date.fromisoformat(born),
                    "postcode": postcode,
                    "phone": f"07700 9{number:05d}",
                    "email": f"{first.lower()}.{last.lower()}@example.com",
                    "address_line1": f"{number} Example Road",
                    "city": "London",
                },
            )
            if insurer:
                patients.add_relationship(
                    patient=patient,
                    data={
                        "relationship_type": "insurance",
                        "related_contact": self.contacts[insurer],
                        "related_patient": None,
                        "registration_number": formats[insurer].format(2000000 + number * 7919),
                    },
                )
        self.patients = list(Patient.objects.for_practice(self.practice).prefetch_related("relationships"))
        self.practitioners = {
            key: Membership.objects.get(practice=self.practice, user__email__startswith=key) for key in WORK
        }
        self.products = {p.name: p for p in Product.objects.for_practice(self.practice)}

    # -- a visit and its bill --------------------------------------------------------------------
    def _visit_on(self, day: dt.date) -> Callable[[], None]:
        return lambda: self._visit(day)

    def _visit(self, day: dt.date) -> None:
        rng = self.rng
        key = rng.choice(list(WORK))
        offered, diagnoses = WORK[key]
        patient = rng.choice(self.patients)
        insurance = next((r for r in patient.relationships.all() if r.relationship_type == "insurance"), None)
        insurer = insurance.related_contact.insurer.healthcode_identifier if insurance else ""
        to_insurer = insurance is not None and rng.random() < 0.93
        choices = [p for p in offered if not to_insurer or p in INSURER_TAKES[insurer]] or offered[:1]
        product = rng.choice(choices)
        age = (self.today - day).days
        forgetful = to_insurer and age < 40 and rng.random() < 0.12  # a draft left without what it needs
        if to_insurer and age < 40 and rng.random() < 0.05:
            product = rng.choice(offered)  # billed something the insurer will not take: a bill not ready
        daycase = self.products[product].product_type == "procedure" and product == "Knee arthroscopy"
        invoice = billing.create_invoice(
            practice=self.practice,
            data={
                "bill_to": "insurer" if to_insurer else "patient",
                "patient": patient,
                "insurance": insurance if to_insurer else None,
                "practitioner": self.practitioners[key],
                "invoice_date": day,
                "due_date": day + dt.timedelta(days=30),
                "service_setting": "daycase" if daycase else "consulting_room",
                "admission_date": day if daycase else None,
                "discharge_date": day if daycase else None,
                "primary_diagnosis": "" if forgetful or not to_insurer else rng.choice(diagnoses),
            },
            lines=[{"product": self.products[product], "service_date": day, "quantity": 1}],
            created_by=self.practitioners[key].user,
        )
        self.counts.invoices += 1
        if not to_insurer:
            self._self_pay(invoice, day, age)
            return
        if forgetful or product not in INSURER_TAKES[insurer] or age <= 1:
            return  # a draft: not ready, or raised since yesterday
        assert insurance is not None  # to_insurer: the patient has one
        bill = Bill(invoice, insurer, patient, insurance.registration_number)
        if age < 30 and rng.random() < 0.1:
            self.at(day, 17, lambda: billing.issue_invoice(invoice=invoice))  # issued, not sent yet
            return
        self.at(day + dt.timedelta(days=rng.choice([0, 1, 1, 2])), 17, lambda: self._submit(bill))

    def _self_pay(self, invoice: Invoice, day: dt.date, age: int) -> None:
        rng = self.rng
        if age <= 1 and rng.random() < 0.5:
            return  # still a draft
        if rng.random() < 0.02:
            billing.void_invoice(invoice=invoice, reason="Raised twice for the same appointment")
            return
        invoice = billing.issue_invoice(invoice=invoice)
        roll = rng.random()
        if roll < 0.62:
            self.at(day + dt.timedelta(days=rng.randrange(0, 25)), 12, lambda: self._pay(invoice, whole=True))
        elif roll < 0.72:
            self.at(day + dt.timedelta(days=rng.randrange(0, 20)), 12, lambda: self._pay(invoice, whole=False))
        elif roll < 0.76:
            self.at(day + dt.timedelta(days=rng.randrange(5, 30)), 11, lambda: self._goodwill(invoice))
        elif roll < 0.80:
            self.at(day + dt.timedelta(days=150), 11, lambda: self._write_off(invoice))
        # the rest: not paid yet (patient debt to chase)

    def _pay(self, invoice: Invoice, *, whole: bool) -> None:
        invoice.refresh_from_db()
        balance = invoice.balance
        if balance <= 0:
            return
        amount = balance if whole else (balance / 2).quantize(CENT)
        billing.record_payment(
            invoice=invoice,
            amount=amount,
            received_on=timezone.localdate(),
            method=self.rng.choice([PaymentMethod.CARD, PaymentMethod.CARD, PaymentMethod.BACS]),
            recorded_by=self.biller,
        )

    def _goodwill(self, invoice: Invoice) -> None:
        invoice.refresh_from_db()
        if invoice.balance > 0:
            billing.create_credit_note(
                invoice=invoice,
                amount=(invoice.balance / 4).quantize(CENT),
                reason="Goodwill: appointment started late",
                created_by=self.biller,
            )

    def _write_off(self, invoice: Invoice) -> None:
        invoice.refresh_from_db()
        if invoice.balance > 0:
            billing.write_off(invoice=invoice, reason="Patient moved abroad: not worth chasing")

    # -- Healthcode ------------------------------------------------------------------------------
    def _answer(self, bill: Bill, submission_id: int, status: str, words: str, errors=(), **extra) -> None:
        apply_answer(
            submission_id=submission_id,
            bill=BillAnswer(
                bill_id=bill.bill_id, status=status, words=words, errors=list(errors), collected_at=None, **extra
            ),
        )

    def _submit(self, bill: Bill, *, correcting: bool = False) -> None:
        submission = submit_invoice(invoice=bill.invoice, user=self.biller, enqueue=False)
        bill.invoice.refresh_from_db()  # issued by the submission: its number is what the insurer quotes
        bill.bill_id = f"HCB{next(self.bill_ids):08d}"
        self._answer(bill, submission.pk, HealthcodeStatus.UNPROCESSED, "Unprocessed")
        day = timezone.localdate()
        self.at(
            day + dt.timedelta(days=self.rng.choice([1, 1, 2])),
            7,
            lambda: self._validate(bill, submission.pk, correcting),
        )

    def _validate(self, bill: Bill, submission_id: int, correcting: bool) -> None:
        rng = self.rng
        day = timezone.localdate()
        recent = (self.today - bill.invoice.invoice_date).days < 30
        if not correcting and rng.random() < (0.15 if recent else 0.05):  # a few failed bills still to correct
            rule, field, error = rng.choice(FAILURES)
            problem = {"rule": rule, "field": field, "error": error, "suggestion": "", "level": "bill", "line": None}
            self._answer(bill, submission_id, HealthcodeStatus.FAILED, "Failed", [problem])
            if (self.today - day).days > 25 and rng.random() < 0.75:  # corrected and sent again within the week
                self.at(day + dt.timedelta(days=rng.randrange(2, 7)), 10, lambda: self._correct(bill, rule))
            return
        self._answer(bill, submission_id, HealthcodeStatus.VALIDATED, "Validated")
        self.at(day + dt.timedelta(days=2), 7, lambda: self._awaiting(bill, submission_id))

    def _correct(self, bill: Bill, rule: str) -> None:
        if rule == "missing-authorisation":
            billing.update_invoice(
                invoice=bill.invoice, data={"authorisation_code": f"{100000 + bill.invoice.pk:06d}/01"}
            )
        bill.invoice.refresh_from_db()
        self._submit(bill, correcting=True)

    def _awaiting(self, bill: Bill, submission_id: int) -> None:
        day = timezone.localdate()
        if self.rng.random() < 0.02:  # the practice asked Healthcode to cancel it: a duplicate
            self._answer(bill, submission_id, HealthcodeStatus.CANCELLED, "Cancelled")
            billing.void_invoice(invoice=bill.invoice, reason="Duplicate bill: cancelled at Healthcode")
            return
        self._answer(bill, submission_id, HealthcodeStatus.AWAITING_COLLECTION, "Awaiting collection")
        self.at(day + dt.timedelta(days=self.rng.randrange(3, 9)), 7, lambda: self._collected(bill, submission_id))

    def _collected(self, bill: Bill, submission_id: int) -> None:
        self._answer(bill, submission_id, HealthcodeStatus.COLLECTED, "Collected")
        bill.collected_on = timezone.localdate()
        if self.rng.random() < 0.06:
            return  # the insurer never pays: debt to chase
        self.to_remit[bill.insurer].append(bill)

    # -- remittances -----------------------------------------------------------------------------
    def _remittance_on(self, identifier: str, day: dt.date) -> Callable[[], None]:
        return lambda: self._remittance(identifier, day)

    def _remittance(self, identifier: str, day: dt.date) -> None:
        due = [b for b in self.to_remit[identifier] if b.collected_on and b.collected_on <= day - dt.timedelta(days=7)]
        if not due:
            return
        self.to_remit[identifier] = [b for b in self.to_remit[identifier] if b not in due]
        self.counts.remittances += 1
        number = self.counts.remittances
        recent = (self.today - day).days < 45
        body = self._bundle(identifier, day, due, number, stray=recent and number % 3 == 0)
        batch, _ = remittances.store_batch(
            practice=self.practice,
            source="clearing_house",
            external_id=body["id"],
            raw_payload=json.dumps(body, default=float),  # amounts as JSON numbers, as FHIR has them
            user=self.biller,
        )
        remittances.post_batch(batch_id=batch.pk, user=self.biller)
        if (self.today - day).days > 20:
            for line in RemittanceLine.objects.filter(batch=batch, status=LineStatus.ALLOCATED, shortfall__gt=0):
                if self.rng.random() < 0.9:
                    self.at(day + dt.timedelta(days=self.rng.randrange(1, 6)), 15, self._transfer_of(line))

    def _transfer_of(self, line: RemittanceLine) -> Callable[[], None]:
        return lambda: self._transfer(line)

    def _transfer(self, line: RemittanceLine) -> None:
        patient_invoice = remittances.transfer_shortfall(line=line, user=self.biller)
        self.counts.shortfalls_moved += 1
        day = timezone.localdate()
        if self.rng.random() < 0.6:
            self.at(
                day + dt.timedelta(days=self.rng.randrange(7, 40)), 12, lambda: self._pay(patient_invoice, whole=True)
            )

    def _bundle(self, identifier: str, day: dt.date, bills: list[Bill], number: int, *, stray: bool) -> dict:
        """A remittance as the clearing house sends it (docs/sandbox.md): a PaymentReconciliation
        with a detail per bill, then each bill's ClaimResponse with its per-line adjudication."""
        rng = self.rng
        details, responses, total = [], [], Decimal("0.00")
        for bill in bills:
            lines = list(bill.invoice.lines.all())
            roll = rng.random()
            items, paid_bill, reason = [], Decimal("0.00"), ""
            for line in lines:
                invoiced = line.net_amount + line.vat_amount
                if roll < 0.07:
                    paid, reason, code = Decimal("0.00"), rng.choice(REJECTIONS), "rejected"
                elif roll < 0.22:
                    paid = (invoiced * Decimal(rng.choice(["0.70", "0.80", "0.85"]))).quantize(CENT)
                    reason, code = rng.choice(SHORTFALLS), "benefit-maximum"
                else:
                    paid, code = invoiced, ""
                adjudication = [
                    {"category": {"coding": [{"code": "submitted"}]}, "amount": {"value": invoiced}},
                    {"category": {"coding": [{"code": "benefit"}]}, "amount": {"value": paid}},
                ]
                if paid < invoiced:
                    adjudication.append(
                        {
                            "category": {"coding": [{"code": "shortfall"}]},
                            "reason": {"coding": [{"code": code}], "text": reason},
                            "amount": {"value": invoiced - paid},
                        }
                    )
                items.append({"itemSequence": line.sequence, "adjudication": adjudication})
                paid_bill += paid
            invoiced_bill = bill.invoice.total
            total += paid_bill
            details.append(
                self._detail(
                    bill_id=bill.bill_id,
                    number=bill.invoice.number,
                    invoiced=invoiced_bill,
                    paid=paid_bill,
                    name=f"{bill.patient.first_name} {bill.patient.last_name}",
                    member=bill.registration,
                    day=day,
                )
            )
            responses.append({"resourceType": "ClaimResponse", "id": bill.bill_id, "item": items})
        if stray:  # a bill the practice cannot find (another practice's, or a typo at the insurer): to review
            amount = Decimal(rng.choice(["150.00", "180.00", "220.00"]))
            total += amount
            details.append(
                self._detail(
                    bill_id=f"HCB{next(self.bill_ids):08d}",
                    number=f"INV9{number:05d}",
                    invoiced=amount,
                    paid=amount,
                    name=rng.choice(["J Smith", "A Jones", "M Brown"]),
                    member="",
                    day=day,
                )
            )
        remittance_id = f"RMT{identifier.upper()}{number:06d}"
        reconciliation = {
            "resourceType": "PaymentReconciliation",
            "id": remittance_id,
            "paymentIssuer": {"identifier": {"system": f"{NS}/sid/insurer-identifier", "value": identifier}},
            "paymentDate": day.isoformat(),
            "paymentAmount": {"value": total, "currency": "GBP"},
            "paymentIdentifier": {
                "system": f"{NS}/sid/payment-reference",
                "value": f"BACS-{identifier.upper()}-{number:05d}",
            },
            "detail": details,
        }
        return {
            "resourceType": "Bundle",
            "id": remittance_id,
            "type": "collection",
            "entry": [{"resource": r} for r in [reconciliation, *responses]],
        }

    @staticmethod
    def _detail(*, bill_id, number, invoiced, paid, name, member, day) -> dict:
        return {
            "extension": [
                {"url": f"{EXT}/amount-invoiced", "valueMoney": {"value": invoiced, "currency": "GBP"}},
                {"url": f"{EXT}/shortfall", "valueMoney": {"value": invoiced - paid, "currency": "GBP"}},
                {"url": f"{EXT}/patient-name", "valueString": name},
                {"url": f"{EXT}/membership-number", "valueString": member},
            ],
            "identifier": {"system": f"{NS}/sid/bill-id", "value": bill_id},
            "request": {"identifier": {"system": f"{NS}/sid/invoice-number", "value": number}},
            "response": {"reference": f"ClaimResponse/{bill_id}"},
            "date": day.isoformat(),
            "amount": {"value": paid, "currency": "GBP"},
        }


def play_year(*, practice, biller, contacts: dict, today: dt.date | None = None) -> Counts:
    """Replay the demo practice's last twelve months (see the module's docstring)."""
    return Year(practice=practice, biller=biller, contacts=contacts, today=today or timezone.localdate()).play()
