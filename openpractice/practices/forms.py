from django import forms
from django.contrib.auth.forms import SetPasswordForm

from openpractice.practices.models import Location, Practice
from openpractice.practices.roles import Role
from openpractice.practices.validators import (
    normalise_600,
    normalise_postcode,
    validate_600_number,
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
        fields = [
            "name",
            "address_line1",
            "address_line2",
            "city",
            "postcode",
            "phone",
            "email",
            "website",
            "bank_account_name",
            "bank_sort_code",
            "bank_account_number",
            "require_two_factor",
        ]


class LocationForm(PostcodeMixin, forms.ModelForm):
    class Meta:
        model = Location
        fields = [
            "name",
            "address_line1",
            "address_line2",
            "city",
            "postcode",
            "phone",
            "healthcode_600_number",
            "is_provider",
            "is_payee",
            "is_active",
        ]
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
        if (
            (data.get("is_provider") or data.get("is_payee"))
            and not data.get("healthcode_600_number")
            and "healthcode_600_number" not in self.errors
        ):
            self.add_error(
                "healthcode_600_number",
                "A location that bills as provider or payee needs its Healthcode "
                "“600” number (600 followed by 6 digits).",
            )
        return data


class InviteMemberForm(forms.Form):
    email = forms.EmailField(
        label="Email address", help_text="They get an email with a link; they join when they accept it."
    )
    full_name = forms.CharField(
        max_length=150, label="Their name", required=False, help_text="Used to greet them in the email. Optional."
    )
    role = forms.ChoiceField(choices=Role.choices)


class AcceptInvitationForm(SetPasswordForm):
    """Set a password and accept: Django's set-password form (the password reset path's own, with
    the same validators), plus the person's name."""

    full_name = forms.CharField(max_length=150, label="Your full name")
    field_order = ["full_name", "new_password1", "new_password2"]

    def __init__(self, user, *args, **kwargs):
        super().__init__(user, *args, **kwargs)
        self.fields["full_name"].widget.attrs["autocomplete"] = "name"
        self.fields["new_password1"].label = "Choose a password"
        self.fields["new_password1"].help_text = "At least 10 characters; not a common password or all digits."
        self.fields["new_password2"].label = "The same password again"
        self.order_fields(self.field_order)

    def clean(self):
        # The similarity validator compares the password with the name typed here, not the placeholder's.
        self.user.full_name = self.cleaned_data.get("full_name", "")
        return super().clean()


class MemberForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)
    is_active = forms.BooleanField(label="Active (can log in to this practice)", required=False)
