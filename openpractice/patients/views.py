"""Patients pages: search list with keyset paging, add, summary, edit with relationships. Thin."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

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
    return {
        "patient": patient,
        "form": form or PatientForm(initial=initial),
        "relationship_form": relationship_form or RelationshipForm(practice=request.practice),
        "relationships": selectors.relationships_of(patient=patient),
    }


@require_capability(Capability.EDIT_RECORDS)
def patient_edit(request, patient_id: int):
    patient = get_for_practice_or_404(Patient, request.practice, pk=patient_id)
    form = PatientForm(request.POST or None, initial={f: getattr(patient, f) for f in services.PATIENT_FIELDS})
    if request.method == "POST" and form.is_valid():
        try:
            patient = services.update_patient(patient=patient, data=_data(form))
        except PatientError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, f"{patient.full_name} saved.")
            return redirect("patients:detail", patient.id)
    return render(request, "patients/edit.html", _edit_context(request, patient, form))


def _relationship_data(form) -> dict:
    data = dict(form.cleaned_data)
    person = data.pop("related")
    data["related_contact"] = person if isinstance(person, Contact) else None
    data["related_patient"] = person if isinstance(person, Patient) else None
    return data


@require_POST
@require_capability(Capability.EDIT_RECORDS)
def relationship_add(request, patient_id: int):
    patient = get_for_practice_or_404(Patient, request.practice, pk=patient_id)
    form = RelationshipForm(request.POST, practice=request.practice)
    if form.is_valid():
        try:
            relationship = services.add_relationship(patient=patient, data=_relationship_data(form))
        except PatientError as exc:
            _form_error(form, exc)
        else:
            messages.success(
                request, f"{relationship.get_relationship_type_display()} {relationship.counterpart} added."
            )
            return redirect("patients:edit", patient.id)
    return render(request, "patients/edit.html", _edit_context(request, patient, relationship_form=form))


@require_POST
@require_capability(Capability.EDIT_RECORDS)
def relationship_remove(request, patient_id: int, relationship_id: int):
    patient = get_for_practice_or_404(Patient, request.practice, pk=patient_id)
    relationship = get_for_practice_or_404(
        PatientRelationship.objects.filter(patient=patient), request.practice, pk=relationship_id
    )
    services.remove_relationship(relationship=relationship)
    messages.success(request, "Relationship removed.")
    return redirect("patients:edit", patient.id)


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
