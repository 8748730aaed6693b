"""An invoice's status badges and its link, as filters: `{{ invoice|record_badge }}`,
`{{ invoice|hc_badge }}`, `{{ invoice|pay_badge }}`, `{{ invoice|invoice_ref }}` (a template
builtin, see settings).

Each badge's HTML is built once per status when this module loads: the list shows 50 rows of
three badges, and an `{% include %}` with an if-chain per badge cost more than the page's SQL
(issue 18). The markup is the one the `_*_badge.html` includes give, which now use these too."""

from __future__ import annotations

from django import template
from django.urls import reverse
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

from openpractice.billing.models import HealthcodeStatus, PaymentOutcome, RecordStatus

register = template.Library()

_HC_TONE = {
    HealthcodeStatus.COLLECTED: "ok",
    HealthcodeStatus.VALIDATED: "ok",
    HealthcodeStatus.AWAITING_COLLECTION: "ok",
    HealthcodeStatus.FAILED: "danger",
    HealthcodeStatus.NOT_FOUND: "danger",
    HealthcodeStatus.QUEUED: "warn",
    HealthcodeStatus.UNPROCESSED: "warn",
    HealthcodeStatus.IN_PROCESS: "warn",
    HealthcodeStatus.UNSPECIFIED: "warn",
}
_RECORD_TONE = {RecordStatus.ISSUED: "info", RecordStatus.VOID: "danger"}
_PAY_TONE = {PaymentOutcome.PAID: "ok", PaymentOutcome.PART_PAID: "warn"}


def _badges(choices, tones: dict) -> dict[str, SafeString]:
    return {
        value: mark_safe(f'<span class="badge {tones.get(value, "")}">{escape(label)}</span>')
        for value, label in choices.choices
    }


HC_BADGES = _badges(HealthcodeStatus, _HC_TONE)
RECORD_BADGES = _badges(RecordStatus, _RECORD_TONE)
PAY_BADGES = _badges(PaymentOutcome, _PAY_TONE)


def _badge(badges: dict[str, SafeString], value) -> SafeString:
    found = badges.get(value)
    # A value the choices do not know (an old row) shows as itself, as get_FOO_display would.
    return found if found is not None else format_html('<span class="badge ">{}</span>', value)


@register.filter
def hc_badge(invoice) -> SafeString:
    return _badge(HC_BADGES, invoice.healthcode_status)


@register.filter
def record_badge(invoice) -> SafeString:
    return _badge(RECORD_BADGES, invoice.record_status)


@register.filter
def pay_badge(invoice) -> SafeString:
    return _badge(PAY_BADGES, invoice.payment_outcome)


@register.filter
def invoice_ref(invoice) -> SafeString:
    """An invoice's number as a link in a list; a draft has no number yet, and says so without a
    figure that reads like one."""
    url = reverse("billing:detail", args=[invoice.id])
    if invoice.number:
        return format_html('<a href="{}">{}</a>', url, invoice.number)
    return format_html('<a href="{}"><span class="draft-ref">— (draft)</span></a>', url)
