"""The monthly consultant report: its figures from the rows (billed, collected by insurer and
self-pay, outstanding at the month's end by age, write-offs, the fee and the net), the fee agreement
in force for a month, the saved snapshot and what changed since, and sending by email on a schedule."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openpractice.reports import consultant, consultant_services
from openpractice.reports.consultant_errors import ConsultantReportError
from openpractice.reports.consultant_models import ConsultantReport, FeeKind
from tests.reports.consultant_world import NOVEMBER, D, november, setup

pytestmark = pytest.mark.django_db
ZERO = Decimal("0.00")


def _fee(practice, kind="percentage", percentage="7.5", monthly_fee=None, month=dt.date(2026, 1, 1)):
    return consultant_services.set_fee_agreement(
        practice=practice, kind=kind, percentage=percentage, monthly_fee=monthly_fee, effective_from=month
    )


def test_the_months_figures_come_from_the_rows(practice):
    november(practice)
    _fee(practice)
    f = consultant.figures(practice=practice, month=NOVEMBER)
    assert [(x.label, x.count, x.amount) for x in f.billed] == [
        ("Insurer bills", 1, D("500.00")),
        ("Self-pay bills", 1, D("100.00")),
    ]
    assert [(x.label, x.amount) for x in f.collected] == [
        ("Bupa", D("300.00")),
        ("AXA Health", D("120.00")),
        ("Self-pay (patients)", D("100.00")),
    ]
    assert (f.collected_total, f.collected_from_insurers, f.collected_self_pay) == (
        D("520.00"),
        D("420.00"),
        D("100.00"),
    )
    assert f.outstanding == {
        "insurer": [D("200.00"), ZERO, ZERO, D("80.00")],
        "patient": [ZERO, D("40.00"), ZERO, ZERO],
    }
    assert f.outstanding_total == D("320.00")
    assert [(x.label, x.count, x.amount) for x in f.write_offs] == [
        ("Insurer debts", 0, ZERO),
        ("Patient debts", 1, D("30.00")),
    ]
    assert (f.fee.kind, f.fee.amount, f.net) == (FeeKind.PERCENTAGE, D("39.00"), D("481.00"))
    assert f.fee.description == "7.5% of collected"


def test_the_agreement_in_force_for_the_month_sets_the_fee(practice):
    november(practice)
    assert consultant.figures(practice=practice, month=NOVEMBER).fee.amount == ZERO  # no agreement: no fee
    _fee(practice, percentage="5", month=dt.date(2026, 1, 1))
    _fee(practice, kind="fixed", percentage=None, monthly_fee="450", month=dt.date(2026, 12, 15))
    assert consultant.figures(practice=practice, month=NOVEMBER).fee.amount == D("26.00")
    december = consultant.figures(practice=practice, month=dt.date(2026, 12, 1))
    assert (december.fee.kind, december.fee.amount, december.net) == (
        "fixed",
        D("450.00"),
        december.collected_total - 450,
    )
    _fee(practice, percentage="6", month=dt.date(2026, 1, 1))  # the same month again replaces it
    assert consultant.figures(practice=practice, month=NOVEMBER).fee.amount == D("31.20")


@pytest.mark.parametrize(
    "kind, percentage, fee, field",
    [
        ("percentage", "0", None, "percentage"),
        ("percentage", "101", None, "percentage"),
        ("percentage", "7.125", None, "percentage"),
        ("percentage", "abc", None, "percentage"),
        ("fixed", None, "0", "monthly_fee"),
        ("weekly", "5", None, "kind"),
    ],
)
def test_a_fee_that_cannot_be_is_refused_naming_the_field(practice, kind, percentage, fee, field):
    with pytest.raises(ConsultantReportError) as refused:
        _fee(practice, kind=kind, percentage=percentage, monthly_fee=fee)
    assert refused.value.field == field


def test_a_saved_report_keeps_its_figures_and_says_what_changed(practice):
    w = november(practice)
    _fee(practice)
    report = consultant_services.save_report(practice=practice, month=dt.date(2026, 11, 17))
    assert report.month == NOVEMBER and report.sent_at is None
    w.pay(w.invoice(dt.date(2026, 11, 28), "60.00"), "60.00", dt.date(2026, 11, 29))  # posted late
    saved = consultant.Figures.from_snapshot(ConsultantReport.objects.get().figures)
    live = consultant.figures(practice=practice, month=NOVEMBER)
    assert saved.collected_total == D("520.00") and live.collected_total == D("580.00")
    changed = {(c.section, c.item): (c.sent, c.now) for c in consultant.differences(saved=saved, live=live)}
    assert changed[("Collected", "Total collected")] == (D("520.00"), D("580.00"))
    assert changed[("Net due to consultant", "Collected less the bureau fee")] == (D("481.00"), D("536.50"))
    assert ("Billed", "Self-pay bills") in changed and ("Collected", "Bupa") not in changed
    again = consultant_services.save_report(practice=practice, month=NOVEMBER)  # not sent: regenerated
    assert again.pk == report.pk and consultant.Figures.from_snapshot(again.figures).collected_total == D("580.00")


def test_a_month_not_begun_cannot_be_saved(practice):
    with pytest.raises(ConsultantReportError) as refused:
        consultant_services.save_report(practice=practice, month=dt.date(2999, 1, 1))
    assert refused.value.field == "month"


def test_sending_emails_the_pdf_and_csv_once_and_keeps_what_was_sent(practice):
    w = november(practice)
    _fee(practice)
    with pytest.raises(ConsultantReportError) as refused:
        consultant_services.send_report(practice=practice, month=NOVEMBER)
    assert refused.value.code == "no_recipients" and not mail.outbox
    consultant_services.set_recipients(
        practice=practice, emails="dr.sam@example.com, pa@example.com", send_monthly=True
    )
    report = consultant_services.send_report(practice=practice, month=NOVEMBER)
    [message] = mail.outbox
    assert message.to == ["dr.sam@example.com", "pa@example.com"] and "November 2026" in message.subject
    assert "Net due to you: £481.00" in message.body
    names = {name: (content, kind) for name, content, kind in message.attachments}
    pdf, _ = names["consultant-report-2026-11.pdf"]
    assert pdf.startswith(b"%PDF")
    text = names["consultant-report-2026-11.csv"][0]  # Django hands a text attachment back as str
    assert "Net due to consultant,Collected less the bureau fee,,481.00" in text
    assert report.sent_at and report.sent_to == "dr.sam@example.com, pa@example.com"
    with pytest.raises(ConsultantReportError) as refused:
        consultant_services.send_report(practice=practice, month=NOVEMBER)
    assert refused.value.code == "already_sent"
    with pytest.raises(ConsultantReportError):
        consultant_services.save_report(practice=practice, month=NOVEMBER)  # sent: kept as sent
    w.pay(w.invoice(dt.date(2026, 11, 28), "60.00"), "60.00", dt.date(2026, 11, 29))
    consultant_services.send_report(practice=practice, month=NOVEMBER, resend=True)
    assert "Net due to you: £481.00" in mail.outbox[-1].body  # the figures it was sent with


def test_recipients_must_be_addresses(practice):
    with pytest.raises(ConsultantReportError) as refused:
        consultant_services.set_recipients(
            practice=practice, emails="dr.sam@example.com\nnot an address", send_monthly=True
        )
    assert refused.value.field == "emails" and "not an address" in refused.value.message
    with pytest.raises(ConsultantReportError):
        consultant_services.set_recipients(practice=practice, emails="", send_monthly=True)
    assert consultant_services.set_recipients(practice=practice, emails="", send_monthly=False).addresses == []


def test_the_monthly_schedule_sends_each_practice_due_once(practice, other_practice, make_practice, settings):
    november(practice)
    november(other_practice)
    quiet = make_practice("Gamma Clinic")
    consultant_services.set_recipients(practice=practice, emails="a@example.com", send_monthly=True)
    consultant_services.set_recipients(practice=other_practice, emails="b@example.com", send_monthly=True)
    consultant_services.set_recipients(practice=quiet, emails="c@example.com", send_monthly=False)
    assert consultant_services.practices_due(month=NOVEMBER) == [practice.pk, other_practice.pk]
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    call_command("send_consultant_reports", "--month", "2026-11", stdout=open("/dev/null", "w"))
    assert sorted(m.to[0] for m in mail.outbox) == ["a@example.com", "b@example.com"]
    assert consultant_services.practices_due(month=NOVEMBER) == []
    call_command("send_consultant_reports", "--month", "2026-11", "--now", stdout=open("/dev/null", "w"))
    assert len(mail.outbox) == 2  # a month goes once


# -- properties --------------------------------------------------------------------------------------
money = st.decimals(min_value=Decimal("0"), max_value=Decimal("9999999.99"), places=2)


@given(collected=money, rate=st.decimals(min_value=Decimal("0.01"), max_value=Decimal("100"), places=2))
def test_fee_and_net_add_up_to_collected_for_a_percentage(collected, rate):
    fee, net = consultant.fee_and_net(collected=collected, kind=FeeKind.PERCENTAGE, percentage=rate, monthly_fee=ZERO)
    assert fee + net == collected
    assert fee == (collected * rate / 100).quantize(Decimal("0.01"), rounding="ROUND_HALF_UP")
    assert fee.as_tuple().exponent == -2 and ZERO <= fee <= collected


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    payments=st.lists(
        st.tuples(st.sampled_from(["bupa", "axa", "self"]), st.decimals("0.01", "5000", places=2), st.integers(0, 29)),
        max_size=12,
    ),
    rate=st.decimals(min_value=Decimal("0.01"), max_value=Decimal("30"), places=2),
)
def test_the_totals_are_the_sums_of_their_lines(practice, payments, rate):
    with transaction.atomic():
        w = setup(practice, email=f"p{len(payments)}-{rate}@reports.test")
        _fee(practice, percentage=rate)
        for who, amount, day in payments:
            date = NOVEMBER + dt.timedelta(days=day)
            insurer = {"bupa": w.bupa, "axa": w.axa}.get(who)
            bill = w.invoice(date, str(amount), insurer=insurer)
            (w.remit if who == "bupa" else w.pay)(bill, str(amount), date)
        f = consultant.figures(practice=practice, month=NOVEMBER)
        assert f.collected_total == sum((a for _, a, _ in payments), ZERO) == sum((x.amount for x in f.collected), ZERO)
        assert f.billed_total == sum((x.amount for x in f.billed), ZERO) == f.collected_total
        assert f.fee.amount + f.net == f.collected_total
        assert f.outstanding_total == ZERO == sum(f.outstanding_bands, ZERO)
        rows = {(s, i): a for s, i, _, a in f.rows()}
        assert rows[("Collected", "Total collected")] == sum(
            a for (s, i), a in rows.items() if s == "Collected" and i != "Total collected"
        )
        assert consultant.Figures.from_snapshot(f.to_snapshot()) == f
        transaction.set_rollback(True)
