"""The consultant report's settings forms: the bureau's fee, and where the report is sent."""

from __future__ import annotations

from django import forms

from openpractice.reports import consultant
from openpractice.reports.consultant_models import FeeKind


class MonthField(forms.CharField):
    widget = forms.TextInput(attrs={"type": "month", "placeholder": "YYYY-MM"})

    def to_python(self, value):
        text = super().to_python(value)
        if not text:
            return None
        month = consultant.parse_month(text)
        if month is None:
            raise forms.ValidationError("Enter a month such as 2026-11.")
        return month


class FeeAgreementForm(forms.Form):
    kind = forms.ChoiceField(label="The bureau's fee", choices=FeeKind.choices, widget=forms.RadioSelect)
    percentage = forms.DecimalField(
        label="Percentage of what was collected",
        required=False,
        min_value=0,
        max_value=100,
        decimal_places=2,
        help_text="For a percentage fee, such as 7.5 for 7.5%.",
    )
    monthly_fee = forms.DecimalField(
        label="Fixed monthly fee (£)",
        required=False,
        min_value=0,
        decimal_places=2,
        help_text="For a fixed fee, such as 450.00.",
    )
    effective_from = MonthField(label="Takes effect from (month)", help_text="Earlier months keep their fee.")


class RecipientsForm(forms.Form):
    emails = forms.CharField(
        label="Send the report to",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="The consultant's email addresses, one a line.",
    )
    send_monthly = forms.BooleanField(label="Send last month's report on the 1st of each month", required=False)
