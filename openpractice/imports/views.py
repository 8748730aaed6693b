"""Settings › Import data: upload → columns → check (preview and dry run) → import → result."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from openpractice.imports import selectors, services
from openpractice.imports.errors import ImportRunError
from openpractice.imports.fields import fields_of
from openpractice.imports.forms import UploadForm, mapping_form
from openpractice.imports.models import ImportRun, ImportStatus
from openpractice.practices.permissions import require_capability
from openpractice.practices.roles import Capability
from openpractice.practices.tenancy import get_for_practice_or_404

PROBLEMS_PER_PAGE = 200  # of the first services.MAX_PROBLEMS a check keeps


def _run(request, data_import_id: int, *, with_problems: bool = True) -> ImportRun:
    """The run without its file (up to 64 MB, read only by the check and the post, which load it
    themselves): a page polled every second while a big file is checked stays light."""
    runs = ImportRun.objects.defer("content") if with_problems else ImportRun.objects.defer("content", "problems")
    return get_for_practice_or_404(runs, request.practice, pk=data_import_id)


def _context(run: ImportRun, **extra) -> dict:
    return {"run": run, "settings_tab": "import", "step": _step(run), **extra}


def _step(run: ImportRun) -> int:
    steps: dict[str, int] = {
        ImportStatus.UPLOADED: 2,
        ImportStatus.CHECKING: 3,
        ImportStatus.CHECKED: 3,
        ImportStatus.FAILED: 3,
        ImportStatus.POSTING: 4,
        ImportStatus.POSTED: 5,
    }
    return steps[run.status]


@require_capability(Capability.MANAGE_SETTINGS)
def start(request):
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            run = services.create_import(
                practice=request.practice,
                kind=form.cleaned_data["kind"],
                source_name=form.cleaned_data["source_name"],
                filename=upload.name,
                data=upload.read(),
                user=request.user,
            )
        except ImportRunError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            return redirect("imports:columns", run.pk)
    return render(
        request,
        "imports/start.html",
        {"form": form, "runs": selectors.recent_runs(practice=request.practice), "settings_tab": "import", "step": 1},
    )


@require_capability(Capability.MANAGE_SETTINGS)
def columns(request, data_import_id: int):
    run = _run(request, data_import_id)
    if run.is_busy or run.status == ImportStatus.POSTED:
        return redirect("imports:detail", run.pk)
    form = mapping_form(run, request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            run = services.set_mapping(run=run, mapping=form.cleaned_data)
            run = services.check_import(run=run)
        except ImportRunError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            return redirect("imports:detail", run.pk)
    samples = selectors.sample_rows(run=run)
    index = {h: i for i, h in enumerate(run.headers)}
    rows = []
    for field in fields_of(run.kind):
        bound = form[field.name]
        column = bound.value() or ""
        example = ""
        if column in index:
            example = next(
                (s[index[column]] for s in samples if index[column] < len(s) and s[index[column]].strip()), ""
            )
        rows.append({"field": field, "bound": bound, "example": example})
    remembered = selectors.remembered(run=run)
    return render(request, "imports/columns.html", _context(run, form=form, rows=rows, remembered=remembered))


@require_capability(Capability.MANAGE_SETTINGS)
def detail(request, data_import_id: int):
    run = _run(request, data_import_id)
    if run.status == ImportStatus.UPLOADED:
        return redirect("imports:columns", run.pk)
    labels = {f.name: f.label for f in fields_of(run.kind)}
    page = Paginator(run.problems, PROBLEMS_PER_PAGE).get_page(request.GET.get("page"))
    problems = [{**p, "label": labels.get(p["field"], p["field"])} for p in page.object_list]
    return render(request, "imports/detail.html", _context(run, problems=problems, page=page))


@require_POST
@require_capability(Capability.MANAGE_SETTINGS)
def check(request, data_import_id: int):
    run = _run(request, data_import_id)
    try:
        services.check_import(run=run)
    except ImportRunError as exc:
        messages.error(request, exc.message)
    return redirect("imports:detail", run.pk)


@require_POST
@require_capability(Capability.MANAGE_SETTINGS)
def post(request, data_import_id: int):
    run = _run(request, data_import_id)
    try:
        run = services.post_import(run=run)
    except ImportRunError as exc:
        messages.error(request, exc.message)
        return redirect("imports:detail", run.pk)
    if run.status == ImportStatus.POSTED:
        messages.success(request, f"Imported: {run.counts.get('create', 0)} {run.get_kind_display().lower()} added.")
    return redirect("imports:detail", run.pk)


@require_capability(Capability.MANAGE_SETTINGS)
def progress(request, data_import_id: int):
    run = _run(request, data_import_id, with_problems=False)
    response = render(request, "imports/_progress.html", _context(run))
    if not run.is_busy:  # the check or post ended: the page shows its result
        response["HX-Redirect"] = reverse("imports:detail", args=[run.pk])
    return response


@require_capability(Capability.MANAGE_SETTINGS)
def help_page(request):
    return render(request, "imports/help.html", {"settings_tab": "import"})
