from __future__ import annotations

from django import forms

from openpractice.imports.fields import fields_of
from openpractice.imports.models import ImportKind


class UploadForm(forms.Form):
    kind = forms.ChoiceField(label="What the file holds", choices=ImportKind.choices, widget=forms.RadioSelect)
    source_name = forms.CharField(
        label="Exported from",
        max_length=60,
        help_text="The system the file comes from, such as PPM, Xero or Healthcode Practice Manager: "
        "its column choices are remembered for the next file.",
    )
    file = forms.FileField(label="CSV file", help_text="A .csv export with a header row naming the columns.")


def mapping_form(run, data=None) -> forms.Form:
    """One choice per field of the kind: which column of the file holds it (or none)."""
    choices = [("", "— not in this file —")] + [(h, h) for h in run.headers if h]
    form = forms.Form(data)
    for field in fields_of(run.kind):
        form.fields[field.name] = forms.ChoiceField(
            label=field.label,
            choices=choices,
            required=field.required,
            help_text=field.help,
            initial=run.mapping.get(field.name, ""),
        )
    return form
