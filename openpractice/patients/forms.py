from django import forms
from django.urls import reverse_lazy

from openpractice.patients.models import RelationshipType, Sex
from openpractice.patients.selectors import resolve_person
from openpractice.patients.validators import normalise_nhs_number, validate_nhs_number
from openpractice.widgets import TypeaheadWidget


class PatientForm(forms.Form):
    title = forms.CharField(label="Title", max_length=20, required=False, help_text="Such as Mr, Mrs, Ms, Dr.")
    first_name = forms.CharField(label="First name", max_length=100)
    last_name = forms.CharField(label="Last name", max_length=100)
    date_of_birth = forms.DateField(
        label="Date of birth",
        help_text="Such as 12/04/1980.",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    sex = forms.ChoiceField(label="Sex", choices=Sex.choices, initial=Sex.UNKNOWN)
    nhs_number = forms.CharField(
        label="NHS number",
        max_length=14,
        required=False,
        help_text="10 digits, such as 943 476 5919.",
        widget=forms.TextInput(attrs={"inputmode": "numeric"}),
    )
    phone = forms.CharField(label="Phone", max_length=30, required=False)
    email = forms.EmailField(label="Email address", required=False)
    address_line1 = forms.CharField(label="Address line 1", max_length=200, required=False)
    address_line2 = forms.CharField(label="Address line 2", max_length=200, required=False)
    city = forms.CharField(label="Town or city", max_length=100, required=False)
    postcode = forms.CharField(
        label="Postcode",
        max_length=10,
        required=False,
        help_text="Insurers match the postcode when they check membership.",
    )

    def clean_nhs_number(self):
        value = normalise_nhs_number(self.cleaned_data.get("nhs_number"))
        validate_nhs_number(value)
        return value


def _person_label(practice):
    def label(value: str) -> str:
        person = resolve_person(practice=practice, value=value)
        return str(person) if person else value

    return label


class RelationshipForm(forms.Form):
    relationship_type = forms.ChoiceField(
        label="Relationship type", choices=[("", "Choose…")] + RelationshipType.choices
    )
    related = forms.CharField(
        label="Patient or contact name",
        help_text="Type a name and choose a patient or contact. Add insurers under Contacts first.",
    )
    registration_number = forms.CharField(
        label="Registration number",
        max_length=30,
        required=False,
        help_text="The membership or policy number, exactly as on the insurer's card.",
    )
    authorisation_code = forms.CharField(
        label="Authorisation code",
        max_length=30,
        required=False,
        help_text="Optional: the pre-authorisation number the insurer gave.",
    )
    authorised_sessions = forms.IntegerField(label="Authorised sessions", required=False, min_value=1, max_value=999)
    authorisation_expires = forms.DateField(
        label="Authorisation expires", required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    notes = forms.CharField(label="Notes", max_length=200, required=False)

    INSURANCE_FIELDS = ("registration_number", "authorisation_code", "authorised_sessions", "authorisation_expires")

    def __init__(self, *args, practice, **kwargs):
        super().__init__(*args, **kwargs)
        self.practice = practice
        self.fields["related"].widget = TypeaheadWidget(
            source_url=reverse_lazy("patients:people_options"),
            label_for_value=_person_label(practice),
            placeholder="Type a name",
        )

    def has_anything_typed(self) -> bool:
        """Whether the person filled in any of it (a bound form): then it is saved, or refused
        with its errors, never silently dropped."""
        return any(self[name].data not in (None, "") for name in self.fields)

    def general_fields(self):
        return [self["relationship_type"], self["related"], self["notes"]]

    def insurance_fields(self):
        return [self[name] for name in self.INSURANCE_FIELDS]

    def clean_related(self):
        value = self.cleaned_data.get("related")
        person = resolve_person(practice=self.practice, value=value)
        if person is None:
            raise forms.ValidationError("Choose a patient or contact from the list (type part of the name).")
        return person
