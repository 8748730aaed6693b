"""Remittance pages: the inbox, one remittance (BACS check, shortfalls), the review queue with
suggestions, shortfalls waiting to move, file import with a preview. Thin: parse, call a service
or selector, render. Reading needs view_records; anything that posts or allocates needs billing."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from openpractice.billing.forms import optional_int
from openpractice.billing.models import Invoice
from openpractice.practices.models import Membership
from openpractice.practices.permissions import require_capability
from openpractice.practices.roles import Capability
from openpractice.practices.tenancy import get_for_practice_or_404
from openpractice.redirects import redirect_to_next
from openpractice.remittances import fetching, selectors, services
from openpractice.remittances.errors import RemittanceError
from openpractice.remittances.forms import (
    BankAmountForm,
    ImportForm,
    MatchNumberForm,
    OverrideShortfallForm,
    ReverseForm,
    SetAsideForm,
    ShortfallSettingsForm,
)
from openpractice.remittances.models import PendingImport


def _can_bill(request) -> bool:
    return bool(request.membership and request.membership.can(Capability.BILLING))


def _tabs(active: str, practice) -> dict:
    return {
        "tab": active,
        "review_count": selectors.review_queue(practice=practice).count(),
        "shortfall_count": selectors.open_transfers(practice=practice).count(),
    }


def _inbox(request) -> dict:
    return {
        "batches": selectors.batches(practice=request.practice)[:100],
        "can_bill": _can_bill(request),
        **_tabs("inbox", request.practice),
    }


@require_capability(Capability.VIEW_RECORDS)
def batch_list(request):
    return render(
        request,
        "remittances/list.html",
        {**_inbox(request), "run": selectors.latest_fetch_run(practice=request.practice)},
    )


def _fetch_progress(request, run):
    """The fetch's progress element; once the run has finished, the inbox and its tabs too
    (out-of-band), so the new remittances appear without a reload."""
    finished = not run.is_active
    context = {"run": run, "with_inbox": finished, **(_inbox(request) if finished else {})}
    return render(request, "remittances/_fetch_progress.html", context)


@require_POST
@require_capability(Capability.BILLING)
def fetch_now(request):
    run = fetching.request_fetch(practice=request.practice, user=request.user)
    if request.headers.get("HX-Request"):
        return _fetch_progress(request, run)
    messages.success(request, "Fetching remittances from Healthcode: the progress shows below.")
    return redirect("remittances:list")


@require_GET
@require_capability(Capability.VIEW_RECORDS)
def fetch_progress(request, run_id: int):
    """Polled by htmx while a fetch is queued or running: 204 (nothing to swap) while the state is
    the one the page shows (?was=), the new element once it changes."""
    run = selectors.fetch_run(practice=request.practice, run_id=run_id)
    if run.is_polled and request.GET.get("was") == run.status:
        return HttpResponse(status=204)
    return _fetch_progress(request, run)


@require_capability(Capability.VIEW_RECORDS)
def batch_detail(request, batch_id: int):
    batch = selectors.batch(practice=request.practice, batch_id=batch_id)
    lines = list(selectors.lines_of(batch=batch).select_related("invoice__patient"))
    transfers = {
        a.remittance_line_id: a
        for a in selectors.allocations(practice=request.practice, batch_id=batch.pk).filter(
            kind="shortfall_transfer", reversed_by__isnull=True
        )
    }
    form = BankAmountForm(request.POST or None, initial={"bank_amount": batch.bank_amount})
    if request.method == "POST":
        if not _can_bill(request):
            raise PermissionDenied("Your role cannot post payments.")
        if form.is_valid():
            try:
                services.record_bank_amount(batch=batch, amount=form.cleaned_data["bank_amount"])
                messages.success(request, "Bank amount saved.")
                return redirect("remittances:batch", batch_id=batch.pk)
            except RemittanceError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, exc.message)
    rows = [(line, transfers.get(line.pk)) for line in lines]
    return render(
        request,
        "remittances/batch.html",
        {
            "batch": batch,
            "rows": rows,
            "form": form,
            "can_bill": _can_bill(request),
            **_tabs("inbox", request.practice),
        },
    )


@require_capability(Capability.VIEW_RECORDS)
def review_queue(request):
    lines = list(selectors.review_queue(practice=request.practice)[:50])
    suggested = selectors.suggestions_for(practice=request.practice, lines=lines)  # one query for the page
    rows = [(line, suggested[line.pk]) for line in lines]
    return render(
        request,
        "remittances/review.html",
        {
            "rows": rows,
            "can_bill": _can_bill(request),
            "match_form": MatchNumberForm(),
            "aside_form": SetAsideForm(),
            **_tabs("review", request.practice),
        },
    )


@require_POST
@require_capability(Capability.BILLING)
def match_line(request, line_id: int):
    line = selectors.line(practice=request.practice, line_id=line_id)
    invoice = None
    if request.POST.get("invoice"):
        invoice = get_for_practice_or_404(Invoice, request.practice, pk=request.POST["invoice"])
    else:
        form = MatchNumberForm(request.POST)
        if form.is_valid():
            invoice = (
                Invoice.objects.for_practice(request.practice)
                .filter(number__iexact=form.cleaned_data["invoice_number"].strip())
                .first()
            )
        if invoice is None:
            messages.error(
                request,
                f"Line {line.sequence}: no invoice {request.POST.get('invoice_number', '')!s} "
                "in this practice. Type an invoice number such as INV000042, or pick a suggestion.",
            )
            return redirect("remittances:review")
    try:
        services.match_by_hand(line=line, invoice=invoice, user=request.user)
        messages.success(request, f"£{line.amount_paid} allocated to invoice {invoice.number}.")
    except RemittanceError as exc:
        messages.error(request, exc.message)
    return redirect_to_next(request, "remittances:review")


@require_POST
@require_capability(Capability.BILLING)
def set_aside(request, line_id: int):
    line = selectors.line(practice=request.practice, line_id=line_id)
    try:
        services.set_aside(line=line, reason=request.POST.get("reason", ""), user=request.user)
        messages.success(request, "Line set aside.")
    except RemittanceError as exc:
        messages.error(request, exc.message)
    return redirect("remittances:review")


@require_capability(Capability.VIEW_RECORDS)
def shortfalls(request):
    current = selectors.settings_for(practice=request.practice)
    form = ShortfallSettingsForm(
        request.POST or None,
        initial={"shortfall_rule": current.shortfall_rule, "automatic_codes": current.automatic_codes},
    )
    if request.method == "POST" and not _can_bill(request):
        raise PermissionDenied("Your role cannot change the shortfall rule.")
    if request.method == "POST" and form.is_valid():
        services.save_settings(practice=request.practice, **form.cleaned_data)
        messages.success(request, "Shortfall rule saved.")
        return redirect("remittances:shortfalls")
    # ?practitioner=<membership id>: one practitioner's bills (the dashboard's link for a practitioner)
    practitioner = (
        Membership.objects.for_practice(request.practice)
        .filter(pk=optional_int(request.GET.get("practitioner")))
        .select_related("user")
        .first()
    )
    lines = selectors.open_transfers(
        practice=request.practice, practitioner_id=practitioner.pk if practitioner else None
    ).order_by("-batch__payment_date", "id")[:200]
    return render(
        request,
        "remittances/shortfalls.html",
        {
            "lines": lines,
            "form": form,
            "practitioner": practitioner,
            "can_bill": _can_bill(request),
            **_tabs("shortfalls", request.practice),
        },
    )


@require_POST
@require_capability(Capability.BILLING)
def override(request, line_id: int):
    """A biller says who owes a shortfall against the rule, with a reason (kept, with who and when)."""
    line = selectors.line(practice=request.practice, line_id=line_id)
    form = OverrideShortfallForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose who owes the shortfall and say why.")
        return redirect_to_next(request, "remittances:shortfalls")
    try:
        verdict = services.override_shortfall(line=line, user=request.user, **form.cleaned_data)
        messages.success(
            request, f"Shortfall on invoice {verdict.invoice.number}: {verdict.get_kind_display().lower()}."
        )
    except RemittanceError as exc:
        messages.error(request, exc.message)
    return redirect_to_next(request, "remittances:shortfalls")


@require_POST
@require_capability(Capability.BILLING)
def transfer(request, line_id: int):
    line = selectors.line(practice=request.practice, line_id=line_id)
    try:
        patient_invoice = services.transfer_shortfall(line=line, user=request.user)
        messages.success(request, f"£{patient_invoice.total} moved to the patient: invoice {patient_invoice.number}.")
    except RemittanceError as exc:
        messages.error(request, exc.message)
    return redirect_to_next(request, "remittances:shortfalls")


@require_POST
@require_capability(Capability.BILLING)
def reverse(request, allocation_id: int):
    allocation = selectors.allocation(practice=request.practice, allocation_id=allocation_id)
    form = ReverseForm(request.POST)
    try:
        services.reverse_allocation(allocation=allocation, reason=form.data.get("reason", ""), user=request.user)
        messages.success(request, f"Allocation of £{allocation.amount} reversed.")
    except RemittanceError as exc:
        messages.error(request, exc.message)
    return redirect("billing:detail", invoice_id=allocation.invoice_id)


# -- file import: upload → preview → post ----------------------------------------------------------
@require_capability(Capability.BILLING)
def import_file(request):
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        options = {
            "mapping": form.mapping(),
            "insurer_identifier": form.cleaned_data["insurer_identifier"].strip(),
            "payment_reference": form.cleaned_data["payment_reference"].strip(),
            "payment_date": form.cleaned_data["payment_date"],
        }
        try:
            pending, preview = services.start_import(
                practice=request.practice,
                user=request.user,
                name=upload.name,
                content=upload.read(),
                kind=form.cleaned_data["kind"],
                options=options,
            )
        except RemittanceError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            return render(
                request,
                "remittances/import.html",
                {"form": form, "problems": exc.problems, **_tabs("import", request.practice)},
                status=200,
            )
        return render(
            request,
            "remittances/preview.html",
            {
                "preview": preview,
                "parsed": preview.parsed,
                "pending": pending,
                "name": upload.name,
                "rows": [(line, preview.posted_from.get(line.sequence)) for line in preview.parsed.lines[:500]],
                **_tabs("import", request.practice),
            },
        )
    return render(request, "remittances/import.html", {"form": form, **_tabs("import", request.practice)})


@require_POST
@require_capability(Capability.BILLING)
def import_confirm(request, pending_id: int):
    # Another user's (or practice's) pending file is a 404, like any object not theirs.
    pending = get_for_practice_or_404(PendingImport.objects.filter(user=request.user), request.practice, pk=pending_id)
    try:
        batch = services.confirm_import(pending=pending, user=request.user)
    except RemittanceError as exc:
        messages.error(request, exc.message)
        return redirect("remittances:import")
    messages.success(request, f"Remittance {batch.payment_reference or batch.external_id} posted.")
    return redirect("remittances:batch", batch_id=batch.pk)
