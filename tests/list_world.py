"""Worlds of a chosen size for the list and report pages: a practice with patients, insurers and
invoices in every state, written in bulk (the pages only read them). The fixed-query tests build a
small world and a bigger one and compare what each page costs."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

from openpractice.accounts.models import User
from openpractice.billing.models import BillTo, HealthcodeStatus, Invoice, Payment, RecordStatus
from openpractice.contacts.models import Contact
from openpractice.patients import keys
from openpractice.patients.models import Patient
from openpractice.practices.models import Membership
from openpractice.practices.roles import Role
from openpractice.products.models import Product
from openpractice.remittances.models import (
    Allocation,
    AllocationKind,
    BatchSource,
    BatchStatus,
    LineStatus,
    RemittanceBatch,
    RemittanceLine,
    ShortfallVerdict,
)

SURNAMES = ("Bennett", "Clarke", "Patel", "Robinson", "Benson", "Ahmed", "Okafor", "Walsh")
STATUSES = (
    HealthcodeStatus.NOT_SUBMITTED,
    HealthcodeStatus.VALIDATED,
    HealthcodeStatus.COLLECTED,
    HealthcodeStatus.FAILED,
)
TODAY = dt.date(2026, 6, 30)


@dataclasses.dataclass
class World:
    practice: object
    user: User
    practitioner: Membership
    insurers: list[Contact]
    patients: list[Patient]
    invoices: list[Invoice]
    batches: list[RemittanceBatch]


def build_world(practice, *, invoices: int, patients: int | None = None, email: str = "") -> World:
    """`invoices` invoices over `patients` patients (default: one per three invoices), a day apart
    backwards from TODAY with several on each day (so the keyset's tie-break on id is exercised),
    alternating insurer and patient bills, every status, some paid, some part-paid."""
    number = Invoice.objects.filter(practice=practice).count()
    user = User.objects.create_user(
        email=email or f"owner{number}.{practice.pk}@lists.test", password="x", full_name="Olive Owner"
    )
    practitioner = Membership.objects.create(user=user, practice=practice, role=Role.OWNER)
    insurers = [
        Contact.objects.create(practice=practice, contact_type="insurer", name=name, name_key=keys.name_key(name))
        for name in ("Bupa", "AXA Health", "Vitality")
    ]
    people = []
    for n in range(patients or max(1, invoices // 3)):
        last = f"{SURNAMES[n % len(SURNAMES)]}{'' if n < len(SURNAMES) else n}"
        first = f"Pat{n}"
        people.append(
            Patient(
                practice=practice,
                first_name=first,
                last_name=last,
                last_name_key=keys.name_key(last),
                first_name_key=keys.name_key(first),
                date_of_birth=dt.date(1970, 1, 1) + dt.timedelta(days=n),
            )
        )
    people = Patient.objects.bulk_create(people)
    rows = []
    for n in range(invoices):
        to_insurer = n % 2 == 0
        record = (RecordStatus.DRAFT, RecordStatus.ISSUED, RecordStatus.ISSUED, RecordStatus.VOID, RecordStatus.ISSUED)[
            n % 5
        ]
        total = Decimal(100 + (n * 37) % 400) + Decimal("0.50")
        paid = (Decimal("0.00"), total, Decimal("40.00"))[n % 3] if record == RecordStatus.ISSUED else Decimal("0.00")
        rows.append(
            Invoice(
                practice=practice,
                number="" if record == RecordStatus.DRAFT else f"LST{number + n + 1:06d}",
                bill_to=BillTo.INSURER if to_insurer else BillTo.PATIENT,
                patient=people[n % len(people)],
                insurer_contact=insurers[n % len(insurers)] if to_insurer else None,
                practitioner=practitioner,
                invoice_date=TODAY - dt.timedelta(days=(n // 3) * 7),
                record_status=record,
                healthcode_status=STATUSES[(n // 2) % len(STATUSES)] if to_insurer else HealthcodeStatus.NOT_SUBMITTED,
                total=total,
                net_total=total,
                paid_total=paid,
            )
        )
    made = Invoice.objects.bulk_create(rows)
    Payment.objects.bulk_create(
        Payment(
            practice=practice,
            invoice=invoice,
            amount=invoice.paid_total,
            received_on=invoice.invoice_date + dt.timedelta(days=20),
        )
        for invoice in made
        if invoice.paid_total
    )
    batches = _remittances(practice, [i for i in made if i.bill_to == BillTo.INSURER and i.number])
    _write_offs(practice, user, [i for i in made if i.bill_to == BillTo.PATIENT and i.number and not i.paid_total])
    for n in range(max(2, invoices // 5)):
        name = f"Procedure {n:03d}"
        Product.objects.create(
            practice=practice,
            product_type="procedure",
            name=name,
            name_key=keys.name_key(name),
            list_price=Decimal(100 + n),
        )
        contact = f"Dr Referrer {n:03d}"
        Contact.objects.create(
            practice=practice, contact_type="referrer", name=contact, name_key=keys.name_key(contact)
        )
    return World(practice, user, practitioner, insurers, people, made, batches)


def _remittances(practice, insurer_bills: list[Invoice]) -> list[RemittanceBatch]:
    """A remittance per five insurer bills, each line paid (part-paid on every third, the rest a
    shortfall), waiting for review (every fourth), with the ledger's payments."""
    batches = []
    for start in range(0, len(insurer_bills), 5):
        bills = insurer_bills[start : start + 5]
        batch = RemittanceBatch.objects.create(
            practice=practice,
            source=BatchSource.CLEARING_HOUSE,
            external_id=f"REM{start:06d}",
            insurer_name=bills[0].insurer_contact.name,
            payment_reference=f"BACS{start:06d}",
            payment_date=bills[0].invoice_date + dt.timedelta(days=25),
            payment_amount=sum((b.total for b in bills), Decimal("0.00")),
            raw_payload="{}",
            status=BatchStatus.POSTED,
        )
        batches.append(batch)
        for sequence, bill in enumerate(bills, start=1):
            review = (start + sequence) % 4 == 0
            paid = bill.total if sequence % 3 else bill.total - Decimal("20.00")
            line = RemittanceLine.objects.create(
                practice=practice,
                batch=batch,
                sequence=sequence,
                invoice_number=bill.number,
                patient_name=f"{bill.patient.first_name} {bill.patient.last_name}",
                amount_invoiced=bill.total,
                amount_paid=paid,
                shortfall=bill.total - paid,
                status=LineStatus.REVIEW if review else LineStatus.ALLOCATED,
                problem="No invoice with this number and amount" if review else "",
                invoice=None if review else bill,
            )
            if not review:
                Allocation.objects.create(
                    practice=practice,
                    invoice=bill,
                    remittance_line=line,
                    kind=AllocationKind.INSURER_PAYMENT,
                    amount=paid,
                    shortfall=bill.total - paid,
                    insurer_contact=bill.insurer_contact,
                    posted_on=batch.payment_date,
                )
                if paid < bill.total:  # the insurer dispute list: every short line an underpayment
                    ShortfallVerdict.objects.create(
                        practice=practice,
                        remittance_line=line,
                        invoice=bill,
                        insurer_contact=bill.insurer_contact,
                        kind="underpayment",
                        rule_kind="underpayment",
                        billed=bill.total,
                        paid=paid,
                        shortfall=bill.total - paid,
                        contract_price=bill.total,
                        difference=bill.total - paid,
                    )
    return batches


def _write_offs(practice, user, owing: list[Invoice]) -> None:
    """Every fourth owing patient bill: £10 written off (approved), every other one reversed."""
    from openpractice.receivables.models import WriteOff, WriteOffEntry, WriteOffStatus

    for n, invoice in enumerate(owing[::4]):
        asked = WriteOff.objects.create(
            practice=practice,
            invoice=invoice,
            amount=Decimal("10.00"),
            reason="Small balance",
            status=WriteOffStatus.APPROVED,
            requested_by=user,
            decided_by=user,
        )
        entry = WriteOffEntry.objects.create(
            practice=practice,
            invoice=invoice,
            write_off=asked,
            amount=Decimal("10.00"),
            reason="Small balance",
            posted_on=invoice.invoice_date + dt.timedelta(days=30),
        )
        if n % 2:
            WriteOffEntry.objects.create(
                practice=practice,
                invoice=invoice,
                write_off=asked,
                amount=Decimal("-10.00"),
                reason="Patient paid after all",
                reverses=entry,
                posted_on=invoice.invoice_date + dt.timedelta(days=40),
            )
