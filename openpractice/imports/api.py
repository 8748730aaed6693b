"""/api/v1/imports: the same flow and rules as Settings › Import data (upload, columns, check
with every problem and the dry run's counts, post all or nothing, status)."""

from __future__ import annotations

import datetime as dt

from django.http import HttpResponse
from django.urls import reverse
from ninja import File, Form, Query, Router, Schema, Status
from ninja.files import UploadedFile
from pydantic import Field

from openpractice.imports import selectors, services
from openpractice.imports.fields import fields_of
from openpractice.imports.models import ImportKind, ImportRun, ImportStatus
from openpractice.practices.api_auth import auth_for
from openpractice.practices.roles import Capability
from openpractice.practices.tenancy import get_for_practice_or_404

router = Router(tags=["imports"])
AUTH = auth_for(Capability.MANAGE_SETTINGS)


class ProblemOut(Schema):
    row: int = Field(..., description="Line of the file (the header is line 1); 0 for the whole file")
    field: str
    column: str
    value: str
    message: str = Field(..., description="What is wrong and what would be valid")


class CountsOut(Schema):
    rows: int = 0
    create: int = Field(0, description="Rows that would be (or were) added")
    already_here: int = Field(0, description="Rows matching a record already in OpenPractice: linked, not added")
    already_imported: int = Field(0, description="Rows an earlier import already brought in: skipped")
    paid: int = Field(0, description="Invoices with nothing owed: left out")
    problems: int = 0


class ImportOut(Schema):
    id: int
    kind: ImportKind
    source_name: str
    filename: str
    status: ImportStatus
    total_rows: int
    headers: list[str]
    mapping: dict[str, str]
    phase: str = Field(
        "",
        description="While checking: checking (rows counted in progress) or trial (tried in one transaction, "
        "no count until it ends); while importing: checking, writing or together",
    )
    progress: int = Field(0, description="Rows checked so far while checking or importing")
    counts: CountsOut | None = Field(None, description="The last check's dry run (or the import's result)")
    problem_count: int
    error: str = Field(
        "",
        description="Why the last check or import stopped before its end (a file that cannot be read, a crash); "
        "nothing was written: check again",
    )
    checked_at: dt.datetime | None
    posted_at: dt.datetime | None


class CheckOut(ImportOut):
    problems: list[ProblemOut]


class MappingIn(Schema):
    mapping: dict[str, str] = Field(..., description="field → column header; see the fields of the kind")


class FieldOut(Schema):
    name: str
    label: str
    required: bool
    help: str


def _out(run: ImportRun) -> dict:
    return {
        "id": run.pk,
        "kind": run.kind,
        "source_name": run.source_name,
        "filename": run.filename,
        "status": run.status,
        "total_rows": run.total_rows,
        "headers": run.headers,
        "mapping": run.mapping,
        "phase": run.phase,
        "progress": run.progress,
        "counts": run.counts or None,
        "problem_count": run.problem_count,
        "error": run.error,
        "checked_at": run.checked_at,
        "posted_at": run.posted_at,
    }


def _run(request, data_import_id: int) -> ImportRun:
    """The run without its file (read only by the check and the post, which load it themselves)."""
    return get_for_practice_or_404(ImportRun.objects.defer("content"), request.practice, pk=data_import_id)


@router.get("/imports/fields", response=list[FieldOut], auth=AUTH)
def import_fields(request, kind: ImportKind):
    """The fields a file of this kind can hold, for a mapping."""
    return [{"name": f.name, "label": f.label, "required": f.required, "help": f.help} for f in fields_of(kind)]


@router.get("/imports", response=list[ImportOut], auth=AUTH)
def list_imports(request):
    return [_out(run) for run in selectors.recent_runs(practice=request.practice, limit=50)]


@router.post("/imports", response={201: ImportOut}, auth=AUTH)
def create_import(request, kind: Form[ImportKind], source_name: Form[str], file: File[UploadedFile]):
    """Upload a CSV export. The column mapping is guessed from its header (or the one last used
    for this source system); change it with PUT /imports/{id}/mapping."""
    run = services.create_import(
        practice=request.practice,
        kind=kind,
        source_name=source_name,
        filename=file.name or "import.csv",
        data=file.read(),
        user=request.user,
    )
    return Status(201, _out(run))


@router.get("/imports/{data_import_id}", response=ImportOut, auth=AUTH)
def get_import(request, data_import_id: int):
    """The import's status, and while it is being checked or imported, its progress."""
    return _out(_run(request, data_import_id))


@router.put("/imports/{data_import_id}/mapping", response=ImportOut, auth=AUTH)
def set_mapping(request, data_import_id: int, payload: MappingIn):
    return _out(services.set_mapping(run=_run(request, data_import_id), mapping=payload.mapping))


class ProblemsQuery(Schema):
    offset: int = Field(0, ge=0, description="Problems to skip")
    limit: int = Field(services.MAX_PROBLEMS, ge=1, le=services.MAX_PROBLEMS, description="Problems to return")


def _poll_at(response: HttpResponse, run: ImportRun) -> None:
    """A 202's Location: the import, to follow until its check or post ends."""
    response["Location"] = reverse("api:get_import", args=[run.pk])


@router.post("/imports/{data_import_id}/check", response={200: CheckOut, 202: ImportOut}, auth=AUTH)
def check_import(request, data_import_id: int, response: HttpResponse):
    """The preview and dry run: every problem by row and field, and what an import would add and
    skip. Nothing is written. A small file is checked at once (200, with the problems); a large one
    in the background: 202, then follow GET /imports/{id} (the Location header: status checking,
    phase, progress) until its status is checked or failed, and read GET /imports/{id}/problems."""
    run = services.check_import(run=_run(request, data_import_id))
    if run.status == ImportStatus.CHECKING:
        _poll_at(response, run)
        return Status(202, _out(run))
    return Status(200, {**_out(run), "problems": run.problems})


@router.get("/imports/{data_import_id}/problems", response=list[ProblemOut], auth=AUTH)
def import_problems(request, data_import_id: int, page: Query[ProblemsQuery]):
    """The problems of the last check or failed import, by row (the first 1,000 are kept;
    problem_count says how many in all), a page at a time with offset and limit."""
    return _run(request, data_import_id).problems[page.offset : page.offset + page.limit]


@router.post("/imports/{data_import_id}/post", response={200: ImportOut, 202: ImportOut}, auth=AUTH)
def post_import(request, data_import_id: int, response: HttpResponse):
    """Import the file all or nothing. A large file is imported in the background: 202, then
    follow GET /imports/{id} (the Location header: status, phase, progress)."""
    run = services.post_import(run=_run(request, data_import_id))
    if run.status == ImportStatus.POSTING:
        _poll_at(response, run)
        return Status(202, _out(run))
    return Status(200, _out(run))
