"""/api/v1/invoices: invoices and their payments. The same services, rules and permissions as the
pages (writes need the billing capability). The check and submission to Healthcode, under the same
paths, are the healthcode app's (healthcode/api.py)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from ninja import Router, Schema, Status
from pydantic import Field

from openpractice.billing import selectors, services
from openpractice.billing.errors import BillingError
from openpractice.billing.models import (
    BillTo,
    HealthcodeStatus,
    Invoice,
    PaymentMethod,
    PaymentOutcome,
    ProviderKind,
    RecordStatus,
    ServiceSetting,
)
from openpractice.pagination import limit_param, offset_param, page_of
from openpractice.patients.models import Patient, PatientRelationship
from openpractice.practices.api_auth import auth_for
from openpractice.practices.models import Location, Membership
from openpractice.practices.roles import Capability
from openpractice.products.models import Product

router = Router(tags=["invoices"])


class LineOut(Schema):
    sequence: int
    product_id: int
    description: str
    service_date: date
    quantity: int
    unit_price: Decimal
    price_source: str = Field(description="contract (the insurer's price on the date of service) or list")
    net_amount: Decimal
    vat_amount: Decimal
    industry_standard_code: str
    procedure_code: str


class InvoiceOut(Schema):
    id: int
    number: str
    bill_to: BillTo
    patient_id: int
    insurance_id: int | None
    insurer_contact_id: int | None
    practitioner_id: int
    location_id: int | None
    invoice_date: date
    due_date: date | None
    record_status: RecordStatus
    healthcode_status: HealthcodeStatus
    payment_outcome: PaymentOutcome
    version: int
    service_setting: ServiceSetting
    admission_date: date | None
    discharge_date: date | None
    primary_diagnosis: str
    other_diagnoses: list[str]
    authorisation_code: str
    payee_kind: ProviderKind
    payee_location_id: int | None
    controlling_specialist_id: int | None
    facility_id: int | None
    net_total: Decimal
    vat_total: Decimal
    total: Decimal
    paid_total: Decimal
    credited_total: Decimal
    balance: Decimal
    lines: list[LineOut]

    @staticmethod
    def resolve_lines(obj):
        return list(obj.lines.all())


class LineIn(Schema):
    product_id: int
    service_date: date
    quantity: int = Field(1, ge=1, le=999)


class InvoiceIn(Schema):
    bill_to: BillTo = BillTo.INSURER
    patient_id: int
    insurance_id: int | None = Field(None, description="The patient's insurance relationship (bill_to insurer)")
    practitioner_id: int = Field(..., description="The treating practitioner's membership id")
    location_id: int | None = None
    invoice_date: date
    due_date: date | None = None
    service_setting: ServiceSetting = ServiceSetting.CONSULTING_ROOM
    admission_date: date | None = None
    discharge_date: date | None = None
    primary_diagnosis: str = Field("", max_length=16, description="ICD-10, e.g. M17.1")
    other_diagnoses: list[str] = Field(default_factory=list, max_length=10)
    authorisation_code: str = Field("", max_length=30)
    payee_kind: ProviderKind = ProviderKind.PRACTITIONER
    payee_location_id: int | None = None
    controlling_specialist_id: int | None = None
    facility_id: int | None = None
    notes: str = Field("", max_length=2000)
    lines: list[LineIn] = Field(..., min_length=1, max_length=50)


class PaymentIn(Schema):
    amount: Decimal = Field(..., gt=0, max_digits=12, decimal_places=2)
    received_on: date
    method: PaymentMethod = PaymentMethod.BACS
    reference: str = Field("", max_length=60)


def _ref(model, practice, pk, field: str, what: str):
    if pk is None:
        return None
    found = model.objects.filter(practice=practice, pk=pk).first()
    if found is None:
        raise BillingError(f"No {what} {pk} in this practice.", field=field)
    return found


def _data(practice, body: InvoiceIn) -> tuple[dict, list[dict]]:
    data = {
        "bill_to": body.bill_to,
        "patient": _ref(Patient, practice, body.patient_id, "patient_id", "patient"),
        "insurance": _ref(PatientRelationship, practice, body.insurance_id, "insurance_id", "relationship"),
        "practitioner": _ref(Membership, practice, body.practitioner_id, "practitioner_id", "member"),
        "location": _ref(Location, practice, body.location_id, "location_id", "location"),
        "invoice_date": body.invoice_date,
        "due_date": body.due_date,
        "notes": body.notes,
        "service_setting": body.service_setting,
        "admission_date": body.admission_date,
        "discharge_date": body.discharge_date,
        "primary_diagnosis": body.primary_diagnosis,
        "other_diagnoses": body.other_diagnoses,
        "authorisation_code": body.authorisation_code,
        "provider_kind": ProviderKind.PRACTITIONER,
        "provider_location": None,
        "payee_kind": body.payee_kind,
        "payee_location": _ref(Location, practice, body.payee_location_id, "payee_location_id", "location"),
        "controlling_specialist": _ref(
            Membership, practice, body.controlling_specialist_id, "controlling_specialist_id", "member"
        ),
        "facility": _ref(Location, practice, body.facility_id, "facility_id", "location"),
    }
    lines = [
        {
            "product": _ref(Product, practice, line.product_id, f"lines[{n}].product_id", "product"),
            "service_date": line.service_date,
            "quantity": line.quantity,
        }
        for n, line in enumerate(body.lines, start=1)
    ]
    return data, lines


def _invoice(request, invoice_id: int) -> Invoice:
    return selectors.invoice_with_rows(practice=request.practice, invoice_id=invoice_id)


@router.get("/invoices", response=list[InvoiceOut], auth=auth_for(Capability.VIEW_RECORDS))
def list_invoices(
    request,
    healthcode_status: str = "",
    insurer_id: int | None = None,
    practitioner_id: int | None = None,
    age: str = "",
    limit: int = limit_param(100, 500),
    offset: int = offset_param(),
):
    qs = selectors.search_invoices(
        practice=request.practice,
        healthcode_status=healthcode_status,
        insurer_id=insurer_id,
        practitioner_id=practitioner_id,
        age=age,
    )
    return list(page_of(qs.prefetch_related("lines"), limit=limit, offset=offset, maximum=500))


@router.post("/invoices", response={201: InvoiceOut}, auth=auth_for(Capability.BILLING))
def create_invoice(request, body: InvoiceIn):
    data, lines = _data(request.practice, body)
    invoice = services.create_invoice(practice=request.practice, data=data, lines=lines, created_by=request.user)
    return Status(201, _invoice(request, invoice.pk))


@router.get("/invoices/{invoice_id}", response=InvoiceOut, auth=auth_for(Capability.VIEW_RECORDS))
def get_invoice(request, invoice_id: int):
    return _invoice(request, invoice_id)


@router.put("/invoices/{invoice_id}", response=InvoiceOut, auth=auth_for(Capability.BILLING))
def update_invoice(request, invoice_id: int, body: InvoiceIn):
    invoice = _invoice(request, invoice_id)
    data, lines = _data(request.practice, body)
    if data["patient"].pk != invoice.patient_id:
        raise BillingError("An invoice's patient cannot change: raise a new invoice.", field="patient_id")
    services.update_invoice(invoice=invoice, data=data, lines=lines)
    return _invoice(request, invoice_id)


@router.post("/invoices/{invoice_id}/issue", response=InvoiceOut, auth=auth_for(Capability.BILLING))
def issue_invoice(request, invoice_id: int):
    services.issue_invoice(invoice=_invoice(request, invoice_id))
    return _invoice(request, invoice_id)


@router.post("/invoices/{invoice_id}/payments", response={201: InvoiceOut}, auth=auth_for(Capability.BILLING))
def record_payment(request, invoice_id: int, body: PaymentIn):
    services.record_payment(
        invoice=_invoice(request, invoice_id),
        amount=body.amount,
        received_on=body.received_on,
        method=body.method,
        reference=body.reference,
        recorded_by=request.user,
    )
    return Status(201, _invoice(request, invoice_id))
