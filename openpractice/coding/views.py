"""Settings > Coding pages and the type-ahead sources: thin, they parse, call, render."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from openpractice.coding import selectors, services
from openpractice.coding.errors import CodingError
from openpractice.coding.forms import CodeLookupForm, ImportForm, InsurerForm
from openpractice.coding.models import CodeImport, CodeSystem
from openpractice.practices.permissions import require_capability
from openpractice.practices.roles import Capability
from openpractice.practices.tenancy import get_for_practice_or_404
from openpractice.redirects import redirect_to_next, safe_next
from openpractice.widgets import TypeaheadOption, option_label, typeahead_options_response


def _flag(request, name: str) -> bool:
    return request.GET.get(name, "") in {"1", "true", "on", "yes"}


@require_GET
@require_capability(Capability.VIEW_RECORDS)
def code_options(request):
    query = request.GET.get("q", "")[:100]
    system = request.GET.get("system", "")
    if system not in CodeSystem.values:
        raise Http404("Unknown code system.")
    matches = (
        selectors.search_codes(
            practice=request.practice, system=system, query=query, include_inactive=_flag(request, "inactive")
        )
        if query.strip()
        else []
    )
    options = [
        TypeaheadOption(
            value=m.code,
            label=option_label(m.code, m.description),
            primary=m.code,
            secondary=m.description,
            badge="Retired" if not m.is_active else ("Sample" if m.is_sample else ""),
            inactive=not m.is_active,
        )
        for m in matches
    ]
    return typeahead_options_response(request, options, query=query)


@require_GET
@require_capability(Capability.VIEW_RECORDS)
def insurer_options(request):
    query = request.GET.get("q", "")[:100]
    insurers = selectors.search_insurers(practice=request.practice, query=query) if query.strip() else []
    options = [
        TypeaheadOption(value=str(i.pk), label=str(i), primary=i.healthcode_identifier, secondary=i.name)
        if i.healthcode_identifier
        else TypeaheadOption(value=str(i.pk), label=str(i), primary=i.name, badge="No Healthcode identifier yet")
        for i in insurers
    ]
    return typeahead_options_response(request, options, query=query)


def _coding_context(request, **extra):
    return {"settings_tab": "coding", **extra}


@require_capability(Capability.MANAGE_SETTINGS)
def coding_settings(request):
    practice = request.practice
    return render(
        request,
        "coding/settings.html",
        _coding_context(
            request,
            code_sets=selectors.code_set_summary(practice=practice),
            accepted_lists=selectors.accepted_list_summary(practice=practice),
            imports=selectors.recent_imports(practice=practice),
        ),
    )


@require_capability(Capability.VIEW_RECORDS)
def code_lookup(request):
    form = CodeLookupForm(request.GET or None, practice=request.practice)
    chosen = []
    if form.is_bound and form.is_valid():
        for name, system in (
            ("procedure_code", CodeSystem.CCSD),
            ("industry_standard_code", CodeSystem.ISC),
            ("diagnosis", CodeSystem.ICD10),
        ):
            if form.cleaned_data.get(name):
                chosen.append(
                    selectors.get_code(practice=request.practice, system=system, code=form.cleaned_data[name])
                )
    return render(request, "coding/lookup.html", _coding_context(request, form=form, chosen=chosen))


@require_capability(Capability.MANAGE_SETTINGS)
def import_new(request):
    form = ImportForm(request.POST or None, request.FILES or None, practice=request.practice)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            code_import = services.start_import(
                practice=request.practice,
                user=request.user,
                kind=data["kind"],
                system=data["system"],
                insurer=data.get("insurer"),
                filename=data["file"].name,
                content=data["file"].read(),
                retire_missing=data["retire_missing"],
            )
        except CodingError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            return redirect("coding:import_detail", import_id=code_import.pk)
    return render(request, "coding/import_new.html", _coding_context(request, form=form))


def _import(request, import_id) -> CodeImport:
    return get_for_practice_or_404(
        CodeImport.objects.select_related("insurer").defer("content"), request.practice, pk=import_id
    )


@require_capability(Capability.MANAGE_SETTINGS)
def import_detail(request, import_id: int):
    return render(
        request, "coding/import_detail.html", _coding_context(request, code_import=_import(request, import_id))
    )


@require_GET
@require_capability(Capability.MANAGE_SETTINGS)
def import_progress(request, import_id: int):
    """Polled by htmx while the file is checked or applied; stops polling once finished."""
    code_import = _import(request, import_id)
    response = render(request, "coding/_import_status.html", {"code_import": code_import})
    if code_import.is_finished and request.GET.get("was") != code_import.status:
        response["HX-Refresh"] = "true"  # the whole page changes (preview, outcome)
    return response


@require_POST
@require_capability(Capability.MANAGE_SETTINGS)
def import_apply(request, import_id: int):
    code_import = _import(request, import_id)
    try:
        services.queue_import_apply(code_import=code_import, user=request.user)
    except CodingError as exc:
        messages.error(request, exc.message)
    return redirect("coding:import_detail", import_id=code_import.pk)


@require_http_methods(["GET", "POST"])
@require_capability(Capability.MANAGE_SETTINGS)
def import_discard(request, import_id: int):
    """GET asks, naming the file; the POST discards the staged import."""
    code_import = _import(request, import_id)
    if request.method == "GET":
        return render(
            request,
            "confirm.html",
            {
                "title": f"Discard the import of {code_import.filename}?",
                "question": f"Discard the import of {code_import.filename}?",
                "explanation": "None of its codes have been applied; discarding it changes nothing in your code sets.",
                "confirm_label": f"Discard {code_import.filename}",
                "cancel_url": reverse("coding:import_detail", args=[code_import.id]),
                "cancel_label": "Keep it",
            },
        )
    try:
        services.discard_import(code_import=code_import)
        messages.success(request, f"Import of {code_import.filename} discarded; nothing was changed.")
    except CodingError as exc:
        messages.error(request, exc.message)
    return redirect("coding:settings")


@require_capability(Capability.MANAGE_SETTINGS)
def insurer_list(request):
    return render(
        request,
        "coding/insurer_list.html",
        _coding_context(
            request,
            insurers=selectors.insurers_for_practice(practice=request.practice, include_inactive=True),
        ),
    )


@require_capability(Capability.MANAGE_SETTINGS)
def insurer_edit(request, insurer_id: int | None = None):
    insurer = None
    if insurer_id is not None:
        insurer = selectors.get_insurer(practice=request.practice, insurer_id=insurer_id)
        if insurer is None:
            raise Http404("No such insurer in this practice's directory.")
    # "Set it" links from an invoice, contact or patient come with ?focus=identifier and a `next`
    # page to return to once the identifier is saved.
    form = InsurerForm(
        request.POST or None, instance=insurer, focus_identifier=request.GET.get("focus") == "identifier"
    )
    if request.method == "POST" and form.is_valid():
        try:
            saved = services.save_insurer(
                practice=request.practice, user=request.user, insurer=insurer, data=form.cleaned_data
            )
        except CodingError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(request, f"Insurer “{saved.name}” saved.")
            return redirect_to_next(request, "coding:insurers")
    return render(
        request,
        "coding/insurer_form.html",
        _coding_context(request, form=form, insurer=insurer, next=safe_next(request)),
    )
