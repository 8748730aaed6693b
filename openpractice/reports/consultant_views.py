"""The monthly consultant report's pages. Thin: figures from reports/consultant.py, writes through
reports/consultant_services.py. A month is a query parameter (?month=2026-11), never another
practice's row: every read is the signed-in practice's own."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from openpractice.csv_export import csv_response
from openpractice.practices.permissions import require_capability
from openpractice.practices.roles import Capability
from openpractice.reports import consultant, consultant_services
from openpractice.reports.consultant_errors import ConsultantReportError
from openpractice.reports.consultant_forms import FeeAgreementForm, RecipientsForm
from openpractice.reports.consultant_models import FeeAgreement, FeeKind, ReportRecipients
from openpractice.reports.selectors import BUCKETS
from openpractice.reports.views import REPORTS


def _months(today: dt.date, count: int = 13) -> list[dt.date]:
    months, month = [], consultant.month_start(today)
    for _ in range(count):
        months.append(month)
        month = consultant.previous_month(month)
    return months


def _url(month: dt.date, **extra) -> str:
    query = "&".join([f"month={month:%Y-%m}", *(f"{k}={v}" for k, v in extra.items())])
    return f"{reverse('reports:consultant')}?{query}"


@require_capability(Capability.VIEW_RECORDS)
def report(request):
    today = timezone.localdate()
    asked = request.GET.get("month")
    month = consultant.parse_month(asked)
    if month is None or month > consultant.month_start(today):
        if asked:
            messages.warning(request, "That is not a month with figures yet: showing last month instead.")
        month = consultant.previous_month(today)
    saved = consultant.saved_report(practice=request.practice, month=month)
    live = consultant.figures(practice=request.practice, month=month)
    figures = consultant.Figures.from_snapshot(saved.figures) if saved else live
    fmt = request.GET.get("format")
    if fmt == "csv":
        return csv_response(consultant_services.file_name(figures), consultant_services.CSV_HEADER, figures.rows())
    if fmt == "pdf":
        from openpractice.reports.consultant_pdf import report_pdf  # WeasyPrint is heavy: loaded for a PDF only

        pdf = report_pdf(figures=figures, practice=request.practice, generated_at=saved.generated_at if saved else None)
        response = HttpResponse(pdf, content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="{consultant_services.file_name(figures)}.pdf"'
        return response
    return render(
        request,
        "reports/consultant.html",
        {
            "figures": figures,
            "saved": saved,
            "changes": consultant.differences(saved=figures, live=live) if saved else [],
            "month": month,
            "months": _months(today),
            "previous": consultant.previous_month(month),
            "following": None
            if month >= consultant.month_start(today)
            else consultant.month_end(month) + dt.timedelta(days=1),
            "history": consultant.saved_reports(practice=request.practice),
            "buckets": BUCKETS,
            "can_send": request.membership.can(Capability.BILLING),
            "can_configure": request.membership.can(Capability.MANAGE_SETTINGS),
            "tab": "consultant",
            "reports": REPORTS,
        },
    )


def _month_posted(request) -> dt.date:
    return consultant.parse_month(request.POST.get("month")) or consultant.previous_month(timezone.localdate())


@require_POST
@require_capability(Capability.BILLING)
def save(request):
    month = _month_posted(request)
    try:
        consultant_services.save_report(practice=request.practice, month=month, user=request.user)
    except ConsultantReportError as refused:
        messages.error(request, refused.message)
    else:
        messages.success(request, f"The {month:%B %Y} report is saved: its figures are kept as they are now.")
    return redirect(_url(month))


@require_POST
@require_capability(Capability.BILLING)
def send(request):
    month = _month_posted(request)
    try:
        sent = consultant_services.send_report(
            practice=request.practice, month=month, user=request.user, resend=request.POST.get("resend") == "1"
        )
    except ConsultantReportError as refused:
        messages.error(request, refused.message)
    else:
        messages.success(request, f"The {month:%B %Y} report was emailed to {sent.sent_to}.")
    return redirect(_url(month))


@require_capability(Capability.MANAGE_SETTINGS)
def settings(request):
    practice = request.practice
    recipients = ReportRecipients.objects.filter(practice=practice).first()
    fee_form = FeeAgreementForm(
        initial={"kind": FeeKind.PERCENTAGE, "effective_from": f"{consultant.month_start(timezone.localdate()):%Y-%m}"}
    )
    recipients_form = RecipientsForm(
        initial={
            "emails": recipients.emails if recipients else "",
            "send_monthly": recipients.send_monthly if recipients else True,
        }
    )
    if request.method == "POST" and request.POST.get("form") == "fee":
        fee_form = FeeAgreementForm(request.POST)
        if fee_form.is_valid():
            data = fee_form.cleaned_data
            try:
                agreement = consultant_services.set_fee_agreement(
                    practice=practice,
                    kind=data["kind"],
                    percentage=data["percentage"],
                    monthly_fee=data["monthly_fee"],
                    effective_from=data["effective_from"],
                    user=request.user,
                )
            except ConsultantReportError as refused:
                fee_form.add_error(refused.field if refused.field in fee_form.fields else None, refused.message)
            else:
                messages.success(request, f"The fee from {agreement.effective_from:%B %Y} is saved.")
                return redirect("reports:consultant_settings")
    elif request.method == "POST" and request.POST.get("form") == "recipients":
        recipients_form = RecipientsForm(request.POST)
        if recipients_form.is_valid():
            try:
                consultant_services.set_recipients(practice=practice, **recipients_form.cleaned_data)
            except ConsultantReportError as refused:
                recipients_form.add_error("emails", refused.message)
            else:
                messages.success(request, "Where the report is sent is saved.")
                return redirect("reports:consultant_settings")
    return render(
        request,
        "reports/consultant_settings.html",
        {
            "fee_form": fee_form,
            "recipients_form": recipients_form,
            "agreements": FeeAgreement.objects.for_practice(practice).order_by("-effective_from")[:24],
            "tab": "consultant",
            "reports": REPORTS,
        },
        status=400 if request.method == "POST" else 200,
    )
