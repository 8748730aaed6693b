from django import forms
from django.contrib.auth.forms import AuthenticationForm

from openpractice.accounts.validators import normalise_digits, validate_gmc_number, validate_healthcode_identifier


class EmailLoginForm(AuthenticationForm):
    username = forms.EmailField(
        label="Email address", widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"})
    )

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": "That email address and password do not match. Check both and try again.",
        "throttled": "Too many failed attempts. Wait 15 minutes, or reset your password.",
    }

    def __init__(self, request=None, *args, **kwargs):
        super().__init__(request, *args, **kwargs)
        self.fields["password"].widget.attrs["autocomplete"] = "current-password"


class ApiTokenForm(forms.Form):
    name = forms.CharField(max_length=100, label="Token name", help_text="What it is for, e.g. “Accounts export”.")


class PractitionerProfileForm(forms.Form):
    healthcode_identifier = forms.CharField(
        label="Healthcode identifier",
        max_length=12,
        required=False,
        help_text="Digits only: usually the GMC number with its leading zero (such as 0651978), or the number "
        "Healthcode issued.",
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    gmc_number = forms.CharField(
        label="GMC number",
        max_length=9,
        required=False,
        help_text="7 digits.",
        widget=forms.TextInput(attrs={"inputmode": "numeric"}),
    )
    specialty = forms.CharField(
        label="Specialty", max_length=120, required=False, help_text="Such as Trauma and orthopaedic surgery."
    )
    professional_title = forms.CharField(
        label="Professional title",
        max_length=120,
        required=False,
        help_text="As it appears on bills, such as Consultant Orthopaedic Surgeon.",
    )

    def clean_healthcode_identifier(self):
        value = normalise_digits(self.cleaned_data.get("healthcode_identifier"))
        validate_healthcode_identifier(value)
        return value

    def clean_gmc_number(self):
        value = normalise_digits(self.cleaned_data.get("gmc_number"))
        validate_gmc_number(value)
        return value


def _code_widget(*, numeric: bool) -> forms.TextInput:
    attrs = {"autocomplete": "one-time-code", "autocapitalize": "off", "spellcheck": "false", "autofocus": True}
    if numeric:
        attrs["inputmode"] = "numeric"
    return forms.TextInput(attrs=attrs)


class TwoFactorCodeForm(forms.Form):
    """The code step of sign-in: the app's 6 digits or a recovery code."""

    code = forms.CharField(
        label="Code",
        max_length=32,
        widget=_code_widget(numeric=False),
        help_text="The 6-digit code your authenticator app shows now, or one of your recovery codes.",
        error_messages={"required": "Enter the code from your authenticator app, or a recovery code."},
    )


class TwoFactorSetupForm(forms.Form):
    code = forms.CharField(
        label="Code from the app",
        max_length=12,
        widget=_code_widget(numeric=True),
        help_text="The 6 digits the app shows for OpenPractice, such as 123456.",
        error_messages={"required": "Enter the 6-digit code the app shows, to prove it is set up."},
    )


class RecoveryCodesForm(forms.Form):
    code = forms.CharField(
        label="Current code",
        max_length=32,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code"}),
        help_text="From your authenticator app (or an unused recovery code).",
        error_messages={"required": "Enter a code from your authenticator app."},
    )


class TurnOffTwoFactorForm(forms.Form):
    code = forms.CharField(
        label="Code from your authenticator app or a recovery code",
        max_length=32,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code"}),
    )
    password = forms.CharField(
        label="Or your password",
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        help_text="Use this if you no longer have the app or any recovery codes.",
    )

    def clean(self):
        data = super().clean()
        if not (data.get("code") or "").strip() and not data.get("password"):
            self.add_error("code", "Enter a code from your authenticator app, or your password below.")
        return data
