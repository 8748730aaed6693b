"""Invoice forms: the header with its Healthcode configuration, the lines, payments, credit notes."""

from __future__ import annotations

from django import forms
from django.utils import timezone

from openpractice.billing.models import BillTo, PaymentMethod, ProviderKind, ServiceSetting
from openpractice.billing.service_setting import needs_admission_date, too_small_for
from openpractice.coding.forms import CodeField
from openpractice.coding.models import CodeSystem
from openpractice.patients.models import PatientRelationship
from openpractice.patients.selectors import insurance_of
from openpractice.practices.models import Location
from openpractice.practices.selectors import practitioners
from openpractice.products.models import Product

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class MembershipChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, membership):
        profile = getattr(membership, "practitioner_profile", None)
        ident = getattr(profile, "healthcode_identifier", "") if profile else ""
        return f"{membership.user.full_name}" + (f" ({ident})" if ident else " (no Healthcode identifier)")


class LocationChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, location):
        return f"{location.name}" + (f" ({location.healthcode_600_number})" if location.healthcode_600_number else "")


class InvoiceForm(forms.Form):
    bill_to = forms.ChoiceField(
        label="Bill to", choices=BillTo.choices, widget=forms.RadioSelect, initial=BillTo.INSURER
    )
    insurance: forms.ModelChoiceField[PatientRelationship] = forms.ModelChoiceField(
        label="Insurance provider",
        required=False,
        queryset=None,
        help_text="The patient's insurer and registration number, from the patient's record.",
    )
    practitioner = MembershipChoiceField(
        label="Practitioner", queryset=None, help_text="The treating practitioner: the bill's provider (ProviderNo)."
    )
    location = LocationChoiceField(label="Location", queryset=None, required=False)
    invoice_date = forms.DateField(label="Invoice date", widget=DATE)
    due_date = forms.DateField(label="Due date", required=False, widget=DATE)
    service_setting = forms.ChoiceField(
        label="Service setting",
        choices=ServiceSetting.choices,
        help_text="Sent to Healthcode as O (consultation room, outpatient), I (inpatient) or D (daycase).",
    )
    admission_date = forms.DateField(
        label="Admission date",
        required=False,
        widget=DATE,
        help_text="Needed for an inpatient or daycase bill.",
    )
    discharge_date = forms.DateField(
        label="Discharge date", required=False, widget=DATE, help_text="Once known (for a daycase, the same day)."
    )
    primary_diagnosis = CodeField(
        system=CodeSystem.ICD10, allow_inactive=True, required=False, label="Primary diagnosis (ICD-10)"
    )
    other_diagnosis_1 = CodeField(
        system=CodeSystem.ICD10, allow_inactive=True, required=False, label="Other diagnosis (ICD-10)"
    )
    other_diagnosis_2 = CodeField(
        system=CodeSystem.ICD10, allow_inactive=True, required=False, label="Another diagnosis (ICD-10)"
    )
    authorisation_code = forms.CharField(
        label="Authorisation code",
        required=False,
        max_length=30,
        help_text="The insurer's pre-authorisation number, if it gave one.",
    )
    payee_kind = forms.ChoiceField(
        label="Payee provider",
        choices=ProviderKind.choices,
        help_text="Who is paid: the practitioner, or a location by its 600 number.",
    )
    payee_location = LocationChoiceField(label="Payee location", queryset=None, required=False)
    controlling_specialist = MembershipChoiceField(
        label="Controlling specialist",
        queryset=None,
        required=False,
        help_text="The lead consultant, when not the treating practitioner.",
    )
    facility = LocationChoiceField(label="Facility (treating hospital)", queryset=None, required=False)
    notes = forms.CharField(label="Notes", required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, practice, patient, membership=None, invoice=None, **kwargs):
        """`membership`: the signed-in member, listed first when a practitioner; `invoice`: the
        invoice being edited, whose own practitioner and specialist stay choosable."""
        super().__init__(*args, **kwargs)

        self.fields["insurance"].queryset = patient.relationships.filter(relationship_type="insurance").select_related(
            "related_contact"
        )
        self.fields["insurance"].label_from_instance = lambda r: f"{r.related_contact.name} — {r.registration_number}"
        self.insurance_count = len(insurance_of(patient=patient))
        kept = (invoice.practitioner_id, invoice.controlling_specialist_id) if invoice is not None else ()
        self.practitioner_choices = practitioners(practice=practice, first=membership, also=kept)
        self.fields["practitioner"].queryset = self.practitioner_choices
        self.fields["controlling_specialist"].queryset = practitioners(practice=practice, also=kept)
        locations = Location.objects.for_practice(practice).filter(is_active=True)
        for name in ("location", "payee_location", "facility"):
            self.fields[name].queryset = locations
        for name in ("primary_diagnosis", "other_diagnosis_1", "other_diagnosis_2"):
            self.fields[name].set_practice(practice)

    def clean(self):
        data = super().clean()
        setting = data.get("service_setting") or ""
        if needs_admission_date(setting) and not data.get("admission_date") and "admission_date" not in self.errors:
            label = ServiceSetting(setting).label.lower()
            self.add_error(
                "admission_date",
                f"Enter the admission date: a {label} bill needs it, such as {timezone.localdate():%d/%m/%Y}.",
            )
        admitted, discharged = data.get("admission_date"), data.get("discharge_date")
        if needs_admission_date(setting) and admitted and discharged and discharged < admitted:
            self.add_error("discharge_date", "The discharge date cannot be before the admission date.")
        return data

    def check_setting(self, products) -> None:
        """A field error when a product calls for more of a stay than the chosen setting (a day
        case product on a consultation room bill): caught on this save, not by Healthcode."""
        setting = self.cleaned_data.get("service_setting") or ""
        wrong = too_small_for(setting, products)
        if wrong is not None:
            needed, product = wrong
            label = ServiceSetting(needed).label
            self.add_error(
                "service_setting",
                f"{product.name} is {product.procedure_type.lower()}: choose {label} (and enter the admission date).",
            )

    def header(self) -> dict:
        data = dict(self.cleaned_data)
        data["other_diagnoses"] = [d for d in (data.pop("other_diagnosis_1"), data.pop("other_diagnosis_2")) if d]
        return data


class LineForm(forms.Form):
    product: forms.ModelChoiceField[Product] = forms.ModelChoiceField(label="Product", queryset=None, required=False)
    service_date = forms.DateField(label="Date of service", required=False, widget=DATE)
    quantity = forms.IntegerField(label="Quantity", min_value=1, max_value=999, required=False, initial=1)

    def __init__(self, *args, practice, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["product"].queryset = Product.objects.for_practice(practice).filter(is_archived=False)

    def clean(self):
        data = super().clean()
        if data.get("product") and not data.get("service_date"):
            self.add_error("service_date", "Enter the date of service for this line, such as 15/06/2026.")
        return data


class BaseLineFormSet(forms.BaseFormSet):
    def products(self) -> list:
        """The products chosen so far, on lines that read (a bound, validated formset)."""
        return [f.cleaned_data["product"] for f in self.forms if getattr(f, "cleaned_data", {}).get("product")]

    def lines(self) -> list[dict]:
        return [
            {
                "product": f.cleaned_data["product"],
                "service_date": f.cleaned_data["service_date"],
                "quantity": f.cleaned_data.get("quantity") or 1,
            }
            for f in self.forms
            if f.cleaned_data.get("product")
        ]


LineFormSet = forms.formset_factory(LineForm, formset=BaseLineFormSet, extra=0, max_num=50, validate_max=True)


class PaymentForm(forms.Form):
    amount = forms.DecimalField(label="Amount (£)", max_digits=12, decimal_places=2, min_value=0.01)
    received_on = forms.DateField(label="Date received", widget=DATE)
    method = forms.ChoiceField(label="Paid by", choices=PaymentMethod.choices)
    reference = forms.CharField(label="Reference", required=False, max_length=60)


class CreditNoteForm(forms.Form):
    amount = forms.DecimalField(label="Amount (£)", max_digits=12, decimal_places=2, min_value=0.01)
    reason = forms.CharField(label="Reason", max_length=200)


class VoidForm(forms.Form):
    reason = forms.CharField(label="Why is it void?", max_length=200)


class EmailForm(forms.Form):
    to = forms.EmailField(label="Send to")


class NumberingForm(forms.Form):
    invoice_prefix = forms.CharField(
        label="Invoice number prefix",
        max_length=4,
        help_text="1 to 4 letters, e.g. INV. Numbers are the prefix and 6 digits: INV000042.",
    )
    credit_note_prefix = forms.CharField(
        label="Credit note number prefix", max_length=4, help_text="1 to 4 letters, e.g. CN."
    )


def optional_int(value) -> int | None:
    """A whole number from a query string or form field, or None when blank or not a number."""
    try:
        return int(value) if value else None
    except (TypeError, ValueError):
        return None


# The names the list's filter fields go by in a GET or a post: what invoice_filters reads.
INVOICE_FILTER_FIELDS = (
    "q",
    "healthcode_status",
    "insurer",
    "practitioner",
    "age",
    "record_status",
    "bill_to",
    "owing",
)


def invoice_filters(data) -> dict:
    """The invoice list's filters as the list reads them (GET), or as "Select all matching" posts
    them: the keyword arguments of selectors.search_invoices."""
    return {
        "healthcode_status": data.get("healthcode_status", ""),
        "insurer_id": optional_int(data.get("insurer")),
        "practitioner_id": optional_int(data.get("practitioner")),
        "age": data.get("age", ""),
        "record_status": data.get("record_status", ""),
        "bill_to": data.get("bill_to", ""),
        "owing": data.get("owing", "") == "1",
        "query": data.get("q", "")[:50],
    }
