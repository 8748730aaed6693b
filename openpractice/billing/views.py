"""Invoice pages: the list with its filters, create/edit, detail, PDF, email, payments, credit
notes. Thin. Healthcode's parts of these pages (the check, submission, the bulk and not-ready
views) are the healthcode app's, placed by its template tags: nothing here knows Healthcode."""

from __future__ import annotations

import json
from html import escape as html_escape

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_GET, require_POST

from openpractice.billing import selectors, services
from openpractice.billing.errors import BillingError
from openpractice.billing.forms import (
    INVOICE_FILTER_FIELDS,
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
from openpractice.billing.models import BillTo, HealthcodeStatus, Invoice, ServiceSetting
from openpractice.billing.pdf import invoice_pdf as render_pdf
from openpractice.billing.service_setting import setting_of_procedure_type, too_small_for
from openpractice.contacts.selectors import insurer_choices
from openpractice.patients.errors import PatientError
from openpractice.patients.models import Patient
from openpractice.patients.selectors import search_patients
from openpractice.patients.services import update_relationship
from openpractice.practices.permissions import require_capability
from openpractice.practices.roles import Capability
from openpractice.practices.selectors import practitioner_choices
from openpractice.practices.tenancy import get_for_practice_or_404
from openpractice.products.models import Product


def _can_bill(request) -> bool:
    return bool(request.membership and request.membership.can(Capability.BILLING))


# -- list -------------------------------------------------------------------------------------
@require_capability(Capability.VIEW_RECORDS)
def invoice_list(request):
    practice = request.practice
    view = request.GET.get("view", "")
    filters = invoice_filters(request.GET)
    page = None
    if view != "not_ready":  # the "Not ready to submit" view is Healthcode's ({% invoices_not_ready %})
        page = selectors.invoice_page(
            practice=practice, after=request.GET.get("after"), before=request.GET.get("before"), **filters
        )
    # The filters' choices: the two columns each option shows, each in one hand-written statement
    # (issue 18: through the ORM, 2 ms of a page whose SQL takes 3-5).
    insurers = insurer_choices(practice=practice) if view != "not_ready" else []
    practitioners = (
        practitioner_choices(practice=practice) if view != "not_ready" or filters.get("practitioner_id") else []
    )
    return render(
        request,
        "billing/list.html",
        {
            "page": page,
            "rows": page.rows if page else [],
            "count": page.count if page else 0,
            "filter_query": _filter_query(request.GET),
            "view": view,
            "filters": filters,
            "options": _filter_options(filters, insurers, practitioners) if view != "not_ready" else {},
            "practitioners": practitioners,
            "can_bill": _can_bill(request),
        },
    )


def _options(choices, selected, *, valued: bool = True) -> SafeString:
    """`<option value="v" selected>label</option>` for each (value, label) of `choices`, the one
    equal to `selected` selected, as the list's template wrote them (four loops of it cost 0.3 ms a
    page, issue 18; tests hold the two equal). Without `valued`, an option's label is its value
    (`<option >label</option>`)."""
    out = []
    for value, label in choices:
        chosen = "selected" if value == selected else ""
        text = html_escape(str(label))
        if valued:
            out.append(f'<option value="{html_escape(str(value))}" {chosen}>{text}</option>')
        else:
            out.append(f"<option {chosen}>{text}</option>")
    return mark_safe("".join(out))


def _filter_options(filters: dict, insurers: list[dict], practitioners: list[dict]) -> dict[str, SafeString]:
    """The list's filter form's <option>s after each select's "Any" one, by select."""
    return {
        "healthcode_status": _options(HealthcodeStatus.choices, filters.get("healthcode_status")),
        "insurer": _options(((c["id"], c["name"]) for c in insurers), filters.get("insurer_id")),
        "practitioner": _options(((m["id"], m["full_name"]) for m in practitioners), filters.get("practitioner_id")),
        "age": _options(((a, a) for a in selectors.AGE_BUCKETS), filters.get("age"), valued=False),
    }


def _filter_query(data) -> str:
    """The list's filters as a query string, for the Newer / Older links (without the cursors)."""
    return urlencode([(name, data[name]) for name in INVOICE_FILTER_FIELDS if data.get(name)])


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


def _invoice_initial(invoice: Invoice | None, patient: Patient, form: InvoiceForm) -> dict:
    if invoice is None:
        insurance = patient.relationships.filter(relationship_type="insurance").first()
        return {
            "bill_to": BillTo.INSURER if insurance else BillTo.PATIENT,
            "insurance": insurance,
            "invoice_date": timezone.localdate(),
            "service_setting": ServiceSetting.CONSULTING_ROOM,  # until a product calls for a stay
            "payee_kind": "practitioner",
            "practitioner": _preselected_practitioner(form),
        }
    initial = {f: getattr(invoice, f) for f in services.HEADER_FIELDS if f not in ("patient", "other_diagnoses")}
    others = list(invoice.other_diagnoses or [])
    initial.update(
        other_diagnosis_1=others[0] if others else "", other_diagnosis_2=others[1] if len(others) > 1 else ""
    )
    return initial


def _preselected_practitioner(form: InvoiceForm):
    """The signed-in practitioner (listed first), or the practice's only practitioner."""
    choices = list(form.practitioner_choices[:2])
    if choices and (choices[0].leads == 0 or len(choices) == 1):
        return choices[0]
    return None


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


def _forms(request, *, patient, invoice, data=None):
    """The header form and the lines, bound to `data` (a POST) or filled from the invoice."""
    practice = request.practice
    form = InvoiceForm(data, practice=practice, patient=patient, membership=request.membership, invoice=invoice)
    if data is None:
        form.initial = _invoice_initial(invoice, patient, form)
    lines = LineFormSet(
        data,
        prefix="lines",
        initial=None if data is not None else _line_initial(invoice) + [{"quantity": 1}] * 2,
        form_kwargs={"practice": practice},
    )
    return form, lines


def _quote(request, form: InvoiceForm, lines, invoice: Invoice | None) -> dict:
    """The running total of what is filled in so far, priced by the save's own code
    (services.quote_lines): lines not complete yet are left out, and said to be."""
    practice = request.practice
    if not form.is_bound:
        if invoice is None:
            return {"quote": services.quote_lines(practice=practice, insurer_contact=None, lines=[])}
        rows = [
            {"product": line.product, "service_date": line.service_date, "quantity": line.quantity}
            for line in invoice.lines.all()
        ]
        return {"quote": services.quote_lines(practice=practice, insurer_contact=invoice.insurer_contact, lines=rows)}
    form.is_valid()
    lines.is_valid()
    header = getattr(form, "cleaned_data", {})
    insurance = header.get("insurance")
    insurer_contact = insurance.related_contact if header.get("bill_to") == BillTo.INSURER and insurance else None
    fallback_date = header.get("invoice_date") or timezone.localdate()
    rows, incomplete = [], False
    for line_form in lines.forms:
        data = getattr(line_form, "cleaned_data", {})
        if not data.get("product"):
            incomplete = incomplete or bool(line_form.errors)
            continue
        if line_form.errors:
            incomplete = True
            if "quantity" in line_form.errors:
                continue
        rows.append(
            {
                "product": data["product"],
                "service_date": data.get("service_date") or fallback_date,
                "quantity": data.get("quantity") or 1,
            }
        )
    try:
        quote = services.quote_lines(practice=practice, insurer_contact=insurer_contact, lines=rows)
    except BillingError:
        return {"quote": None, "quote_incomplete": True}
    return {"quote": quote, "quote_incomplete": incomplete, "quote_payer": insurer_contact}


def _raise_setting_to_products(data, lines) -> None:
    """Without JavaScript, re-showing the form (another line, the total) sets the setting a
    chosen product calls for, as the page's script does at once."""
    lines.is_valid()
    needed = too_small_for(data.get("service_setting", ""), lines.products())
    if needed is not None:
        data["service_setting"] = needed[0]


def _invoice_form(request, *, patient, invoice):
    practice = request.practice
    bound = request.method == "POST"
    form, lines = _forms(request, patient=patient, invoice=invoice, data=request.POST if bound else None)
    context = {"patient": patient, "invoice": invoice, "product_settings_json": json.dumps(_product_settings(practice))}
    if bound and ("add_line" in request.POST or "update_total" in request.POST):
        data = request.POST.copy()
        if "add_line" in request.POST:
            data["lines-TOTAL_FORMS"] = str(int(data.get("lines-TOTAL_FORMS", 0) or 0) + 1)
        _raise_setting_to_products(data, lines)
        form, lines = _forms(request, patient=patient, invoice=invoice, data=data)
        form.is_valid()  # errors shown only after Save: these re-shows keep what was typed
        form.errors.clear()
        lines.is_valid()
        for line_form in lines.forms:
            line_form.errors.clear()
        return render(
            request,
            "billing/form.html",
            {
                **context,
                "form": form,
                "lines": lines,
                "adding_line": "add_line" in request.POST,
                **_quote(request, form, lines, invoice),
            },
        )
    status = 200
    if bound:
        if form.is_valid() and lines.is_valid():
            form.check_setting(lines.products())
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
        {**context, "form": form, "lines": lines, **_quote(request, form, lines, invoice)},
        status=status,
    )


def _product_settings(practice) -> dict[str, str]:
    """Product id → the setting it calls for, for the page's script (only products that call for one)."""
    return {
        str(product.pk): setting
        for product in Product.objects.for_practice(practice).filter(is_archived=False).only("pk", "procedure_type")
        if (setting := setting_of_procedure_type(product.procedure_type))
    }


@require_POST
@require_capability(Capability.BILLING)
def invoice_quote(request):
    """The form's running total, re-priced as lines change (the page posts the form here; the
    POST writes nothing: a form's worth of fields does not belong in an address)."""
    patient = get_for_practice_or_404(Patient, request.practice, pk=optional_int(request.POST.get("patient")) or 0)
    invoice_id = optional_int(request.POST.get("invoice"))
    invoice = get_for_practice_or_404(Invoice, request.practice, pk=invoice_id) if invoice_id else None
    form, lines = _forms(request, patient=patient, invoice=invoice, data=request.POST)
    return render(request, "billing/_quote.html", _quote(request, form, lines, invoice))


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
    # Each form is made by the template where it shows one (it calls what it is given): most views
    # of an invoice show one form or none, and a person who cannot bill sees none.
    return render(
        request,
        "billing/detail.html",
        {
            "invoice": invoice,
            "live_version": _live_version(invoice),
            "can_bill": _can_bill(request),
            "payment_form": lambda: PaymentForm(
                initial={"received_on": timezone.localdate(), "amount": invoice.balance}
            ),
            "credit_form": CreditNoteForm,
            "void_form": VoidForm,
            "email_form": lambda: EmailForm(
                initial={
                    "to": invoice.patient.email
                    if invoice.bill_to == BillTo.PATIENT
                    else (invoice.insurer_contact.email if invoice.insurer_contact else "")
                }
            ),
        },
    )


def _live_version(invoice: Invoice) -> str:
    """What the page last saw of the invoice: every write to it (a Healthcode status, a payment,
    a remittance's settlement) moves updated_at."""
    return f"{invoice.updated_at.timestamp():.6f}"


@require_GET
@require_capability(Capability.VIEW_RECORDS)
def invoice_live(request, invoice_id: int):
    """Polled by the invoice page while its bill is on its way (billing/_live.html): 204 while the
    invoice is as the page saw it; once it changed, the parts that follow from it, swapped out of
    band together (badges, the Healthcode panel and its history, money, payments, remittance).
    Only reads: the changes come from the workers and the schedule."""
    # Most polls find nothing new: one row's updated_at answers them; the invoice with its rows
    # is read only when there is something to draw.
    stamp = get_for_practice_or_404(
        Invoice.objects.only("pk", "practice_id", "updated_at"), request.practice, pk=invoice_id
    )
    if request.GET.get("seen") == _live_version(stamp):
        return HttpResponse(status=204)
    invoice = selectors.invoice_with_rows(practice=request.practice, invoice_id=invoice_id)
    return render(request, "billing/_live_parts.html", {"invoice": invoice, "live_version": _live_version(invoice)})


@require_GET
@require_capability(Capability.VIEW_RECORDS)
def invoice_pdf(request, invoice_id: int):
    invoice = selectors.invoice_with_rows(practice=request.practice, invoice_id=invoice_id)
    response = HttpResponse(render_pdf(invoice=invoice), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="invoice-{invoice.number or f"draft-{invoice.pk}"}.pdf"'
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
