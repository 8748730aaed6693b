"""The demo practice's set-up (seed_demo without its year of history) and insurer bills raised
through billing's services: what the stored-check tests and the "Not ready" page tests share."""

from __future__ import annotations

import datetime as dt

from django.core.management import call_command

from openpractice.billing import services as billing
from openpractice.billing.models import Invoice
from openpractice.home.management.commands.seed_demo import DEMO_PRACTICE
from openpractice.patients.models import Patient
from openpractice.practices.models import Membership, Practice
from openpractice.products.models import Product

TODAY = dt.date.today()


class Demo:
    """The demo practice's set-up (no year of history) and a way to raise insurer bills in it."""

    def __init__(self):
        call_command("seed_demo", "--quiet-if-exists", "--no-history")
        self.practice = Practice.objects.get(name=DEMO_PRACTICE)
        self.patel = Membership.objects.get(practice=self.practice, user__email__startswith="dr.patel")
        self.sample = Membership.objects.get(practice=self.practice, user__email__startswith="dr.sample")

    def bill(self, *, last="Bennett", diagnosis="M17.1", day=None, who=None, issue=True) -> Invoice:
        patient = Patient.objects.get(practice=self.practice, last_name=last)
        insurance = next(r for r in patient.relationships.all() if r.relationship_type == "insurance")
        day = day or TODAY
        invoice = billing.create_invoice(
            practice=self.practice,
            data={
                "bill_to": "insurer",
                "patient": patient,
                "insurance": insurance,
                "practitioner": who or self.patel,
                "invoice_date": min(day, TODAY),
                "primary_diagnosis": diagnosis,
            },
            lines=[
                {
                    "product": Product.objects.get(practice=self.practice, name="Initial consultation"),
                    "service_date": day,
                    "quantity": 1,
                }
            ],
        )
        return billing.issue_invoice(invoice=invoice) if issue else invoice
