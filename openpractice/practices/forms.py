from django import forms

from openpractice.practices.models import HealthcodeEnvironment, Location, Practice
from openpractice.practices.roles import Role
from openpractice.practices.validators import (
    normalise_600,
    normalise_postcode,
    validate_600_number,
    validate_site_id,
    validate_uk_postcode,
)


class PostcodeMixin:
    def clean_postcode(self):
        value = self.cleaned_data.get("postcode", "")
        validate_uk_postcode(value)
        return normalise_postcode(value) if value else ""


class PracticeForm(PostcodeMixin, forms.ModelForm):
    class Meta:
        model = Practice
        fields = ["name", "address_line1", "address_line2", "city", "postcode", "phone", "email", "website",
                  "require_two_factor"]


class LocationForm(PostcodeMixin, forms.ModelForm):
    class Meta:
        model = Location
        fields = ["name", "address_line1", "address_line2", "city", "postcode", "phone",
                  "healthcode_600_number", "is_provider", "is_payee", "is_active"]
        help_texts = {
            "healthcode_600_number": "For a location that bills as provider or payee: 600 followed by 6 digits, "
                                     "such as 600123456.",
        }
        widgets = {"healthcode_600_number": forms.TextInput(attrs={"inputmode": "numeric"})}

    def clean_healthcode_600_number(self):
        value = normalise_600(self.cleaned_data.get("healthcode_600_number"))
        validate_600_number(value)
        return value

    def clean(self):
        data = super().clean()
        if (data.get("is_provider") or data.get("is_payee")) and not data.get("healthcode_600_number") \
                and "healthcode_600_number" not in self.errors:
            self.add_error("healthcode_600_number", "A location that bills as provider or payee needs its Healthcode "
                                                    "“600” number (600 followed by 6 digits).")
        return data


class AddMemberForm(forms.Form):
    INVITE = "invite"
    PASSWORD = "password"
    full_name = forms.CharField(max_length=150, label="Full name")
    email = forms.EmailField(label="Email address")
    role = forms.ChoiceField(choices=Role.choices)
    how = forms.ChoiceField(
        label="How they get in",
        choices=[(INVITE, "Email them an invitation to set a password"), (PASSWORD, "Set a password now")],
        initial=INVITE,
        widget=forms.RadioSelect,
    )
    password = forms.CharField(
        label="Password", required=False, widget=forms.PasswordInput(render_value=False),
        help_text="At least 10 characters; only if you set a password now.",
    )

    def clean(self):
        data = super().clean()
        if data.get("how") == self.PASSWORD:
            password = data.get("password") or ""
            if not password:
                self.add_error("password", "Enter a password, or choose to send an invitation.")
            else:
                from django.contrib.auth.password_validation import validate_password

                try:
                    validate_password(password)
                except forms.ValidationError as exc:
                    self.add_error("password", exc)
        return data


class MemberForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)
    is_active = forms.BooleanField(label="Active (can log in to this practice)", required=False)


class HealthcodeCredentialsForm(forms.Form):
    environment = forms.ChoiceField(choices=HealthcodeEnvironment.choices, label="Environment")
    discovery_url = forms.URLField(
        label="Discovery document URL", max_length=500, required=False,
        help_text="Where the clearing house publishes its endpoints. Leave blank for the environment's own "
                  "address. Only Healthcode, the sandbox and hosts your administrator allows can be used.",
    )
    site_id = forms.CharField(label="Site ID", max_length=20, validators=[validate_site_id])
    api_key_id = forms.CharField(label="API key id", max_length=200)
    api_key = forms.CharField(
        label="API key", required=False, widget=forms.PasswordInput(render_value=False),
        help_text="Stored encrypted and never shown again. Leave blank to keep the key already set (not possible "
                  "when the environment, discovery URL or API key id changes).",
    )
