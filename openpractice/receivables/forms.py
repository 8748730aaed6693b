"""Collections forms: the chase schedule (five stages, each with days and templates)."""

from __future__ import annotations

from django import forms

from openpractice.receivables.models import StageKey
from openpractice.receivables.schedule import MERGE_FIELDS, Stage, field_name


class ScheduleForm(forms.Form):
    """One group of fields per stage, named `<stage>-<field>`, plus the patient to preview with."""

    preview_patient = forms.TypedChoiceField(label="Preview with", coerce=int, required=False)

    def __init__(self, *args, stages: list[Stage], patients: list[tuple[int, str]], **kwargs):
        initial = {field_name(s.key, f): getattr(s, f) for s in stages for f in Stage.__dataclass_fields__}
        if patients:
            initial["preview_patient"] = patients[0][0]
        kwargs["initial"] = initial
        super().__init__(*args, **kwargs)
        self.stages = stages
        preview = self.fields["preview_patient"]
        assert isinstance(preview, forms.TypedChoiceField)
        preview.choices = patients
        help_merge = "Merge fields: " + ", ".join(f"{{{{ {name} }}}} ({what})" for name, what in MERGE_FIELDS.items())
        for stage in stages:
            k = stage.key
            self.fields[field_name(k, "enabled")] = forms.BooleanField(label="Send this stage", required=False)
            self.fields[field_name(k, "days_overdue")] = forms.IntegerField(
                label="Days overdue", min_value=0, max_value=3650, help_text="Days after the bill fell due."
            )
            self.fields[field_name(k, "email_subject")] = forms.CharField(
                label="Email subject", max_length=200, required=False
            )
            self.fields[field_name(k, "email_body")] = forms.CharField(
                label="Email", widget=forms.Textarea(attrs={"rows": 6}), required=False, help_text=help_merge
            )
            self.fields[field_name(k, "letter_body")] = forms.CharField(
                label="Letter", widget=forms.Textarea(attrs={"rows": 6}), required=False
            )

    def stage_groups(self):
        """(stage, its bound fields) for the template, in the schedule's order."""
        names = ("enabled", "days_overdue", "email_subject", "email_body", "letter_body")
        return [(stage, [self[field_name(stage.key, n)] for n in names]) for stage in self.stages]

    def cleaned_stages(self) -> list[Stage]:
        data = self.cleaned_data
        return [
            Stage(
                key=s.key,
                enabled=bool(data[field_name(s.key, "enabled")]),
                days_overdue=data[field_name(s.key, "days_overdue")],
                email_subject=data[field_name(s.key, "email_subject")],
                email_body=data[field_name(s.key, "email_body")],
                letter_body=data[field_name(s.key, "letter_body")],
            )
            for s in self.stages
        ]


class QueueFilterForm(forms.Form):
    stage = forms.ChoiceField(label="Next stage", required=False)
    assigned = forms.ChoiceField(label="Worked by", required=False)
    overdue = forms.BooleanField(label="Overdue only", required=False)

    def __init__(self, *args, collectors: list[tuple[int, str]], **kwargs):
        super().__init__(*args, **kwargs)
        _choices(self, "stage", [("", "Any stage"), *StageKey.choices])
        _choices(self, "assigned", [("", "Anyone"), ("none", "Nobody yet"), *[(str(i), n) for i, n in collectors]])


def _choices(form: forms.Form, name: str, choices: list) -> None:
    field = form.fields[name]
    assert isinstance(field, forms.ChoiceField)
    field.choices = choices


class AssignForm(forms.Form):
    assignee = forms.ChoiceField(label="Assign to", required=False)

    def __init__(self, *args, collectors: list[tuple[int, str]], **kwargs):
        super().__init__(*args, **kwargs)
        _choices(self, "assignee", [("", "Nobody"), *[(str(i), n) for i, n in collectors]])


class NoteForm(forms.Form):
    note = forms.CharField(label="Note", widget=forms.Textarea(attrs={"rows": 3}), max_length=2000)


class PromiseForm(forms.Form):
    until = forms.DateField(label="Promised to pay by", widget=forms.DateInput(attrs={"type": "date"}))
    amount = forms.CharField(label="Amount (£)", max_length=20, help_text="At most the balance.")


class DisputeForm(forms.Form):
    reason = forms.CharField(label="What the patient disputes", max_length=300)


class ResolveForm(forms.Form):
    outcome = forms.CharField(label="How the dispute was settled", max_length=2000)


class WriteOffForm(forms.Form):
    amount = forms.CharField(label="Amount to write off (£)", max_length=20)
    write_off_reason = forms.CharField(label="Why", max_length=300, help_text="For the accounts and the approver.")


class DecideWriteOffForm(forms.Form):
    write_off = forms.IntegerField(widget=forms.HiddenInput)
    decision = forms.ChoiceField(choices=[("approve", "Approve"), ("decline", "Decline")])


class ReverseWriteOffForm(forms.Form):
    entry = forms.IntegerField(widget=forms.HiddenInput)
    reverse_reason = forms.CharField(label="Why it is reversed", max_length=300)


# -- insurer disputes and the insurer debt list ----------------------------------------------------
class DisputeNoteForm(forms.Form):
    note = forms.CharField(
        label="Note", max_length=300, required=False, help_text="Optional: how it was sent, who said what."
    )


class DisputeReasonForm(forms.Form):
    note = forms.CharField(
        label="Why",
        max_length=300,
        help_text="Kept on the dispute: for example, the insurer confirmed a policy excess.",
    )


class DisputeFilterForm(forms.Form):
    status = forms.ChoiceField(
        label="Status",
        required=False,
        choices=[("open", "Open (raised or sent)"), ("resolved", "Resolved"), ("all", "All")],
    )
    insurer = forms.TypedChoiceField(label="Insurer", required=False, coerce=int, empty_value=None)

    def __init__(self, *args, insurers, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["insurer"]
        assert isinstance(field, forms.TypedChoiceField)
        field.choices = [("", "Every insurer"), *((c.pk, c.name) for c in insurers)]


class InsurerDebtFilterForm(DisputeFilterForm):
    status = None  # type: ignore[assignment]
    age = forms.ChoiceField(label="Unpaid for", required=False)

    def __init__(self, *args, ages, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["age"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = list(ages.items())
