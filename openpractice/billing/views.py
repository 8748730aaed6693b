"""Invoice pages: the list with its filters, create/edit, detail, PDF, email, payments, credit
notes. Thin. Healthcode's parts of these pages (the check, submission, the bulk and not-ready
views) are the healthcode app's, placed by its template tags: nothing here knows Healthcode."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from openpractice.billing import selectors, services
from openpractice.billing.errors import BillingError
from openpractice.billing.forms import (
    CreditNoteForm,
    EmailForm,
    InvoiceForm,
    LineFormSet,
    NumberingForm,
    PaymentForm,
    VoidForm,
    invoice_filters,
    optional_int,
)
from openpractice.billing.models import BillTo, HealthcodeStatus, Invoice
from openpractice.billing.pdf import invoice_pdf as render_pdf
from openpractice.contacts.selectors import insurer_contacts
from openpractice.patients.errors import PatientError
from openpractice.patients.models import Patient
from openpractice.patients.selectors import search_patients
from openpractice.patients.services import update_relationship
from openpractice.practices.models import Membership
from openpractice.practices.permissions import require_capability
from openpractice.practices.roles import Capability
from openpractice.practices.tenancy import get_for_practice_or_404

PAGE_SIZE = 50


def _can_bill(request) -> bool:
    return bool(request.membership and request.membership.can(Capability.BILLING))


# -- list -------------------------------------------------------------------------------------
@require_capability(Capability.VIEW_RECORDS)
def invoice_list(request):
    practice = request.practice
    view = request.GET.get("view", "")
    filters = invoice_filters(request.GET)
    rows: list[Invoice] = []
    count = 0
    if view != "not_ready":  # the "Not ready to submit" view is Healthcode's ({% invoices_not_ready %})
        found = selectors.search_invoices(practice=practice, **filters)
        rows = list(found[:PAGE_SIZE])
        count = found.count() if len(rows) >= PAGE_SIZE else len(rows)  # all that match, not one page
    return render(
        request,
        "billing/list.html",
        {
            "rows": rows,
            "count": count,
            "page_full": len(rows) >= PAGE_SIZE,
            "view": view,
            "filters": filters,
            "statuses": HealthcodeStatus.choices,
            "insurers": insurer_contacts(practice=practice),
            "practitioners": Membership.objects.for_practice(practice)
            .filter(practitioner_profile__isnull=False)
            .select_related("user"),
            "ages": list(selectors.AGE_BUCKETS),
            "can_bill": _can_bill(request),
        },
    )


@require_capability(Capability.VIEW_RECORDS)
def patient_invoices(request, patient_id: int):
    patient = get_for_practice_or_404(Patient, request.practice, pk=patient_id)
    return render(
        request,
        "billing/patient_invoices.html",
        {
            "patient": patient,
            "invoices": selectors.invoices_of_patient(patient=patient),
            "can_bill": _can_bill(request),
        },
    )


# -- create / edit ----------------------------------------------------------------------------
def _line_initial(invoice: Invoice | None):
    if invoice is None:
        return [{"service_date": timezone.localdate(), "quantity": 1}]
    return [
        {"product": line.product_id, "service_date": line.service_date, "quantity": line.quantity}
        for line in invoice.lines.all()
    ]


def _invoice_initial(invoice: Invoice | None, patient: Patient, user) -> dict:
    if invoice is None:
        insurance = patient.relationships.filter(relationship_type="insurance").first()
        own = Membership.objects.for_practice(patient.practice).filter(user=user).first()
        return {
            "bill_to": BillTo.INSURER if insurance else BillTo.PATIENT,
            "insurance": insurance,
            "invoice_date": timezone.localdate(),
            "service_setting": "consulting_room",
            "payee_kind": "practitioner",
            "practitioner": own if own and hasattr(own, "practitioner_profile") else None,
        }
    initial = {f: getattr(invoice, f) for f in services.HEADER_FIELDS if f not in ("patient", "other_diagnoses")}
    others = list(invoice.other_diagnoses or [])
    initial.update(
        other_diagnosis_1=others[0] if others else "", other_diagnosis_2=others[1] if len(others) > 1 else ""
    )
    return initial


@require_capability(Capability.BILLING)
def invoice_new(request):
    patient_id = optional_int(request.GET.get("patient") or request.POST.get("patient"))
    if not patient_id:
        query = request.GET.get("q", "")[:100]
        page = search_patients(practice=request.practice, query=query) if query else None
        return render(request, "billing/choose_patient.html", {"query": query, "page": page})
    patient = get_for_practice_or_404(Patient, request.practice, pk=patient_id)
    return _invoice_form(request, patient=patient, invoice=None)


@require_capability(Capability.BILLING)
def invoice_edit(request, invoice_id: int):
    invoice = selectors.invoice_with_rows(practice=request.practice, invoice_id=invoice_id)
    if not invoice.is_editable:
        messages.error(request, "This invoice can no longer be changed: it is with Healthcode or void.")
        return redirect("billing:detail", invoice.pk)
    return _invoice_form(request, patient=invoice.patient, invoice=invoice)


def _invoice_form(request, *, patient, invoice):
    practice = request.practice
    bound = request.method == "POST"
    form = InvoiceForm(
        request.POST if bound else None,
        practice=practice,
        patient=patient,
        initial=_invoice_initial(invoice, patient, request.user),
    )
    rows = int(request.POST.get("lines-TOTAL_FORMS", 0) or 0) if bound else 0
    lines = LineFormSet(
        request.POST if bound else None,
        prefix="lines",
        initial=None if bound else _line_initial(invoice) + [{"quantity": 1}] * 2,
        form_kwargs={"practice": practice},
    )
    status = 200
    if bound and "add_line" in request.POST:
        data = request.POST.copy()
        data["lines-TOTAL_FORMS"] = str(rows + 1)
        form = InvoiceForm(data, practice=practice, patient=patient)
        lines = LineFormSet(data, prefix="lines", form_kwargs={"practice": practice})
        return render(
            request,
            "billing/form.html",
            {"form": form, "lines": lines, "patient": patient, "invoice": invoice, "adding_line": True},
        )
    if bound:
        if form.is_valid() and lines.is_valid():
            try:
                header = {**form.header(), "patient": patient}
                if invoice is None:
                    invoice = services.create_invoice(
                        practice=practice, data=header, lines=lines.lines(), created_by=request.user
                    )
                    messages.success(
                        request, "Invoice saved as a draft. Check it, then issue it or submit it to Healthcode."
                    )
                else:
                    invoice = services.update_invoice(invoice=invoice, data=header, lines=lines.lines())
                    messages.success(request, "Invoice saved.")
                return redirect("billing:detail", invoice.pk)
            except BillingError as exc:
                _form_error(form, lines, exc)
        status = 422
    return render(
        request,
        "billing/form.html",
        {"form": form, "lines": lines, "patient": patient, "invoice": invoice},
        status=status,
    )


def _form_error(form, lines, exc: BillingError) -> None:
    field = exc.field or ""
    if field.startswith("lines"):
        lines._non_form_errors = lines.error_class([exc.message])
    elif field in form.fields:
        form.add_error(field, exc.message)
    elif field == "other_diagnoses":
        form.add_error("other_diagnosis_1", exc.message)
    else:
        form.add_error(None, exc.message)


# -- detail -----------------------------------------------------------------------------------
@require_capability(Capability.VIEW_RECORDS)
def invoice_detail(request, invoice_id: int):
    invoice = selectors.invoice_with_rows(practice=request.practice, invoice_id=invoice_id)
    return render(
        request,
        "billing/detail.html",
        {
            "invoice": invoice,
            "can_bill": _can_bill(request),
            "payment_form": PaymentForm(initial={"received_on": timezone.localdate(), "amount": invoice.balance}),
            "credit_form": CreditNoteForm(),
            "void_form": VoidForm(),
            "email_form": EmailForm(
                initial={
                    "to": invoice.patient.email
                    if invoice.bill_to == BillTo.PATIENT
                    else (invoice.insurer_contact.email if invoice.insurer_contact else "")
                }
            ),
        },
    )


@require_GET
@require_capability(Capability.VIEW_RECORDS)
def invoice_pdf(request, invoice_id: int):
    invoice = selectors.invoice_with_rows(practice=request.practice, invoice_id=invoice_id)
    response = HttpResponse(render_pdf(invoice=invoice), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="invoice-{invoice.display_number}.pdf"'
    return response


# -- actions ----------------------------------------------------------------------------------
def _action(request, invoice_id: int, do, success: str):
    invoice = get_for_practice_or_404(Invoice, request.practice, pk=invoice_id)
    try:
        result = do(invoice)
    except BillingError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, success.format(invoice=invoice, result=result))
    return redirect("billing:detail", invoice_id)


@require_POST
@require_capability(Capability.BILLING)
def fix_registration(request, invoice_id: int):
    """Correct the patient's registration number from the invoice's check (the patient's record is
    what changes: every invoice to this insurer uses it)."""
    invoice = get_for_practice_or_404(Invoice, request.practice, pk=invoice_id)
    if invoice.insurance_id is None:
        messages.error(request, "This invoice is not to an insurer.")
        return redirect("billing:detail", invoice_id)
    try:
        update_relationship(
            relationship=invoice.insurance, data={"registration_number": request.POST.get("registration_number", "")}
        )
    except PatientError as exc:
        messages.error(request, f"Registration number not saved: {exc.message}")
    else:
        messages.success(request, "Registration number saved on the patient's insurance.")
    return redirect("billing:detail", invoice_id)


@require_POST
@require_capability(Capability.BILLING)
def invoice_issue(request, invoice_id: int):
    return _action(
        request, invoice_id, lambda i: services.issue_invoice(invoice=i), "Invoice issued as {result.number}."
    )


@require_POST
@require_capability(Capability.BILLING)
def invoice_void(request, invoice_id: int):
    form = VoidForm(request.POST)
    reason = form.data.get("reason", "")
    return _action(request, invoice_id, lambda i: services.void_invoice(invoice=i, reason=reason), "Invoice voided.")


@require_POST
@require_capability(Capability.BILLING)
def invoice_payment(request, invoice_id: int):
    get_for_practice_or_404(Invoice, request.practice, pk=invoice_id)  # another practice's: 404 first
    form = PaymentForm(request.POST)
    if not form.is_valid():
        messages.error(
            request,
            "Payment not recorded: "
            + "; ".join(f"{form.fields[f].label}: {' '.join(str(m) for m in e)}" for f, e in form.errors.items()),
        )
        return redirect("billing:detail", invoice_id)
    data = form.cleaned_data
    return _action(
        request,
        invoice_id,
        lambda i: services.record_payment(
            invoice=i,
            amount=data["amount"],
            received_on=data["received_on"],
            method=data["method"],
            reference=data["reference"],
            recorded_by=request.user,
        ),
        "Payment of £{result.amount} recorded.",
    )


@require_POST
@require_capability(Capability.BILLING)
def invoice_credit(request, invoice_id: int):
    get_for_practice_or_404(Invoice, request.practice, pk=invoice_id)  # another practice's: 404 first
    form = CreditNoteForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Credit note not issued: enter the amount and the reason.")
        return redirect("billing:detail", invoice_id)
    data = form.cleaned_data
    return _action(
        request,
        invoice_id,
        lambda i: services.create_credit_note(
            invoice=i, amount=data["amount"], reason=data["reason"], created_by=request.user
        ),
        "Credit note {result.number} issued.",
    )


@require_POST
@require_capability(Capability.BILLING)
def invoice_email(request, invoice_id: int):
    to = request.POST.get("to", "")
    return _action(
        request,
        invoice_id,
        lambda i: services.email_invoice(invoice=i, to=to, sent_by=request.user),
        "Invoice emailed to " + to[:100] + ".",
    )


# -- settings ---------------------------------------------------------------------------------
@require_capability(Capability.MANAGE_SETTINGS)
def numbering_settings(request):
    sequences = selectors.number_sequences(practice=request.practice)
    current = {f"{row['kind']}_prefix": row["prefix"] for row in sequences}
    form = NumberingForm(request.POST or None, initial=current)
    if request.method == "POST" and form.is_valid():
        try:
            services.set_number_prefixes(practice=request.practice, **form.cleaned_data)
        except BillingError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(
                request,
                "Numbering saved. The next invoice will be "
                f"{selectors.number_sequences(practice=request.practice)[0]['next_number']}.",
            )
            return redirect("billing:numbering")
    return render(
        request,
        "billing/settings_numbering.html",
        {
            "form": form,
            "sequences": sequences,
            "settings_tab": "billing",
            "max_length": services.MAX_NUMBER_LENGTH,
        },
    )
