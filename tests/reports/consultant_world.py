"""A small, exact world for the consultant report tests: November 2026 of one practice, every
kind of row that moves its figures, each amount chosen so the expected figures can be written down."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

from openpractice.accounts.models import User
from openpractice.billing.models import BillTo, CreditNote, Invoice, Payment, RecordStatus
from openpractice.contacts.models import Contact
from openpractice.patients.models import Patient
from openpractice.practices.models import Membership
from openpractice.receivables.models import WriteOff, WriteOffEntry, WriteOffStatus
from openpractice.remittances.models import Allocation, AllocationKind

NOVEMBER = dt.date(2026, 11, 1)


def D(text: str) -> Decimal:
    return Decimal(text)


@dataclasses.dataclass
class Built:
    practice: object
    doctor: Membership
    bupa: Contact
    axa: Contact
    patient: Patient
    count: int = 0

    def invoice(
        self, day: dt.date, total: str, *, insurer: Contact | None = None, status=RecordStatus.ISSUED
    ) -> Invoice:
        self.count += 1
        return Invoice.objects.create(
            practice=self.practice,
            number="" if status == RecordStatus.DRAFT else f"CR{self.practice.pk:02d}{self.count:04d}",
            bill_to=BillTo.INSURER if insurer else BillTo.PATIENT,
            insurer_contact=insurer,
            patient=self.patient,
            practitioner=self.doctor,
            invoice_date=day,
            record_status=status,
            total=D(total),
            net_total=D(total),
        )

    def pay(self, invoice: Invoice, amount: str, day: dt.date) -> Payment:
        return Payment.objects.create(practice=self.practice, invoice=invoice, amount=D(amount), received_on=day)

    def remit(self, invoice: Invoice, amount: str, day: dt.date, reverses: Allocation | None = None) -> Allocation:
        return Allocation.objects.create(
            practice=self.practice,
            invoice=invoice,
            kind=AllocationKind.REVERSAL if reverses else AllocationKind.INSURER_PAYMENT,
            amount=D(amount),
            reverses=reverses,
            insurer_contact=invoice.insurer_contact,
            posted_on=day,
        )

    def write_off(self, invoice: Invoice, amount: str, day: dt.date) -> WriteOffEntry:
        request = WriteOff.objects.create(
            practice=self.practice,
            invoice=invoice,
            amount=D(amount),
            reason="Small balance",
            status=WriteOffStatus.APPROVED,
        )
        return WriteOffEntry.objects.create(
            practice=self.practice,
            invoice=invoice,
            write_off=request,
            amount=D(amount),
            reason="Small balance",
            posted_on=day,
        )

    def credit(self, invoice: Invoice, amount: str, day: dt.date) -> CreditNote:
        self.count += 1
        return CreditNote.objects.create(
            practice=self.practice,
            invoice=invoice,
            number=f"CN{self.count:05d}",
            amount=D(amount),
            reason="Goodwill",
            issued_on=day,
        )


def setup(practice, *, email: str | None = None, full_name: str = "Mr Sam Surgeon") -> Built:
    user = User.objects.create_user(
        email=email or f"consultant{practice.pk}@reports.test", password="x" * 12, full_name=full_name
    )
    doctor = Membership.objects.create(user=user, practice=practice, role="practitioner")
    bupa = Contact.objects.create(practice=practice, contact_type="insurer", name="Bupa")
    axa = Contact.objects.create(practice=practice, contact_type="insurer", name="AXA Health")
    patient = Patient.objects.create(
        practice=practice, first_name="Pat", last_name="Jones", date_of_birth=dt.date(1970, 1, 1)
    )
    return Built(practice, doctor, bupa, axa, patient)


def november(practice, *, email: str | None = None, full_name: str = "Mr Sam Surgeon") -> Built:
    """Billed 600.00 (insurer 500.00, self-pay 100.00); collected 520.00 (Bupa 300.00, AXA Health
    120.00, self-pay 100.00); outstanding at 30 November: insurers 200.00 (0-30) and 80.00 (90+),
    patients 40.00 (31-60); written off 30.00 (one patient debt)."""
    w = setup(practice, email=email, full_name=full_name)
    a = w.invoice(dt.date(2026, 11, 5), "500.00", insurer=w.bupa)
    w.remit(a, "300.00", dt.date(2026, 11, 20))
    wrong = w.remit(a, "50.00", dt.date(2026, 11, 10))
    w.remit(a, "-50.00", dt.date(2026, 11, 25), reverses=wrong)
    w.pay(a, "100.00", dt.date(2026, 12, 5))  # after the month: neither collected nor settling at its end
    b = w.invoice(dt.date(2026, 8, 1), "200.00", insurer=w.axa)
    w.pay(b, "120.00", dt.date(2026, 11, 3))
    c = w.invoice(dt.date(2026, 11, 10), "100.00")
    w.pay(c, "100.00", dt.date(2026, 11, 12))
    d = w.invoice(dt.date(2026, 10, 15), "80.00")
    w.write_off(d, "30.00", dt.date(2026, 11, 15))
    w.credit(d, "10.00", dt.date(2026, 11, 16))
    w.invoice(dt.date(2026, 12, 2), "999.00", insurer=w.bupa)  # the next month
    w.invoice(dt.date(2026, 11, 20), "777.00", insurer=w.bupa, status=RecordStatus.DRAFT)  # never issued
    w.invoice(dt.date(2026, 11, 21), "555.00", status=RecordStatus.VOID)
    return w
