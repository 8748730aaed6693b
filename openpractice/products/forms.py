from decimal import Decimal

from django import forms
from django.urls import reverse_lazy

from openpractice.coding.models import CodeSystem
from openpractice.coding.selectors import get_code
from openpractice.products.models import PROCEDURE_TYPES, ProductType, VatTreatment
from openpractice.widgets import TypeaheadWidget


def _code_widget(practice, system):
    def label(value):
        code = get_code(practice=practice, system=system, code=value)
        return f"{code.code} — {code.description}" if code else value

    return TypeaheadWidget(
        source_url=reverse_lazy("coding:code_options"), params={"system": system}, label_for_value=label
    )


class ProductForm(forms.Form):
    product_type = forms.ChoiceField(
        label="Type", choices=ProductType.choices, widget=forms.RadioSelect, initial=ProductType.APPOINTMENT
    )
    name = forms.CharField(label="Name", max_length=200)
    procedure_type = forms.CharField(
        label="Procedure type",
        max_length=100,
        required=False,
        help_text="Pick from the list or type your own.",
        widget=forms.TextInput(attrs={"list": "procedure-types", "autocomplete": "off"}),
    )
    duration_minutes = forms.IntegerField(
        label="Duration (minutes)", required=False, min_value=5, max_value=1440, help_text="Needed for appointments."
    )
    list_price = forms.DecimalField(
        label="List price (£)",
        max_digits=10,
        decimal_places=2,
        min_value=Decimal("0"),
        help_text="What a self-paying patient pays, before any VAT.",
    )
    vat_treatment = forms.ChoiceField(
        label="VAT treatment",
        choices=VatTreatment.choices,
        initial=VatTreatment.EXEMPT,
        help_text="Medical care by a registered practitioner is usually exempt.",
    )
    industry_standard_code = forms.CharField(label="Industry standard code", max_length=16, required=False)
    procedure_code = forms.CharField(
        label="Procedure code", max_length=16, required=False, help_text="A CCSD code, where the insurer requires one."
    )

    def __init__(self, *args, practice, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["industry_standard_code"].widget = _code_widget(practice, CodeSystem.ISC)
        self.fields["procedure_code"].widget = _code_widget(practice, CodeSystem.CCSD)
        self.procedure_types = PROCEDURE_TYPES

    def product_fields(self):
        return [
            self[name]
            for name in ("product_type", "name", "procedure_type", "duration_minutes", "list_price", "vat_treatment")
        ]

    def healthcode_fields(self):
        return [self["industry_standard_code"], self["procedure_code"]]

    def clean(self):
        data = super().clean()
        if (
            data.get("product_type") == ProductType.APPOINTMENT
            and not data.get("duration_minutes")
            and "duration_minutes" not in self.errors
        ):
            self.add_error("duration_minutes", "Enter how long the appointment lasts, in minutes (such as 30).")
        return data


class ContractPriceForm(forms.Form):
    insurer_contact = forms.ChoiceField(label="Insurer")
    price = forms.DecimalField(label="Contract price (£)", max_digits=10, decimal_places=2, min_value=Decimal("0"))
    valid_from = forms.DateField(
        label="Valid from",
        help_text="Such as 01/01/2026.",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    valid_to = forms.DateField(
        label="Valid to",
        required=False,
        help_text="Leave blank while the contract runs.",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )

    def __init__(self, *args, insurers, **kwargs):
        super().__init__(*args, **kwargs)
        self.insurers = {str(c.id): c for c in insurers}
        self.fields["insurer_contact"].choices = [("", "Choose an insurer")] + [
            (
                str(c.id),
                f"{c.name} ({c.insurer.healthcode_identifier})"
                if c.insurer and c.insurer.healthcode_identifier
                else c.name,
            )
            for c in insurers
        ]

    def clean_insurer_contact(self):
        return self.insurers[self.cleaned_data["insurer_contact"]]
