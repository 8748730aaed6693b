"""Helpers for remittance tests: a practice with an insured patient, products and a way to raise issued insurer invoices; and a
builder of remittance Bundles shaped like the clearing house's (see docs/sandbox.md)."""

from __future__ import annotations

import datetime as dt
import itertools
import json
from decimal import Decimal

from openpractice.practices.roles import Role

NS = "https://openpractice.org/fhir/healthcode"
EXT = f"{NS}/StructureDefinition"
TODAY = dt.date.today()


class World:
    def __init__(self, practice, make_member, insurer_contact, *, registration="10000001", last="Bennett"):
        from openpractice.patients import services as patients
        from openpractice.practices.models import Membership
        from openpractice.products import services as products

        self.practice = practice
        self.user = make_member(practice, Role.BILLING)
        doctor = make_member(practice, Role.PRACTITIONER)
        self.practitioner = Membership.objects.get(practice=practice, user=doctor)
        self.insurer = insurer_contact(practice, "bup")
        self.patient = patients.create_patient(
            practice=practice, data={"first_name": "Oliver", "last_name": last, "date_of_birth": dt.date(1980, 4, 12)}
        )
        self.insurance = patients.add_relationship(
            patient=self.patient,
            data={
                "relationship_type": "insurance",
                "related_contact": self.insurer,
                "related_patient": None,
                "registration_number": registration,
            },
        )
        self.products = {}
        for name, price in (("Consultation", "180.00"), ("Follow-up", "120.50"), ("Scan", "250.00")):
            self.products[name] = products.create_product(
                practice=practice,
                data={
                    "product_type": "appointment",
                    "name": name,
                    "procedure_type": "",
                    "duration_minutes": 30,
                    "list_price": Decimal(price),
                    "vat_treatment": "exempt",
                    "industry_standard_code": "",
                    "procedure_code": "",
                },
            )

    def invoice(self, *names: str, bill_to="insurer", issue=True, invoice_date=None):
        from openpractice.billing import services as billing

        names = names or ("Consultation",)
        day = invoice_date or TODAY
        header = {
            "bill_to": bill_to,
            "patient": self.patient,
            "insurance": self.insurance if bill_to == "insurer" else None,
            "practitioner": self.practitioner,
            "invoice_date": day,
        }
        invoice = billing.create_invoice(
            practice=self.practice,
            data=header,
            lines=[{"product": self.products[n], "service_date": day, "quantity": 1} for n in names],
        )
        return billing.issue_invoice(invoice=invoice) if issue else invoice


_ids = itertools.count(1)


def money(value) -> float | Decimal:
    return Decimal(str(value))


def bundle(bills: list[dict], *, remittance_id=None, insurer="bup", reference=None, payment_date=None) -> dict:
    """bills: [{"invoice": Invoice, "paid": [per line], "reason": "...", "bill_id": ...}]."""
    n = next(_ids)
    remittance_id = remittance_id or f"RMT{n:08d}"
    reference = reference or f"BACS-{insurer.upper()}-{n:06d}"
    date = (payment_date or TODAY).isoformat()
    details, responses, total = [], [], Decimal("0.00")
    for bill in bills:
        invoice = bill["invoice"]
        bill_id = bill.get("bill_id") or f"HCB{next(_ids):08d}"
        lines = list(invoice.lines.all())
        paid_each = bill.get("paid") or [line.net_amount for line in lines]
        invoiced = sum((line.net_amount for line in lines), Decimal("0.00"))
        paid = sum((Decimal(str(p)) for p in paid_each), Decimal("0.00"))
        total += paid
        items = []
        for line, line_paid in zip(lines, paid_each):
            line_paid = Decimal(str(line_paid))
            adjudication = [
                {
                    "category": {"coding": [{"code": "submitted"}]},
                    "amount": {"value": line.net_amount, "currency": "GBP"},
                },
                {"category": {"coding": [{"code": "benefit"}]}, "amount": {"value": line_paid, "currency": "GBP"}},
            ]
            if line_paid < line.net_amount:
                adjudication.append(
                    {
                        "category": {"coding": [{"code": "shortfall"}]},
                        "reason": {
                            "coding": [
                                {"code": bill.get("code") or ("rejected" if line_paid == 0 else "benefit-maximum")}
                            ],
                            "text": bill.get("reason", "Above the benefit maximum"),
                        },
                        "amount": {"value": line.net_amount - line_paid, "currency": "GBP"},
                    }
                )
            items.append({"itemSequence": line.sequence, "adjudication": adjudication})
        details.append(
            {
                "extension": [
                    {"url": f"{EXT}/amount-invoiced", "valueMoney": {"value": invoiced, "currency": "GBP"}},
                    {"url": f"{EXT}/shortfall", "valueMoney": {"value": invoiced - paid, "currency": "GBP"}},
                    {"url": f"{EXT}/patient-name", "valueString": bill.get("patient_name", "Oliver Bennett")},
                    {"url": f"{EXT}/membership-number", "valueString": bill.get("membership", "10000001")},
                ],
                "identifier": {"system": f"{NS}/sid/bill-id", "value": bill_id},
                "request": {
                    "identifier": {"system": f"{NS}/sid/invoice-number", "value": bill.get("number", invoice.number)}
                },
                "response": {"reference": f"ClaimResponse/{bill_id}"},
                "date": date,
                "amount": {"value": paid, "currency": "GBP"},
            }
        )
        responses.append({"resourceType": "ClaimResponse", "id": bill_id, "item": items})
    reconciliation = {
        "resourceType": "PaymentReconciliation",
        "id": remittance_id,
        "paymentIssuer": {"identifier": {"system": f"{NS}/sid/insurer-identifier", "value": insurer}},
        "paymentDate": date,
        "paymentAmount": {"value": total, "currency": "GBP"},
        "paymentIdentifier": {"system": f"{NS}/sid/payment-reference", "value": reference},
        "detail": details,
    }
    return {
        "resourceType": "Bundle",
        "id": remittance_id,
        "type": "collection",
        "entry": [{"resource": r} for r in [reconciliation, *responses]],
    }


def dumps(body: dict) -> str:
    return json.dumps(body, default=lambda v: float(v) if isinstance(v, Decimal) else str(v))


def receive(practice, body: dict, user=None):
    """Store and post a Bundle the way the fetch does."""
    from openpractice.remittances import services

    batch, _ = services.store_batch(
        practice=practice, source="clearing_house", external_id=body["id"], raw_payload=dumps(body)
    )
    return services.post_batch(batch_id=batch.pk, user=user)


def receive_paid_part_rejected(world):
    """Three of the world's invoices remitted in one batch: (batch, paid in full, part-paid with a
    shortfall on its first line, rejected)."""
    paid, part, rejected = world.invoice(), world.invoice("Consultation", "Follow-up"), world.invoice("Scan")
    batch = receive(
        world.practice,
        bundle(
            [
                {"invoice": paid},
                {"invoice": part, "paid": ["150.00", "120.50"], "reason": "Consultation above the benefit maximum"},
                {"invoice": rejected, "paid": ["0"], "reason": "Not covered by the policy"},
            ]
        ),
    )
    return batch, paid, part, rejected


def collected_invoice(practice, last_name="Bennett", product="Initial consultation"):
    """An insurer invoice for a demo patient, checked, submitted and delivered to the sandbox."""
    from openpractice.billing import services
    from openpractice.healthcode import submission as hc
    from openpractice.healthcode.services import check_membership
    from openpractice.patients.models import Patient
    from openpractice.practices.models import Membership
    from openpractice.products.models import Product

    patient = Patient.objects.get(practice=practice, last_name=last_name)
    insurance = next(r for r in patient.relationships.all() if r.relationship_type == "insurance")
    membership = Membership.objects.get(practice=practice, user__email__startswith="dr.patel")
    day = dt.date.today()
    invoice = services.create_invoice(
        practice=practice,
        data={
            "bill_to": "insurer",
            "patient": patient,
            "insurance": insurance,
            "practitioner": membership,
            "invoice_date": day,
            "primary_diagnosis": "M17.1",
        },
        lines=[{"product": Product.objects.get(practice=practice, name=product), "service_date": day, "quantity": 1}],
    )
    check_membership(relationship=insurance, active_on=day)
    submission = hc.submit_invoice(invoice=invoice, enqueue=False)
    assert hc.deliver(submission.pk) == "accepted", submission.last_error
    return invoice


MAPPING = {"invoice_number": "Invoice", "amount_paid": "Paid", "amount_invoiced": "Invoiced", "bill_id": "Bill"}


def as_csv(body: dict, *, bill_ids=True, newline="\n", encoding="utf-8") -> bytes:
    """The same remittance as an insurer's CSV export."""
    reconciliation = body["entry"][0]["resource"]
    ext = "https://openpractice.org/fhir/healthcode/StructureDefinition/amount-invoiced"
    header = ["Invoice", "Paid", "Invoiced"] + (["Bill"] if bill_ids else [])
    rows = [",".join(header)]
    for detail in reconciliation["detail"]:
        invoiced = next(e["valueMoney"]["value"] for e in detail["extension"] if e["url"] == ext)
        row = [
            detail["request"]["identifier"]["value"],
            f"{Decimal(str(detail['amount']['value'])):.2f}",
            f"{Decimal(str(invoiced)):.2f}",
        ] + ([detail["identifier"]["value"]] if bill_ids else [])
        rows.append(",".join(row))
    return (newline.join(rows) + newline).encode(encoding)


def csv_options(body: dict, *, bill_ids=True) -> dict:
    reconciliation = body["entry"][0]["resource"]
    mapping = MAPPING if bill_ids else {k: v for k, v in MAPPING.items() if k != "bill_id"}
    return {
        "kind": "csv",
        "mapping": mapping,
        "insurer_identifier": "bup",
        "payment_reference": reconciliation["paymentIdentifier"]["value"],
        "payment_date": dt.date.fromisoformat(reconciliation["paymentDate"]),
    }
