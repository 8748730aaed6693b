"""Invoice pages: the list (filters, not-ready view, bulk submit), create/edit, detail with the
pre-submission check and Healthcode actions, PDF, email, payments, credit notes. Thin."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
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
)
from openpractice.billing.models import BillTo, HealthcodeStatus, Invoice, RecordStatus
from openpractice.contacts.selectors import insurer_contacts
from openpractice.healthcode import submission as hc
from openpractice.healthcode.checking import check_invoice, check_invoices
from openpractice.healthcode.errors import HealthcodeSetupError, SubmissionError
from openpractice.healthcode.models import BulkSubmission, SubmissionState
from openpractice.patients.models import Patient
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
    filters = _filters_from(request.GET)
    matching = 0
    if view == "not_ready":
        candidates = selectors.submittable_candidates(practice=practice)
        results = check_invoices(practice=practice, queryset=candidates)
        rows = [(invoice, results[invoice.pk]) for invoice in candidates[:500] if not results[invoice.pk].passed]
        page_rows = rows[:PAGE_SIZE * 4]
    else:
        qs = selectors.search_invoices(practice=practice, **filters)
        page_rows = [(invoice, None) for invoice in qs[:PAGE_SIZE]]
        rows = page_rows
        if _can_bill(request) and len(page_rows) >= PAGE_SIZE:
            matching = selectors.submittable_matching(practice=practice, **filters).count()
    return render(request, "billing/list.html", {
        "rows": page_rows, "count": len(rows), "view": view, "filters": filters,
        "statuses": HealthcodeStatus.choices, "insurers": insurer_contacts(practice=practice),
        "practitioners": Membership.objects.for_practice(practice).filter(practitioner_profile__isnull=False)
        .select_related("user"),
        "ages": list(selectors.AGE_BUCKETS), "can_bill": _can_bill(request), "matching": matching,
    })


def _int(value):
    try:
        return int(value) if value else None
    except (TypeError, ValueError):
        return None


@require_capability(Capability.VIEW_RECORDS)
def patient_invoices(request, patient_id: int):
    patient = get_for_practice_or_404(Patient, request.practice, pk=patient_id)
    return render(request, "billing/patient_invoices.html", {
        "patient": patient, "invoices": selectors.invoices_of_patient(patient=patient), "can_bill": _can_bill(request),
    })


# -- create / edit ----------------------------------------------------------------------------
def _line_initial(invoice: Invoice | None):
    if invoice is None:
        return [{"service_date": timezone.localdate(), "quantity": 1}]
    return [{"product": line.product_id, "service_date": line.service_date, "quantity": line.quantity}
            for line in invoice.lines.all()]


def _invoice_initial(invoice: Invoice | None, patient: Patient, user) -> dict:
    if invoice is None:
        insurance = patient.relationships.filter(relationship_type="insurance").first()
        own = Membership.objects.for_practice(patient.practice).filter(user=user).first()
        return {"bill_to": BillTo.INSURER if insurance else BillTo.PATIENT, "insurance": insurance,
                "invoice_date": timezone.localdate(), "service_setting": "consulting_room",
                "payee_kind": "practitioner",
                "practitioner": own if own and hasattr(own, "practitioner_profile") else None}
    initial = {f: getattr(invoice, f) for f in services.HEADER_FIELDS if f not in ("patient", "other_diagnoses")}
    others = list(invoice.other_diagnoses or [])
    initial.update(other_diagnosis_1=others[0] if others else "", other_diagnosis_2=others[1] if len(others) > 1 else "")
    return initial


@require_capability(Capability.BILLING)
def invoice_new(request):
    patient_id = _int(request.GET.get("patient") or request.POST.get("patient"))
    if not patient_id:
        from openpractice.patients.selectors import search_patients

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
    form = InvoiceForm(request.POST if bound else None, practice=practice, patient=patient,
                       initial=_invoice_initial(invoice, patient, request.user))
    rows = int(request.POST.get("lines-TOTAL_FORMS", 0) or 0) if bound else 0
    lines = LineFormSet(request.POST if bound else None, prefix="lines", initial=None if bound else
                        _line_initial(invoice) + [{"quantity": 1}] * 2,
                        form_kwargs={"practice": practice})
    status = 200
    if bound and "add_line" in request.POST:
        data = request.POST.copy()
        data["lines-TOTAL_FORMS"] = str(rows + 1)
        form = InvoiceForm(data, practice=practice, patient=patient)
        lines = LineFormSet(data, prefix="lines", form_kwargs={"practice": practice})
        return render(request, "billing/form.html", {"form": form, "lines": lines, "patient": patient,
                                                     "invoice": invoice, "adding_line": True})
    if bound:
        if form.is_valid() and lines.is_valid():
            try:
                header = {**form.header(), "patient": patient}
                if invoice is None:
                    invoice = services.create_invoice(practice=practice, data=header, lines=lines.lines(),
                                                      created_by=request.user)
                    messages.success(request, "Invoice saved as a draft. Check it, then issue it or submit it to Healthcode.")
                else:
                    invoice = services.update_invoice(invoice=invoice, data=header, lines=lines.lines())
                    messages.success(request, "Invoice saved.")
                return redirect("billing:detail", invoice.pk)
            except BillingError as exc:
                _form_error(form, lines, exc)
        status = 422
    return render(request, "billing/form.html", {"form": form, "lines": lines, "patient": patient, "invoice": invoice},
                  status=status)


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
FIX_LINKS = {
    "invoice": lambda i: reverse("billing:edit", args=[i.pk]),
    "patient": lambda i: reverse("patients:edit", args=[i.patient_id]) + "#relationships",
    "practitioner": lambda i: reverse("practices:practitioner_profile", args=[i.practitioner_id]),
    "product": lambda i: reverse("products:list"),
    "location": lambda i: reverse("practices:location_list"),
    "insurer": lambda i: reverse("billing:edit", args=[i.pk]) if not i.insurer_contact_id else reverse(
        "contacts:edit", args=[i.insurer_contact_id]),
    "coding": lambda i: reverse("coding:settings"),
}
FIX_LABELS = {"invoice": "Edit invoice", "patient": "Edit patient", "practitioner": "Edit practitioner",
              "product": "Products", "location": "Locations", "insurer": "Edit insurer", "coding": "Code sets"}


def _problem_rows(invoice, problems):
    rows = []
    for p in problems:
        link = FIX_LINKS.get(p.fix, FIX_LINKS["invoice"])(invoice)
        if p.fix == "product" and p.line:
            line = next((line for line in invoice.lines.all() if line.sequence == p.line), None)
            if line is not None:
                link = reverse("products:edit", args=[line.product_id])
        rows.append({"problem": p, "link": link, "link_label": FIX_LABELS.get(p.fix, "Fix")})
    return rows


def _ensure_membership_answer(request, invoice) -> None:
    """Ask Find Member once for these details, so the check can use the insurer's answer."""
    from openpractice.healthcode.membership import fingerprint_for
    from openpractice.healthcode.models import MembershipCheck
    from openpractice.healthcode.services import check_membership, is_configured

    if (not invoice.insurance_id or not invoice.is_editable or not is_configured(practice=request.practice)
            or invoice.healthcode_status not in hc.RESUBMITTABLE):
        return
    insurer = invoice.insurer_contact.insurer if invoice.insurer_contact else None
    from openpractice.healthcode.checking import DatabaseKnowledge

    if insurer is None or DatabaseKnowledge(request.practice).insurer(insurer.healthcode_identifier).member_check != "database":
        return
    day = invoice.first_date_of_service or timezone.localdate()
    if MembershipCheck.objects.filter(relationship=invoice.insurance,
                                      fingerprint=fingerprint_for(invoice.insurance, day)).exists():
        return
    try:
        check_membership(relationship=invoice.insurance, active_on=day)
    except (SubmissionError, HealthcodeSetupError) as exc:
        messages.warning(request, f"Membership not checked: {exc.message}")


@require_capability(Capability.VIEW_RECORDS)
def invoice_detail(request, invoice_id: int):
    invoice = selectors.invoice_with_rows(practice=request.practice, invoice_id=invoice_id)
    check = None
    if invoice.is_insurer_bill and invoice.record_status != RecordStatus.VOID:
        _ensure_membership_answer(request, invoice)
        check = check_invoice(invoice=invoice)
    submissions = list(invoice.submissions.prefetch_related("events").order_by("-version"))
    current = submissions[0] if submissions else None
    from openpractice.healthcode.services import is_configured

    return render(request, "billing/detail.html", {
        "invoice": invoice, "check": check, "problem_rows": _problem_rows(invoice, check.problems) if check else [],
        "submissions": submissions, "current": current, "can_bill": _can_bill(request),
        "healthcode_ready": is_configured(practice=request.practice),
        "can_submit": bool(check and check.passed and invoice.healthcode_status in hc.RESUBMITTABLE),
        "can_cancel": bool(current and current.bill_id and current.healthcode_status in hc.CANCELLABLE),
        "resubmittable": invoice.healthcode_status in hc.RESUBMITTABLE,
        "registration_problem": bool(check and any(p.field == "RegistrationNo" and p.blocks for p in check.problems))
        or bool(current and any(e.get("field") == "RegistrationNo" for e in current.errors or [])),
        "payment_form": PaymentForm(initial={"received_on": timezone.localdate(), "amount": invoice.balance}),
        "credit_form": CreditNoteForm(), "void_form": VoidForm(),
        "email_form": EmailForm(initial={"to": invoice.patient.email if invoice.bill_to == BillTo.PATIENT
                                         else (invoice.insurer_contact.email if invoice.insurer_contact else "")}),
    })


@require_GET
@require_capability(Capability.VIEW_RECORDS)
def invoice_pdf(request, invoice_id: int):
    from openpractice.billing.pdf import invoice_pdf as render_pdf

    invoice = selectors.invoice_with_rows(practice=request.practice, invoice_id=invoice_id)
    response = HttpResponse(render_pdf(invoice=invoice), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="invoice-{invoice.display_number}.pdf"'
    return response


# -- actions ----------------------------------------------------------------------------------
def _action(request, invoice_id: int, do, success: str):
    invoice = get_for_practice_or_404(Invoice, request.practice, pk=invoice_id)
    try:
        result = do(invoice)
    except (BillingError, SubmissionError, HealthcodeSetupError) as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, success.format(invoice=invoice, result=result))
    return redirect("billing:detail", invoice_id)


@require_POST
@require_capability(Capability.BILLING)
def fix_registration(request, invoice_id: int):
    """Correct the patient's registration number from the invoice's check (the patient's record is
    what changes: every invoice to this insurer uses it)."""
    from openpractice.patients.errors import PatientError
    from openpractice.patients.services import update_relationship

    invoice = get_for_practice_or_404(Invoice, request.practice, pk=invoice_id)
    if invoice.insurance_id is None:
        messages.error(request, "This invoice is not to an insurer.")
        return redirect("billing:detail", invoice_id)
    try:
        update_relationship(relationship=invoice.insurance,
                            data={"registration_number": request.POST.get("registration_number", "")})
    except PatientError as exc:
        messages.error(request, f"Registration number not saved: {exc.message}")
    else:
        messages.success(request, "Registration number saved on the patient's insurance.")
    return redirect("billing:detail", invoice_id)


@require_POST
@require_capability(Capability.BILLING)
def invoice_issue(request, invoice_id: int):
    return _action(request, invoice_id, lambda i: services.issue_invoice(invoice=i), "Invoice issued as {result.number}.")


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
        messages.error(request, "Payment not recorded: " + "; ".join(
            f"{form.fields[f].label}: {' '.join(e)}" for f, e in form.errors.items()))
        return redirect("billing:detail", invoice_id)
    data = form.cleaned_data
    return _action(request, invoice_id, lambda i: services.record_payment(
        invoice=i, amount=data["amount"], received_on=data["received_on"], method=data["method"],
        reference=data["reference"], recorded_by=request.user), "Payment of £{result.amount} recorded.")


@require_POST
@require_capability(Capability.BILLING)
def invoice_credit(request, invoice_id: int):
    get_for_practice_or_404(Invoice, request.practice, pk=invoice_id)  # another practice's: 404 first
    form = CreditNoteForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Credit note not issued: enter the amount and the reason.")
        return redirect("billing:detail", invoice_id)
    data = form.cleaned_data
    return _action(request, invoice_id, lambda i: services.create_credit_note(
        invoice=i, amount=data["amount"], reason=data["reason"], created_by=request.user),
        "Credit note {result.number} issued.")


@require_POST
@require_capability(Capability.BILLING)
def invoice_email(request, invoice_id: int):
    to = request.POST.get("to", "")
    return _action(request, invoice_id, lambda i: services.email_invoice(invoice=i, to=to, sent_by=request.user),
                   "Invoice emailed to " + to[:100] + ".")


@require_POST
@require_capability(Capability.BILLING)
def invoice_submit(request, invoice_id: int):
    return _action(request, invoice_id, lambda i: hc.submit_invoice(invoice=i, user=request.user),
                   "Submitted to Healthcode (version {result.version}): the status updates here as Healthcode "
                   "answers.")


@require_POST
@require_capability(Capability.VIEW_RECORDS)
def invoice_refresh(request, invoice_id: int):
    return _action(request, invoice_id, lambda i: hc.refresh_invoice(invoice=i, actor=request.user),
                   "Status refreshed from Healthcode.")


@require_POST
@require_capability(Capability.BILLING)
def invoice_cancel(request, invoice_id: int):
    return _action(request, invoice_id, lambda i: hc.cancel_bill(invoice=i, actor=request.user),
                   "Bill cancelled at Healthcode.")


@require_GET
@require_capability(Capability.VIEW_RECORDS)
def invoice_status_fragment(request, invoice_id: int):
    """The Healthcode status badge, polled by htmx while a bill is on its way."""
    invoice = get_for_practice_or_404(Invoice, request.practice, pk=invoice_id)
    return render(request, "billing/_hc_status.html", {"invoice": invoice})


# -- bulk -------------------------------------------------------------------------------------
def _filters_from(data) -> dict:
    """The list's filters as the list reads them (GET), or as "Select all matching" posts them."""
    return {
        "healthcode_status": data.get("healthcode_status", ""),
        "insurer_id": _int(data.get("insurer")),
        "practitioner_id": _int(data.get("practitioner")),
        "age": data.get("age", ""),
        "query": data.get("q", "")[:50],
    }


@require_POST
@require_capability(Capability.BILLING)
def bulk_submit(request):
    """Ticked rows post their ids; "Select all N matching" posts the filter instead (never
    thousands of ids, so no field-count limit), and the ids are resolved here, in this practice."""
    if request.POST.get("scope") == "matching":
        ids = list(selectors.submittable_matching(practice=request.practice, **_filters_from(request.POST))
                   .values_list("pk", flat=True))
        if not ids:
            messages.error(request, "No invoice matching this filter can be submitted to Healthcode.")
            return redirect("billing:list")
    else:
        ids = [i for i in (_int(v) for v in request.POST.getlist("invoice")) if i]
        if not ids:
            messages.error(request, "Select the invoices to submit first (tick the boxes in the list).")
            return redirect("billing:list")
    bulk = hc.submit_many(practice=request.practice, invoice_ids=ids, user=request.user)
    return redirect("billing:bulk", bulk.pk)


@require_POST
@require_capability(Capability.BILLING)
def bulk_send_rest(request, bulk_id: int):
    bulk = get_for_practice_or_404(BulkSubmission, request.practice, pk=bulk_id)
    hc.send_rest(bulk=bulk, user=request.user)
    messages.success(request, "The invoices not sent yet are being queued for Healthcode.")
    return redirect("billing:bulk", bulk.pk)


def _bulk_context(request, bulk: BulkSubmission) -> dict:
    from openpractice.healthcode import selectors as hc_selectors

    progress = hc_selectors.bulk_progress(bulk=bulk)
    return {"bulk": bulk, **progress, "can_bill": _can_bill(request),
            "never_rows": hc_selectors.never_queued_items(bulk=bulk) if progress["never_queued"] else [],
            "rejected_rows": bulk.submissions.filter(state=SubmissionState.REJECTED).select_related("invoice")[:50],
            "status_labels": dict(HealthcodeStatus.choices)}


@require_capability(Capability.VIEW_RECORDS)
def bulk_detail(request, bulk_id: int):
    bulk = get_for_practice_or_404(BulkSubmission, request.practice, pk=bulk_id)
    return render(request, "billing/bulk.html", _bulk_context(request, bulk))


@require_GET
@require_capability(Capability.VIEW_RECORDS)
def bulk_progress(request, bulk_id: int):
    bulk = get_for_practice_or_404(BulkSubmission, request.practice, pk=bulk_id)
    return render(request, "billing/_bulk_progress.html", _bulk_context(request, bulk))


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
            messages.success(request, "Numbering saved. The next invoice will be "
                             f"{selectors.number_sequences(practice=request.practice)[0]['next_number']}.")
            return redirect("billing:numbering")
    return render(request, "billing/settings_numbering.html", {
        "form": form, "sequences": sequences, "settings_tab": "billing",
        "max_length": services.MAX_NUMBER_LENGTH,
    })
