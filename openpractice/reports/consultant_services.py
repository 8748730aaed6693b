"""What writes the monthly consultant report's rows: the fee agreement, the recipients, a month's
report saved (its figures kept as they were) and sent by email with its PDF and CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from openpractice.billing.money import format_gbp, round_money
from openpractice.csv_export import neutralise
from openpractice.reports import consultant
from openpractice.reports.consultant_errors import Code, ConsultantReportError
from openpractice.reports.consultant_models import ConsultantReport, FeeAgreement, FeeKind, ReportRecipients

CSV_HEADER = ["Section", "Item", "Invoices", "Amount"]


def _decimal(value, *, field: str, label: str) -> Decimal:
    try:
        number = Decimal(str(value if value not in (None, "") else "0").replace("£", "").replace("%", "").strip())
    except InvalidOperation:
        raise ConsultantReportError(f"{label}: enter a number such as 7.5.", field=field) from None
    if not number.is_finite() or number < 0:
        raise ConsultantReportError(f"{label}: enter a number of 0 or more.", field=field)
    return number


@transaction.atomic
def set_fee_agreement(
    *, practice, kind: str, percentage=None, monthly_fee=None, effective_from: dt.date, user=None
) -> FeeAgreement:
    """The bureau's fee from `effective_from`'s month onwards (one agreement a month: a second for the
    same month replaces it). Months already sent keep the fee they were sent with (their snapshot)."""
    if kind not in FeeKind.values:
        raise ConsultantReportError("Choose a percentage of what was collected or a fixed monthly fee.", field="kind")
    if effective_from is None:
        raise ConsultantReportError(
            "Enter the month the fee takes effect from.", field="effective_from", code=Code.REQUIRED
        )
    rate = _decimal(percentage, field="percentage", label="Percentage")
    fee = round_money(_decimal(monthly_fee, field="monthly_fee", label="Monthly fee"))
    if kind == FeeKind.PERCENTAGE and not Decimal(0) < rate <= 100:
        raise ConsultantReportError(
            "Percentage: enter a percentage above 0 and at most 100, such as 7.5.", field="percentage"
        )
    if rate != rate.quantize(Decimal("0.01")):
        raise ConsultantReportError("Percentage: at most two decimal places, such as 7.25.", field="percentage")
    if kind == FeeKind.FIXED and fee <= 0:
        raise ConsultantReportError("Monthly fee: enter the fee in pounds, such as 450.00.", field="monthly_fee")
    agreement, _ = FeeAgreement.objects.update_or_create(
        practice=practice,
        effective_from=consultant.month_start(effective_from),
        defaults={
            "kind": kind,
            "percentage": rate if kind == FeeKind.PERCENTAGE else Decimal("0.00"),
            "monthly_fee": fee if kind == FeeKind.FIXED else Decimal("0.00"),
            "created_by": user,
        },
    )
    return agreement


@transaction.atomic
def set_recipients(*, practice, emails: str, send_monthly: bool) -> ReportRecipients:
    addresses = [a.strip() for a in (emails or "").replace(",", "\n").splitlines() if a.strip()]
    for address in addresses:
        try:
            validate_email(address)
        except ValidationError:
            raise ConsultantReportError(
                f"“{address[:80]}” is not an email address: enter one address a line, such as dr.smith@example.com.",
                field="emails",
            ) from None
    if send_monthly and not addresses:
        raise ConsultantReportError(
            "Enter at least one address to send the report to, or turn off sending each month.",
            field="emails",
            code=Code.NO_RECIPIENTS,
        )
    recipients, _ = ReportRecipients.objects.update_or_create(
        practice=practice, defaults={"emails": "\n".join(addresses), "send_monthly": send_monthly}
    )
    return recipients


def _locked(*, practice, month: dt.date) -> ConsultantReport | None:
    return ConsultantReport.objects.select_for_update().filter(practice=practice, month=month).first()


@transaction.atomic
def save_report(*, practice, month: dt.date, user=None) -> ConsultantReport:
    """Generate the month's report from today's rows and keep its figures. A sent report is kept as
    it was sent (what the consultant has): it is never regenerated."""
    month = consultant.month_start(month)
    if month > consultant.month_start(timezone.localdate()):
        raise ConsultantReportError(
            "That month has not started yet: choose this month or an earlier one.", field="month"
        )
    report = _locked(practice=practice, month=month)
    if report and report.sent_at:
        raise ConsultantReportError(
            f"The {month:%B %Y} report was sent on {timezone.localtime(report.sent_at):%d %b %Y}; it is kept as sent.",
            field="month",
            code=Code.ALREADY_SENT,
        )
    snapshot = consultant.figures(practice=practice, month=month).to_snapshot()
    now = timezone.now()
    if report is None:
        return ConsultantReport.objects.create(
            practice=practice, month=month, figures=snapshot, generated_at=now, generated_by=user
        )
    report.figures, report.generated_at, report.generated_by = snapshot, now, user
    report.save(update_fields=["figures", "generated_at", "generated_by"])
    return report


def csv_bytes(figures: consultant.Figures) -> bytes:
    stream = io.StringIO()
    writer = csv.writer(stream)
    writer.writerow(CSV_HEADER)
    for row in figures.rows():
        writer.writerow([neutralise(v) for v in row])
    return stream.getvalue().encode("utf-8")


def file_name(figures: consultant.Figures) -> str:
    return f"consultant-report-{figures.month:%Y-%m}"


@transaction.atomic
def send_report(*, practice, month: dt.date, user=None, resend: bool = False) -> ConsultantReport:
    """Email the month's report (PDF and CSV attached) to the practice's recipients. An unsaved month
    is saved first; a sent one goes again only when asked (`resend`), with the figures it was sent with."""
    from openpractice.reports.consultant_pdf import report_pdf  # WeasyPrint is heavy: loaded when a report is sent

    month = consultant.month_start(month)
    recipients = ReportRecipients.objects.filter(practice=practice).first()
    addresses = recipients.addresses if recipients else []
    if not addresses:
        raise ConsultantReportError(
            "Add the consultant's email address (Consultant report settings) before sending.",
            field="emails",
            code=Code.NO_RECIPIENTS,
        )
    report = _locked(practice=practice, month=month)
    if report and report.sent_at and not resend:
        raise ConsultantReportError(
            f"The {month:%B %Y} report was already sent to {report.sent_to}.", field="month", code=Code.ALREADY_SENT
        )
    if report is None or not report.sent_at:
        report = save_report(practice=practice, month=month, user=user)
    figures = consultant.Figures.from_snapshot(report.figures)
    message = EmailMessage(
        subject=f"Your billing report for {month:%B %Y}: {practice.name}",
        body=(
            f"Please find attached your billing report for {month:%B %Y}.\n\n"
            f"Collected: {format_gbp(figures.collected_total)}\n"
            f"Bureau fee: {format_gbp(figures.fee.amount)}\n"
            f"Net due to you: {format_gbp(figures.net)}\n\n"
            "You can also see it when you sign in to OpenPractice, under Reports > Consultant report."
        ),
        to=addresses,
        reply_to=[practice.email] if practice.email else None,
    )
    name = file_name(figures)
    message.attach(f"{name}.pdf", report_pdf(figures=figures, practice=practice), "application/pdf")
    message.attach(f"{name}.csv", csv_bytes(figures), "text/csv")
    # Sent inside the transaction: a failed send leaves the month unsent, so the next run tries again.
    message.send()
    report.sent_at, report.sent_to = timezone.now(), ", ".join(addresses)
    report.save(update_fields=["sent_at", "sent_to"])
    return report


def practices_due(*, month: dt.date) -> list[int]:
    """Practices whose report for `month` the schedule should send: sending each month, with an
    address, and not yet sent for that month (one query)."""
    sent = ConsultantReport.objects.filter(month=consultant.month_start(month), sent_at__isnull=False).values(
        "practice_id"
    )
    return list(
        ReportRecipients.objects.filter(send_monthly=True)
        .exclude(emails="")
        .exclude(practice_id__in=sent)
        .order_by("practice_id")
        .values_list("practice_id", flat=True)
    )
