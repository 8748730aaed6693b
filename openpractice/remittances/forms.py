"""Forms for the remittance pages: field-level messages that say what would be valid."""

from __future__ import annotations

from django import forms

from openpractice.remittances.models import ShortfallRule
from openpractice.remittances.parsing import CSV_FIELDS, DEFAULT_MAPPING


class BankAmountForm(forms.Form):
    bank_amount = forms.CharField(
        label="Amount on the bank statement (£)",
        max_length=20,
        help_text="As the BACS credit shows on the statement, such as 1,250.00.",
    )


class SetAsideForm(forms.Form):
    reason = forms.CharField(
        label="Why set aside",
        max_length=300,
        help_text="For example: paid to another practice, or refunded to the insurer.",
    )


class MatchNumberForm(forms.Form):
    invoice_number = forms.CharField(label="Invoice number", max_length=20, help_text="Such as INV000042.")


class ReverseForm(forms.Form):
    reason = forms.CharField(label="Why reverse", max_length=300)


class ShortfallSettingsForm(forms.Form):
    shortfall_rule = forms.ChoiceField(label="Shortfalls", choices=ShortfallRule.choices, widget=forms.RadioSelect)
    automatic_codes = forms.CharField(
        label="Only these reason codes (optional)",
        required=False,
        max_length=200,
        help_text="Comma-separated, such as benefit-maximum. Blank: every reason.",
    )


class ImportForm(forms.Form):
    kind = forms.ChoiceField(
        label="File type",
        choices=[
            ("fhir", "Healthcode remittance file (.json, as downloaded from Healthcode)"),
            ("csv", "CSV from the insurer"),
        ],
        initial="fhir",
    )
    file = forms.FileField(label="Remittance file")
    insurer_identifier = forms.CharField(
        label="Healthcode identifier (Insurance)",
        required=False,
        max_length=10,
        help_text="CSV only: the insurer that paid, such as bup.",
    )
    payment_reference = forms.CharField(
        label="BACS reference", required=False, max_length=60, help_text="CSV only: as on the remittance advice."
    )
    payment_date = forms.DateField(
        label="Date paid", required=False, widget=forms.DateInput(attrs={"type": "date"}), help_text="CSV only."
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field, meaning in CSV_FIELDS.items():
            self.fields[f"column_{field}"] = forms.CharField(
                label=f"Column for {meaning.lower()}",
                required=False,
                max_length=60,
                initial=DEFAULT_MAPPING.get(field, ""),
            )

    def mapping(self) -> dict:
        return {field: self.cleaned_data.get(f"column_{field}", "") for field in CSV_FIELDS}


class OverrideShortfallForm(forms.Form):
    kind = forms.ChoiceField(
        label="Who owes it", choices=[("underpayment", "Insurer underpayment"), ("patient", "Patient liability")]
    )
    reason = forms.CharField(label="Reason", max_length=300, help_text="Kept with who changed it and when.")
