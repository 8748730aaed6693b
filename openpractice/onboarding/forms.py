"""The one onboarding form, in four parts (each its own Django form with a prefix, shown as a card)."""

from __future__ import annotations

from django import forms

from openpractice.healthcode.models import HealthcodeEnvironment
from openpractice.reports.consultant_forms import MonthField
from openpractice.reports.consultant_models import FeeKind


class PracticeForm(forms.Form):
    name = forms.CharField(
        label="Practice name", max_length=200, help_text="Usually the consultant's name, such as Mr Sam Surgeon."
    )
    address_line1 = forms.CharField(label="Address line 1", max_length=200, required=False)
    city = forms.CharField(label="Town or city", max_length=100, required=False)
    postcode = forms.CharField(max_length=10, required=False)
    phone = forms.CharField(max_length=30, required=False)
    email = forms.EmailField(label="Practice email", required=False)


class ConsultantForm(forms.Form):
    full_name = forms.CharField(label="Consultant's full name", max_length=150)
    email = forms.EmailField(
        label="Consultant's email", help_text="They are invited to sign in, and sent the monthly report."
    )
    healthcode_identifier = forms.CharField(label="Healthcode identifier", max_length=12, required=False)
    gmc_number = forms.CharField(label="GMC number", max_length=9, required=False)
    specialty = forms.CharField(max_length=120, required=False)
    professional_title = forms.CharField(label="Professional title", max_length=120, required=False)


class HealthcodeForm(forms.Form):
    environment = forms.ChoiceField(choices=HealthcodeEnvironment.choices, initial=HealthcodeEnvironment.SANDBOX)
    site_id = forms.CharField(
        label="Site ID", max_length=20, required=False, help_text="Leave blank to set Healthcode up later."
    )
    api_key_id = forms.CharField(label="API key id", max_length=200, required=False)
    api_key = forms.CharField(label="API key", required=False, widget=forms.PasswordInput(render_value=False))
    discovery_url = forms.CharField(
        label="Discovery document URL", max_length=500, required=False, help_text="Blank: the environment's own."
    )


class FeeForm(forms.Form):
    kind = forms.ChoiceField(
        label="How the bureau charges", choices=[("", "Set later"), *FeeKind.choices], required=False
    )
    percentage = forms.DecimalField(
        label="Percentage of collected", required=False, min_value=0, max_value=100, decimal_places=2
    )
    monthly_fee = forms.DecimalField(label="Fixed monthly fee (£)", required=False, min_value=0, decimal_places=2)
    effective_from = MonthField(label="From (month)", required=False)
