from django import forms

from openpractice.healthcode.models import HealthcodeEnvironment
from openpractice.practices.validators import validate_site_id


class HealthcodeCredentialsForm(forms.Form):
    environment = forms.ChoiceField(choices=HealthcodeEnvironment.choices, label="Environment")
    discovery_url = forms.URLField(
        label="Discovery document URL",
        max_length=500,
        required=False,
        assume_scheme="https",
        help_text="Where the clearing house publishes its endpoints: Healthcode's is "
        "https://api.healthcode.co.uk/.well-known/discovery-document.json (UAT: the same path on the UAT host). "
        "Type just the host's address and OpenPractice adds that path; leave blank for the environment's own "
        "address. Only Healthcode, the sandbox and hosts your administrator allows can be used.",
        widget=forms.URLInput(
            attrs={"placeholder": "https://api.healthcode.co.uk/.well-known/discovery-document.json"}
        ),
    )
    site_id = forms.CharField(label="Site ID", max_length=20, validators=[validate_site_id])
    api_key_id = forms.CharField(label="API key id", max_length=200)
    api_key = forms.CharField(
        label="API key",
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Stored encrypted and never shown again. Leave blank to keep the key already set (not possible "
        "when the environment, discovery URL or API key id changes).",
    )
