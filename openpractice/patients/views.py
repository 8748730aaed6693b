"""Patients pages: search list with keyset paging, add, summary, edit with relationships. Thin."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from openpractice.contacts.models import Contact
from openpractice.patients import selectors, services
from openpractice.patients.errors import PatientError
from openpractice.patients.forms import PatientForm, RelationshipForm
from openpractice.patients.models import Patient, PatientRelationship
from openpractice.practices.permissions import require_capability
from openpractice.practices.roles import Capability
from openpractice.practices.tenancy import get_for_practice_or_404
from openpractice.widgets import TypeaheadOption, typeahead_options_response


def _form_error(form, exc) -> None:
    form.add_error(exc.field if exc.field in form.fields else None, exc.message)


@require_capability(Capability.VIEW_RECORDS)
def patient_list(request):
    query = request.GET.get("q", "")[:100]
    page = selectors.search_patients(
        practice=request.practice,
        query=query,
        after=request.GET.get("after"),
        before=request.GET.get("before"),
        include_archived=request.GET.get("archived") == "1",
    )
    return render(
        request, "patients/list.html", {"page": page, "query": query, "archived": request.GET.get("archived") == "1"}
    )


def _data(form) -> dict:
    return dict(form.cleaned_data)


@require_capability(Capability.EDIT_RECORDS)
def patient_add(request):
    form = PatientForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            patient = services.create_patient(practice=request.practice, data=_data(form))
        except PatientError as exc:
            _form_error(form, exc)
        else:
            messages.success(
                request, f"{patient.full_name} added. Add their insurer under “Relationships and emergency contacts”."
            )
            return redirect("patients:edit", patient.id)
    return render(request, "patients/form.html", {"form": form, "patient": None})


@require_capability(Capability.VIEW_RECORDS)
def patient_detail(request, patient_id: int):
    patient = get_for_practice_or_404(Patient, request.practice, pk=patient_id)
    return render(
        request,
        "patients/detail.html",
        {
            "patient": patient,
            "relationships": selectors.relationships_of(patient=patient),
        },
    )


def _edit_context(request, patient, form=None, relationship_form=None):
    initial = {f: getattr(patient, f) for f in services.PATIENT_FIELDS}
    forms = [f for f in (form, relationship_form) if f is not None and f.is_bound]
    return {
        "patient": patient,
        "form": form or PatientForm(initial=initial),
        "relationship_form": relationship_form or RelationshipForm(practice=request.practice),
        "relationships": selectors.relationships_of(patient=patient),
        "unsaved": bool(forms),
        "refused": [f[name].label if name in f.fields else "the relationship" for f in forms for name in f.errors],
    }


def _relationship_saved(relationship: PatientRelationship) -> str:
    what = relationship.get_relationship_type_display()
    if relationship.is_insurance:
        what += f", membership {relationship.registration_number}"
    return f"Relationship with {relationship.counterpart} saved ({what})."


ADD_RELATIONSHIP = "add_relationship"  # the name of the "Add relationship" button


@require_capability(Capability.EDIT_RECORDS)
def patient_edit(request, patient_id: int):
    """The details and a new relationship are one form: "Save patient" and "Add relationship"
    both save everything typed on the page (the relationship when any of it is filled in), or
    nothing, re-showing every value with the refused field named."""
    patient = get_for_practice_or_404(Patient, request.practice, pk=patient_id)
    if request.method != "POST":
        return render(request, "patients/edit.html", _edit_context(request, patient))
    form = PatientForm(request.POST, initial={f: getattr(patient, f) for f in services.PATIENT_FIELDS})
    relationship_form = RelationshipForm(request.POST, practice=request.practice)
    adding = ADD_RELATIONSHIP in request.POST
    with_relationship = adding or relationship_form.has_anything_typed()
    # Both validated, so every refused field shows at once.
    valid = form.is_valid() & (relationship_form.is_valid() if with_relationship else True)
    if valid:
        try:
            patient, relationship = services.update_patient_and_add_relationship(
                patient=patient,
                data=_data(form),
                relationship=_relationship_data(relationship_form) if with_relationship else None,
            )
        except PatientError as exc:
            _form_error(form if exc.field in form.fields or not with_relationship else relationship_form, exc)
        else:
            if adding:
                if form.has_changed():
                    messages.success(request, f"{patient.full_name}'s details saved.")
                messages.success(request, _relationship_saved(relationship))
                return redirect(reverse("patients:edit", args=[patient.id]) + "#relationships")
            messages.success(request, f"{patient.full_name} saved.")
            if relationship is not None:
                messages.success(request, _relationship_saved(relationship))
            return redirect("patients:detail", patient.id)
    return render(
        request,
        "patients/edit.html",
        _edit_context(request, patient, form, relationship_form if with_relationship else None),
    )


def _relationship_data(form) -> dict:
    data = dict(form.cleaned_data)
    person = data.pop("related")
    data["related_contact"] = person if isinstance(person, Contact) else None
    data["related_patient"] = person if isinstance(person, Patient) else None
    return data


@require_POST
@require_capability(Capability.EDIT_RECORDS)
def relationship_add(request, patient_id: int):
    """The relationship alone (the API-like form post; the edit page saves it with the details)."""
    patient = get_for_practice_or_404(Patient, request.practice, pk=patient_id)
    form = RelationshipForm(request.POST, practice=request.practice)
    if form.is_valid():
        try:
            relationship = services.add_relationship(patient=patient, data=_relationship_data(form))
        except PatientError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, _relationship_saved(relationship))
            return redirect(reverse("patients:edit", args=[patient.id]) + "#relationships")
    return render(request, "patients/edit.html", _edit_context(request, patient, relationship_form=form))


@require_http_methods(["GET", "POST"])
@require_capability(Capability.EDIT_RECORDS)
def relationship_remove(request, patient_id: int, relationship_id: int):
    """GET asks, naming what goes ("Remove Bupa membership 12345678?"); the POST removes."""
    patient = get_for_practice_or_404(Patient, request.practice, pk=patient_id)
    relationship = get_for_practice_or_404(
        PatientRelationship.objects.filter(patient=patient).select_related("related_contact", "related_patient"),
        request.practice,
        pk=relationship_id,
    )
    back = reverse("patients:edit", args=[patient.id]) + "#relationships"
    if request.method == "POST":
        try:
            services.remove_relationship(relationship=relationship)
        except PatientError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, f"{relationship.name} removed from {patient.full_name}.")
        return redirect(back)
    return render(
        request,
        "confirm.html",
        {
            "title": f"Remove {relationship.name}?",
            "question": f"Remove {relationship.name} from {patient.full_name}?",
            "explanation": (
                f"It goes from {patient.full_name}'s record; new invoices can no longer use it. "
                "A membership an invoice was billed with cannot be removed: the invoice needs it."
                if relationship.is_insurance
                else f"It goes from {patient.full_name}'s record. You can add it again later."
            ),
            "confirm_label": f"Remove {relationship.name}",
            "cancel_url": back,
            "cancel_label": "Keep it",
        },
    )


@require_POST
@require_capability(Capability.EDIT_RECORDS)
def patient_archive(request, patient_id: int):
    patient = get_for_practice_or_404(Patient, request.practice, pk=patient_id)
    archived = request.POST.get("archived", "1") == "1"
    services.set_archived(patient=patient, archived=archived)
    messages.success(request, f"{patient.full_name} {'archived' if archived else 'restored'}.")
    return redirect("patients:detail", patient.id)


@require_GET
@require_capability(Capability.VIEW_RECORDS)
def people_options(request):
    query = request.GET.get("q", "")[:100]
    options = [
        TypeaheadOption(value=value, label=name, primary=name, secondary=what)
        for value, name, what in selectors.people_options(practice=request.practice, query=query)
    ]
    return typeahead_options_response(request, options, query=query)
