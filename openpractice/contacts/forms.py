from django import forms
from django.urls import reverse_lazy

from openpractice.coding.selectors import get_insurer, search_insurers
from openpractice.contacts.models import ContactType
from openpractice.widgets import TypeaheadWidget


class ContactForm(forms.Form):
    contact_type = forms.ChoiceField(label="Type", choices=ContactType.choices)
    name = forms.CharField(label="Name", max_length=200)
    insurer = forms.CharField(
        label="Healthcode identifier (Insurance)",
        required=False,
        help_text="For an insurer: pick it from the Healthcode insurer directory (type Bupa, AXA, or an identifier such as bup).",
    )
    email = forms.EmailField(label="Email address", required=False)
    phone = forms.CharField(label="Phone", max_length=30, required=False)
    address_line1 = forms.CharField(label="Address line 1", max_length=200, required=False)
    address_line2 = forms.CharField(label="Address line 2", max_length=200, required=False)
    city = forms.CharField(label="Town or city", max_length=100, required=False)
    postcode = forms.CharField(label="Postcode", max_length=10, required=False)
    usual_days_to_pay = forms.IntegerField(
        label="Usual days to pay",
        required=False,
        min_value=0,
        max_value=365,
        initial=30,
        help_text="For an insurer: its bills show on the insurer debt list once unpaid for longer (AXA asks not to be chased before 30 days).",
    )
    notes = forms.CharField(label="Notes", required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, practice, **kwargs):
        super().__init__(*args, **kwargs)
        self.practice = practice
        self.fields["insurer"].widget = TypeaheadWidget(
            source_url=reverse_lazy("coding:insurer_options"),
            label_for_value=self._insurer_label,
            placeholder="Type an insurer's name or identifier",
        )

    def _insurer_label(self, value: str) -> str:
        insurer = self._insurer(value)
        return str(insurer) if insurer else value

    def _insurer(self, value):
        if not value:
            return None
        if str(value).isdigit():
            return get_insurer(practice=self.practice, insurer_id=int(value))
        # Typed without choosing (no JavaScript): an identifier or a name that matches one entry.
        matches = search_insurers(practice=self.practice, query=str(value))
        return (
            matches[0]
            if len(matches) == 1 or (matches and matches[0].healthcode_identifier == str(value).lower())
            else None
        )

    def clean_insurer(self):
        value = self.cleaned_data.get("insurer")
        insurer = self._insurer(value)
        if value and insurer is None:
            raise forms.ValidationError(
                "No insurer in the directory matches that: type part of its name and choose one from the list."
            )
        return insurer

    def clean(self):
        data = super().clean()
        if data.get("contact_type") == ContactType.INSURER and not data.get("insurer") and "insurer" not in self.errors:
            self.add_error("insurer", "Choose the Healthcode identifier (Insurance) from the insurer directory.")
        return data
