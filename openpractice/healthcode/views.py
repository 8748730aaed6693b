"""Healthcode's pages: submit, refresh and cancel an invoice's bill, ask the insurer about the
membership on the invoice, the status badge the invoice page polls, bulk runs and their
progress, and the exchange log (every request OpenPractice sent the clearing house and its reply,
secrets already redacted when recorded by client.py). Thin. The invoice pages themselves are
billing's; they show Healthcode's parts through this app's template tags (templatetags/healthcode.py).
No GET here calls the clearing house or writes."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from openpractice.billing import selectors as billing_selectors
from openpractice.billing.errors import BillingError
from openpractice.billing.forms import INVOICE_FILTER_FIELDS, invoice_filters, optional_int
from openpractice.billing.models import HealthcodeStatus, Invoice, RecordStatus
from openpractice.healthcode import selectors, services
from openpractice.healthcode import submission as hc
from openpractice.healthcode.checking import check_invoice
from openpractice.healthcode.errors import HealthcodeSetupError, SubmissionError
from openpractice.healthcode.membership import describe
from openpractice.healthcode.models import ApiExchange, BulkSubmission, MembershipOutcome, SubmissionState
from openpractice.practices.permissions import require_capability
from openpractice.practices.roles import Capability
from openpractice.practices.tenancy import get_for_practice_or_404


def _can_bill(request) -> bool:
    return bool(request.membership and request.membership.can(Capability.BILLING))


# -- one invoice --------------------------------------------------------------------------------
def _action(request, invoice_id: int, do, success: str):
    invoice = get_for_practice_or_404(Invoice, request.practice, pk=invoice_id)
    try:
        result = do(invoice)
    except (BillingError, SubmissionError, HealthcodeSetupError) as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, success.format(invoice=invoice, result=result))
    return redirect("billing:detail", invoice_id)


@require_http_methods(["GET", "POST"])
@require_capability(Capability.BILLING)
def invoice_submit(request, invoice_id: int):
    """GET: the confirmation, with the bill's summary and what will happen (reads only);
    POST: send it (the invoice panel's "Submit to Healthcode" opens the GET)."""
    if request.method == "GET":
        invoice = billing_selectors.invoice_with_rows(practice=request.practice, invoice_id=invoice_id)
        return render(request, "healthcode/submit_confirm.html", _submit_summary(request, invoice))
    return _action(
        request,
        invoice_id,
        lambda i: hc.submit_invoice(invoice=i, user=request.user),
        "Submitted to Healthcode (version {result.version}): the status updates here as Healthcode answers.",
    )


def _submit_summary(request, invoice: Invoice) -> dict:
    """What the confirmation shows: the bill as it will go, whether it can go now, and what
    sending it does (the draft is issued and numbered; a failed bill goes again as a new version)."""
    practice = request.practice
    check = check_invoice(invoice=invoice) if invoice.is_insurer_bill else None
    previous = hc.current_submission(invoice)
    ready = services.is_configured(practice=practice)
    resubmittable = invoice.is_insurer_bill and invoice.healthcode_status in hc.RESUBMITTABLE
    return {
        "invoice": invoice,
        "insurer": invoice.insurer_contact.insurer if invoice.insurer_contact is not None else None,
        "check": check,
        "healthcode_ready": ready,
        "can_submit": bool(ready and resubmittable and check is not None and check.passed),
        "resubmittable": resubmittable,
        "previous": previous,
        "next_version": hc.next_version(invoice, previous),
        "issues_now": invoice.record_status == RecordStatus.DRAFT,
    }


@require_POST
@require_capability(Capability.VIEW_RECORDS)
def invoice_refresh(request, invoice_id: int):
    return _action(
        request,
        invoice_id,
        lambda i: hc.refresh_invoice(invoice=i, actor=request.user),
        "Status refreshed from Healthcode.",
    )


@require_http_methods(["GET", "POST"])
@require_capability(Capability.BILLING)
def invoice_cancel(request, invoice_id: int):
    """GET asks, naming the bill; the POST cancels it at Healthcode (it cannot be taken back)."""
    if request.method == "POST":
        return _action(
            request,
            invoice_id,
            lambda i: hc.cancel_bill(invoice=i, actor=request.user),
            "Bill cancelled at Healthcode.",
        )
    invoice = get_for_practice_or_404(Invoice, request.practice, pk=invoice_id)
    name = f"invoice {invoice.number}" if invoice.number else "this draft's bill"
    insurer = invoice.insurer_contact.name if invoice.insurer_contact is not None else "the insurer"
    return render(
        request,
        "confirm.html",
        {
            "title": f"Cancel the bill for {name}?",
            "question": f"Cancel the bill for {name} to {insurer} at Healthcode?",
            "explanation": "Healthcode withdraws the bill and the insurer will not pay it. "
            "To bill again, submit it once more as a new version.",
            "confirm_label": f"Cancel the bill for {name}",
            "cancel_url": reverse("billing:detail", args=[invoice.id]),
            "cancel_label": "Keep the bill",
        },
    )


@require_POST
@require_capability(Capability.VIEW_RECORDS)
def invoice_check_membership(request, invoice_id: int):
    """Find Member for the invoice's insurance on its first date of service, when someone asks for
    it (the invoice page's Healthcode panel offers it while the check lacks the insurer's answer):
    opening the invoice never calls the clearing house. The answer is kept, so the check uses it."""
    invoice = get_for_practice_or_404(Invoice, request.practice, pk=invoice_id)
    if invoice.insurance_id is None:
        messages.error(request, "This invoice is not to an insurer.")
        return redirect("billing:detail", invoice_id)
    relationship = invoice.insurance
    try:
        answer = services.check_membership(
            relationship=relationship, active_on=invoice.first_date_of_service or timezone.localdate()
        )
    except (SubmissionError, HealthcodeSetupError) as exc:
        messages.warning(request, f"Membership not checked: {exc.message}")
    else:
        say = messages.success if answer.outcome == MembershipOutcome.MATCH else messages.warning
        say(request, f"{relationship.related_contact.name}: {describe(answer)}")
    return redirect("billing:detail", invoice_id)


@require_GET
@require_capability(Capability.VIEW_RECORDS)
def invoice_status(request, invoice_id: int):
    """The Healthcode status badge alone (the invoice page polls billing's invoice_live, which
    swaps this badge with the rest of the page's parts)."""
    invoice = get_for_practice_or_404(Invoice, request.practice, pk=invoice_id)
    return render(request, "healthcode/_hc_status.html", {"invoice": invoice})


# -- bulk -----------------------------------------------------------------------------------------
def _nothing_matching(request):
    messages.error(request, "No invoice matching this filter can be submitted to Healthcode.")
    return redirect("billing:list")


@require_POST
@require_capability(Capability.BILLING)
def bulk_submit(request):
    """Ticked rows post their ids; "Select all N matching" posts the filter instead (never
    thousands of ids, so no field-count limit), and the ids are resolved here, in this practice."""
    matching = request.POST.get("scope") == "matching"
    ids: list[int] | None = None  # a filter's ids are read only once the biller confirms
    if matching:
        chosen = billing_selectors.submittable_matching(practice=request.practice, **invoice_filters(request.POST))
    else:
        ids = [i for i in (optional_int(v) for v in request.POST.getlist("invoice")) if i]
        if not ids:
            messages.error(request, "Select the invoices to submit first (tick the boxes in the list).")
            return redirect("billing:list")
        chosen = billing_selectors.invoices(practice=request.practice).filter(pk__in=ids)
    if request.POST.get("confirmed") != "yes":
        # Nothing goes before the biller has seen how many bills, to whom and for how much.
        summary = billing_selectors.totals_by_insurer(chosen)
        if matching and not summary["count"]:
            return _nothing_matching(request)
        filters = {k: request.POST[k] for k in INVOICE_FILTER_FIELDS if request.POST.get(k)}
        return render(
            request,
            "healthcode/bulk_confirm.html",
            {"summary": summary, "matching": matching, "filters": filters, "ids": ids or []},
        )
    if ids is None:
        ids = list(chosen.values_list("pk", flat=True))
        if not ids:
            return _nothing_matching(request)
    bulk = hc.submit_many(practice=request.practice, invoice_ids=ids, user=request.user)
    return redirect("healthcode:bulk", bulk.pk)


@require_POST
@require_capability(Capability.BILLING)
def bulk_send_rest(request, bulk_id: int):
    bulk = get_for_practice_or_404(BulkSubmission, request.practice, pk=bulk_id)
    hc.send_rest(bulk=bulk, user=request.user)
    messages.success(request, "The invoices not sent yet are being queued for Healthcode.")
    return redirect("healthcode:bulk", bulk.pk)


def _bulk_context(request, bulk: BulkSubmission) -> dict:
    progress = selectors.bulk_progress(bulk=bulk)
    return {
        "bulk": bulk,
        **progress,
        "can_bill": _can_bill(request),
        "never_rows": selectors.never_queued_items(bulk=bulk) if progress["never_queued"] else [],
        "rejected_rows": bulk.submissions.filter(state=SubmissionState.REJECTED).select_related("invoice")[:50],
        "status_labels": dict(HealthcodeStatus.choices),
    }


@require_capability(Capability.VIEW_RECORDS)
def bulk_detail(request, bulk_id: int):
    bulk = get_for_practice_or_404(BulkSubmission, request.practice, pk=bulk_id)
    return render(request, "healthcode/bulk.html", _bulk_context(request, bulk))


@require_GET
@require_capability(Capability.VIEW_RECORDS)
def bulk_progress(request, bulk_id: int):
    bulk = get_for_practice_or_404(BulkSubmission, request.practice, pk=bulk_id)
    return render(request, "healthcode/_bulk_progress.html", _bulk_context(request, bulk))


# -- the exchange log (Settings › Integrations) ---------------------------------------------------
@require_capability(Capability.MANAGE_INTEGRATIONS)
def exchange_list(request):
    failures_only = request.GET.get("failures") == "1"
    endpoint = request.GET.get("endpoint", "")[:60]
    query = request.GET.get("q", "").strip()[:100]
    found = selectors.exchanges(practice=request.practice, failures_only=failures_only, endpoint=endpoint, query=query)
    # No COUNT over a log that grows with every call: one row more than a page says "next".
    number = max(1, min(_int(request.GET.get("page")), 10_000))
    start = (number - 1) * selectors.PAGE_SIZE
    rows = list(found[start : start + selectors.PAGE_SIZE + 1])
    filters = request.GET.copy()
    filters.pop("page", None)
    return render(
        request,
        "healthcode/exchange_list.html",
        {
            "rows": rows[: selectors.PAGE_SIZE],
            "page_number": number,
            "has_next": len(rows) > selectors.PAGE_SIZE,
            "failures_only": failures_only,
            "endpoint": endpoint,
            "query": query,
            "endpoints": selectors.endpoints(practice=request.practice),
            "filters": filters.urlencode(),
            "settings_tab": "integrations",
        },
    )


@require_capability(Capability.MANAGE_INTEGRATIONS)
def exchange_detail(request, exchange_id: int):
    exchange = get_for_practice_or_404(ApiExchange, request.practice, pk=exchange_id)
    return render(
        request,
        "healthcode/exchange_detail.html",
        {
            "exchange": exchange,
            "request_body": selectors.pretty(exchange.request_body),
            "response_body": selectors.pretty(exchange.response_body),
            "settings_tab": "integrations",
        },
    )


def _int(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 1
