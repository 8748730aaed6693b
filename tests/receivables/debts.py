"""Making patient debts for the receivables tests, through the real services."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from remit_helpers import bundle, receive


class Debts:
    def __init__(self, world):
        self.world = world

    def self_pay(self, *names: str, invoice_date: dt.date | None = None, patient=None):
        """An issued self-pay invoice (due on its date)."""
        from openpractice.billing import services as billing

        day = invoice_date or dt.date.today()
        invoice = billing.create_invoice(
            practice=self.world.practice,
            data={
                "bill_to": "patient",
                "patient": patient or self.world.patient,
                "insurance": None,
                "practitioner": self.world.practitioner,
                "invoice_date": day,
            },
            lines=[
                {"product": self.world.products[n], "service_date": day, "quantity": 1}
                for n in (names or ("Consultation",))
            ],
        )
        return billing.issue_invoice(invoice=invoice)

    def shortfall(self, paid="150.00", reason="Above the benefit maximum", product="Scan"):
        """An insurer invoice part-paid by a remittance, its shortfall moved to the patient: the
        patient invoice (due 30 days after today, as billing sets it)."""
        from openpractice.remittances import services as remittances

        insurer_invoice = self.world.invoice(product)
        batch = receive(self.world.practice, bundle([{"invoice": insurer_invoice, "paid": [paid], "reason": reason}]))
        line = batch.lines.get(invoice=insurer_invoice)
        return remittances.transfer_shortfall(line=line)

    def pay(self, invoice, amount, received_on=None):
        from openpractice.billing import services as billing

        return billing.record_payment(
            invoice=invoice, amount=Decimal(amount), received_on=received_on or dt.date.today(), method="card"
        )

    def age(self, invoice, days: int):
        """Move an invoice's dates back by `days` (as if issued that long ago)."""
        from openpractice.billing.models import Invoice

        invoice.refresh_from_db()
        Invoice.objects.filter(pk=invoice.pk).update(
            invoice_date=invoice.invoice_date - dt.timedelta(days=days),
            due_date=(invoice.due_date - dt.timedelta(days=days)) if invoice.due_date else None,
        )
        invoice.refresh_from_db()
        return invoice
