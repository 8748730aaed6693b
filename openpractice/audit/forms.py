from django import forms

from openpractice.audit.models import ReadKind
from openpractice.audit.registry import RECORD_TYPES


class ReadLogFilterForm(forms.Form):
    user = forms.TypedChoiceField(label="User", required=False, coerce=int, empty_value=None)
    kind = forms.ChoiceField(label="Kind", required=False, choices=[("", "Any kind"), *ReadKind.choices])
    start = forms.DateField(
        label="From",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="A date such as 2026-03-01.",
    )
    end = forms.DateField(
        label="To", required=False, widget=forms.DateInput(attrs={"type": "date"}), help_text="Inclusive."
    )
    object_type = forms.ChoiceField(label="Record type", required=False, choices=[("", "Any record"), *RECORD_TYPES])
    object_id = forms.IntegerField(
        label="Record id",
        required=False,
        min_value=1,
        help_text="The number in the record's address, such as 12 in /patients/12/.",
    )

    def __init__(self, *args, users=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["user"].choices = [
            ("", "Anyone"),
            *[(u.pk, f"{u.full_name or u.email} ({u.email})") for u in users],
        ]

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end") and data["end"] < data["start"]:
            self.add_error("end", "The end date must be on or after the start date.")
        if data.get("object_id") and not data.get("object_type"):
            self.add_error("object_type", "Choose whether the record is a patient or an invoice.")
        return data
