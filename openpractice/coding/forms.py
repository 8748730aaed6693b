"""Forms: the code picker field other apps reuse, the import upload, and the insurer editor."""

from __future__ import annotations

from django import forms
from django.urls import reverse_lazy

from openpractice.coding import selectors
from openpractice.coding.models import (
    IMPORTABLE_SYSTEMS,
    CodeSystem,
    FindMemberField,
    ImportKind,
    Insurer,
    MemberCheck,
    healthcode_identifier_validator,
)
from openpractice.coding.normalise import code_key
from openpractice.widgets import TypeaheadWidget, option_label

MAX_IMPORT_BYTES = 50 * 1024 * 1024


class CodeField(forms.CharField):
    """A code of one system, picked by type-ahead; cleans to the code as stored ("W8500").

    The form must call `field.set_practice(practice)` (codes can be the practice's own), e.g.
    in its __init__. `allow_inactive=False` refuses codes not active today.
    """

    def __init__(self, *, system: str, allow_inactive: bool = False, **kwargs):
        self.system = system
        self.allow_inactive = allow_inactive
        self.practice = None
        kwargs.setdefault("max_length", 16)
        kwargs.setdefault(
            "widget",
            TypeaheadWidget(
                source_url=reverse_lazy("coding:code_options"),
                params={"system": system, **({"inactive": "1"} if allow_inactive else {})},
            ),
        )
        super().__init__(**kwargs)

    def set_practice(self, practice) -> None:
        self.practice = practice
        self.widget.label_for_value = self._label_for_value

    def _label_for_value(self, value: str) -> str:
        found = selectors.get_code(practice=self.practice, system=self.system, code=value)
        return option_label(found.code, found.description) if found else value

    def clean(self, value):
        value = super().clean(value)
        if not value:
            return value
        label = CodeSystem(self.system).label
        if not code_key(value):
            raise forms.ValidationError(f"Enter a {label.lower()}, e.g. by typing it and choosing from the list.")
        found = selectors.get_code(practice=self.practice, system=self.system, code=value)
        if found is None:
            raise forms.ValidationError(
                f"“{value}” is not a known {label.lower()}. Type a code or words and choose from the list."
            )
        if not self.allow_inactive and not found.is_active_on(selectors.today()):
            raise forms.ValidationError(
                f"{found.code} is not active today (retired or not yet in use); choose an active code."
            )
        return found.code


class InsurerField(forms.ModelChoiceField):
    """An insurer of the practice's directory, picked by type-ahead; cleans to an Insurer."""

    def __init__(self, **kwargs):
        kwargs.setdefault(
            "widget",
            TypeaheadWidget(
                source_url=reverse_lazy("coding:insurer_options"), placeholder="Type a name or Healthcode identifier"
            ),
        )
        super().__init__(queryset=Insurer.objects.none(), **kwargs)

    def set_practice(self, practice) -> None:
        self.queryset = selectors.insurers_for_practice(practice=practice)
        self.widget.label_for_value = lambda value: next(
            (str(i) for i in self.queryset.filter(pk=value) if str(value).isdigit()), str(value)
        )


class CodeLookupForm(forms.Form):
    """Settings > Coding > Find a code: the three pickers, to look a code up (and to try them)."""

    procedure_code = CodeField(system=CodeSystem.CCSD, label="Procedure code", required=False, allow_inactive=True)
    industry_standard_code = CodeField(
        system=CodeSystem.ISC, label="Industry standard code", required=False, allow_inactive=True
    )
    diagnosis = CodeField(system=CodeSystem.ICD10, label="Diagnosis (ICD-10)", required=False, allow_inactive=True)

    def __init__(self, *args, practice, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.set_practice(practice)


class ImportForm(forms.Form):
    kind = forms.ChoiceField(
        label="What the file holds", choices=ImportKind.choices, widget=forms.RadioSelect, initial=ImportKind.CODES
    )
    system = forms.ChoiceField(
        label="Code system", choices=[(s.value, s.label) for s in IMPORTABLE_SYSTEMS], initial=CodeSystem.CCSD
    )
    insurer = forms.ModelChoiceField(
        label="Insurer (for an accepted-code list)",
        queryset=Insurer.objects.none(),
        required=False,
        empty_label="Choose the insurer",
    )
    file = forms.FileField(
        label="CSV file",
        help_text=(
            "UTF-8 CSV with a header row. Columns: code, description, and optionally active from, active to "
            "(YYYY-MM-DD or DD/MM/YYYY) and, for accepted codes, max fee."
        ),
    )
    retire_missing = forms.BooleanField(label="Retire codes that are not in this file", required=False, initial=True)

    def __init__(self, *args, practice, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["insurer"].queryset = selectors.insurers_for_practice(practice=practice)

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_IMPORT_BYTES:
            raise forms.ValidationError(
                f"The file is {upload.size // (1024 * 1024)} MB; the limit is "
                f"{MAX_IMPORT_BYTES // (1024 * 1024)} MB. Split it, or use manage.py import_codes."
            )
        if upload.size == 0:
            raise forms.ValidationError("The file is empty; choose a CSV file with a header row and codes.")
        return upload

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("kind") == ImportKind.ACCEPTED and not cleaned.get("insurer"):
            self.add_error("insurer", "Choose the insurer whose accepted codes this file lists.")
        return cleaned


class InsurerForm(forms.ModelForm):
    find_member_fields = forms.MultipleChoiceField(
        label="Find Member needs",
        choices=FindMemberField.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="The patient details a membership enquiry sends for this insurer.",
    )

    class Meta:
        model = Insurer
        fields = ["name", "healthcode_identifier", "member_check", "find_member_fields", "is_active"]
        widgets = {"member_check": forms.RadioSelect}
        labels = {"healthcode_identifier": "Healthcode identifier"}
        help_texts = {
            "healthcode_identifier": (
                "Healthcode's identifier for this insurer: 2 to 10 lower-case letters or digits, e.g. bup (Bupa), "
                "ppp (AXA Health). “Sync from Healthcode” on the insurer directory fills the ones Healthcode "
                "lists; one typed here is kept by every sync."
            ),
        }

    def __init__(self, *args, focus_identifier: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if focus_identifier:  # arrived from a "no Healthcode identifier yet: set it" link
            self.fields["healthcode_identifier"].widget.attrs["autofocus"] = True

    def clean_healthcode_identifier(self):
        value = self.cleaned_data["healthcode_identifier"].strip().lower()
        if value:
            healthcode_identifier_validator(value)
        return value

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("member_check") == MemberCheck.DATABASE and "membershipNumber" not in cleaned.get(
            "find_member_fields", []
        ):
            self.add_error("find_member_fields", "A database check needs at least the registration number.")
        return cleaned
