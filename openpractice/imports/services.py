"""Everything that writes imports: upload a file, map its columns, check it (the preview and the
dry run), post it all or nothing, in the request or in a background task with progress."""

from __future__ import annotations

import csv
import logging

from django.db import IntegrityError, transaction
from django.utils import timezone
from django_tasks import task

from openpractice.db import bulk
from openpractice.imports import checks, values
from openpractice.imports.errors import ImportRunError
from openpractice.imports.fields import fields_of, guess_mapping
from openpractice.imports.models import ColumnMapping, ImportedRow, ImportKind, ImportRun, ImportStatus

log = logging.getLogger(__name__)

MAX_PROBLEMS = 1000  # kept and shown; the count says how many in all
# A file this big is posted by a task, so the request returns at once and the page shows progress.
BACKGROUND_FROM = 1000
POSTABLE = (ImportStatus.UPLOADED, ImportStatus.CHECKED, ImportStatus.FAILED)


def _source_name(text: str) -> str:
    name = " ".join((text or "").split())[:60]
    if not name:
        raise ImportRunError(
            "Name the system the file comes from, such as PPM or Xero, so its columns are remembered.",
            field="source_name",
            code="required",
        )
    return name


@transaction.atomic
def create_import(*, practice, kind: str, source_name: str, filename: str, data: bytes, user=None) -> ImportRun:
    """Record an uploaded CSV file, with the column mapping remembered for this source and kind,
    or else guessed from the header names."""
    if kind not in ImportKind.values:
        raise ImportRunError(f"Choose what the file holds: {', '.join(ImportKind.labels)}.", field="kind")
    source_name = _source_name(source_name)
    if not data:
        raise ImportRunError("Choose a CSV file to upload.", field="file", code="required")
    if len(data) > values.MAX_BYTES:
        raise ImportRunError("The file is larger than 64 MB: split it into smaller files.", field="file")
    text = values.decode(data)
    headers, rows = values.read_rows(text)
    if not headers or not any(headers):
        raise ImportRunError("The file has no header row: its first line must name the columns.", field="file")
    if not rows:
        raise ImportRunError("The file has a header but no rows to import.", field="file")
    remembered = ColumnMapping.objects.for_practice(practice).filter(source_name=source_name, kind=kind).first()
    mapping = guess_mapping(kind, headers)
    if remembered is not None:
        mapping.update({f: c for f, c in remembered.mapping.items() if c in headers})
    return ImportRun.objects.create(
        practice=practice,
        kind=kind,
        source_name=source_name,
        filename=(filename or "import.csv")[:200],
        content=text,
        headers=headers,
        mapping=mapping,
        total_rows=len(rows),
        created_by=user,
    )


def _locked(run: ImportRun) -> ImportRun:
    """The run, locked for a change of state: without its file and problems, which no change of
    state reads (a 100,000-row file is some 15 MB)."""
    return ImportRun.objects.select_for_update().defer("content", "problems").get(pk=run.pk)


def _require(run: ImportRun, statuses, what: str) -> None:
    if run.status not in statuses:
        raise ImportRunError(
            f"This import is {run.get_status_display().lower()}: it cannot be {what} now.",
            field="status",
            code="status",
        )


@transaction.atomic
def set_mapping(*, run: ImportRun, mapping: dict[str, str]) -> ImportRun:
    """Which column holds each field (blank: none). Remembered for the next file of this source."""
    run = _locked(run)
    _require(run, POSTABLE, "changed")
    known = {f.name: f for f in fields_of(run.kind)}
    cleaned = {}
    for field, column in mapping.items():
        if field not in known:
            raise ImportRunError(f"“{field}” is not a field of this import.", field=field)
        if column and column not in run.headers:
            raise ImportRunError(f"The file has no column “{column}”.", field=field)
        if column:
            cleaned[field] = column
    missing = [f.label for f in known.values() if f.required and f.name not in cleaned]
    if missing:
        raise ImportRunError(
            f"Choose the column for {', '.join(missing)}: every row needs it.",
            field=next(f.name for f in known.values() if f.required and f.name not in cleaned),
            code="required",
        )
    twice = {c for c in cleaned.values() if list(cleaned.values()).count(c) > 1}
    if twice:
        raise ImportRunError(
            f"The column “{sorted(twice)[0]}” is chosen for two fields: choose it once.", field="mapping"
        )
    run.mapping = cleaned
    run.status = ImportStatus.UPLOADED
    run.counts, run.problems, run.problem_count, run.error = {}, [], 0, ""
    run.save(update_fields=["mapping", "status", "counts", "problems", "problem_count", "error"])
    ColumnMapping.objects.update_or_create(
        practice=run.practice, source_name=run.source_name, kind=run.kind, defaults={"mapping": cleaned}
    )
    return run


class _DryRun(Exception):
    """Rolls back the trial writes of a check (contacts, products, invoices go through their services)."""

    def __init__(self, plan: checks.Plan):
        self.plan = plan


def _plan(run: ImportRun, *, write: bool, progress=None) -> checks.Plan:
    """Check every row; with `write` and no problem, write them all and record them, in one
    transaction. Patients are checked before the transaction (read-only, with progress)."""
    headers, rows = values.read_rows(run.content)
    planner = checks.PLANNERS[run.kind]
    if run.kind == ImportKind.PATIENTS:
        plan = planner(run, headers, rows, progress)
        if not write or plan.problems:
            return plan
        ImportRun.objects.filter(pk=run.pk).update(phase="writing", progress=0)
        with transaction.atomic():
            _require(_locked(run), (ImportStatus.POSTING,), "imported")
            checks.write_patients(run, plan)
            _record(run, plan)
        return plan
    if write:  # checked and written in one transaction: no count to show until it ends
        ImportRun.objects.filter(pk=run.pk).update(phase="together")
    try:
        with transaction.atomic():
            if write:
                _require(_locked(run), (ImportStatus.POSTING,), "imported")
            plan = planner(run, headers, rows, None)
            if plan.problems or not write:
                raise _DryRun(plan)
            _record(run, plan)
    except _DryRun as dry:
        plan = dry.plan
    return plan


def _record(run: ImportRun, plan: checks.Plan) -> None:
    """Each row made or matched, by its natural key: the next import of the same file skips it."""
    rows = [(run.practice_id, run.pk, run.kind, key, pk, True) for _, key, pk in plan.create]
    rows += [(run.practice_id, run.pk, run.kind, key, pk, False) for _, key, pk in plan.matched]
    bulk.copy_rows(
        ImportedRow._meta.db_table, ("practice_id", "run_id", "kind", "source_key", "object_id", "created"), rows
    )
    now = timezone.now()
    ImportRun.objects.filter(pk=run.pk).update(
        status=ImportStatus.POSTED,
        phase="",
        progress=run.total_rows,
        counts=plan.counts(),
        problems=[],
        problem_count=0,
        posted_at=now,
        checked_at=now,
    )


def _store_check(run: ImportRun, plan: checks.Plan, status: str, *, only_from: str | None = None) -> None:
    """The check's result in one update: its counts and problems replace the last check's."""
    runs = ImportRun.objects.filter(pk=run.pk)
    if only_from is not None:
        runs = runs.filter(status=only_from)
    done = {"progress": run.total_rows} if status == ImportStatus.CHECKED else {}
    runs.update(
        status=status,
        phase="",
        error="",
        **done,
        counts=plan.counts(),
        problems=[p.as_dict() for p in plan.problems[:MAX_PROBLEMS]],
        problem_count=len(plan.problems),
        checked_at=timezone.now(),
    )


def _require_mapping(run: ImportRun) -> None:
    missing = [f.label for f in fields_of(run.kind) if f.required and f.name not in run.mapping]
    if missing:
        raise ImportRunError(f"Choose the column for {', '.join(missing)} first.", field="mapping", code="required")


@transaction.atomic
def _start_check(run: ImportRun) -> ImportRun:
    """The run is being checked: the last check's result goes (a new one replaces it), and no
    change of columns or post can start until this one ends."""
    run = _locked(run)
    _require(run, POSTABLE, "checked")
    _require_mapping(run)
    run.status, run.progress, run.error = ImportStatus.CHECKING, 0, ""
    # Patients are checked read-only, with a count; the other kinds are tried in one transaction
    # and rolled back, with no count to show until it ends (as when they are posted).
    run.phase = "checking" if run.kind == ImportKind.PATIENTS else "trial"
    run.counts, run.problems, run.problem_count = {}, [], 0
    run.save(update_fields=["status", "phase", "progress", "error", "counts", "problems", "problem_count"])
    return run


def check_import(*, run: ImportRun, background: bool | None = None) -> ImportRun:
    """The preview and the dry run: every problem by row and field, and what an import would
    create and skip. Nothing is kept (trial writes are rolled back). A big file is checked by a
    task (`check_import_task`, with progress on the run, as a post is), a small one in this call."""
    return _in_a_task_or_now(_start_check(run), background, task=check_import_task, now=carry_out_check)


def _stopped(what: str, exc: Exception, run: ImportRun) -> str:
    """What went wrong, for the person: a file that cannot be read by its reason, anything else
    by where it stopped (the log has the rest)."""
    if isinstance(exc, csv.Error | UnicodeError):
        return f"The file could not be read ({exc}). Nothing was written: fix the file and upload it again."
    done = ImportRun.objects.filter(pk=run.pk).values_list("progress", flat=True).first() or 0
    where = f" after {done:,} of {run.total_rows:,} rows" if done else ""
    return (
        f"The {what} stopped unexpectedly{where} ({type(exc).__name__}). Nothing was written: "
        f"{what} it again, and if it stops again, tell your administrator."
    )


def carry_out_check(*, run_id: int) -> ImportRun:
    """The check itself (the task's body): every row with progress, the result stored in one go.
    A file that cannot be read or a crash leaves the run failed with `error` saying why, its trial
    writes rolled back, and it can be checked again."""
    run = ImportRun.objects.select_related("practice", "created_by").get(pk=run_id)
    if run.status != ImportStatus.CHECKING:
        return run  # already done (a task run twice after a crash)

    def progress(done: int) -> None:
        ImportRun.objects.filter(pk=run.pk, status=ImportStatus.CHECKING).update(progress=done)

    try:
        plan = _plan(run, write=False, progress=progress)
    except (csv.Error, UnicodeError) as exc:
        log.warning("import %s: the file could not be read for its check", run.pk, exc_info=True)
        _fail_check(run, _stopped("check", exc, run))
    except Exception as exc:
        _fail_check(run, _stopped("check", exc, run))
        raise
    else:
        _store_check(run, plan, ImportStatus.CHECKED, only_from=ImportStatus.CHECKING)
    run.refresh_from_db()
    return run


def _fail_check(run: ImportRun, error: str) -> None:
    ImportRun.objects.filter(pk=run.pk, status=ImportStatus.CHECKING).update(
        status=ImportStatus.FAILED, phase="", progress=0, error=error, counts={}, problems=[], problem_count=0
    )


@task()
def check_import_task(run_id: int) -> str:
    return carry_out_check(run_id=run_id).status


@transaction.atomic
def _start(run: ImportRun) -> ImportRun:
    run = _locked(run)
    _require(run, POSTABLE, "imported")
    if not run.mapping:
        raise ImportRunError("Choose the columns first.", field="mapping", code="required")
    run.status, run.phase, run.progress, run.error = ImportStatus.POSTING, "checking", 0, ""
    run.save(update_fields=["status", "phase", "progress", "error"])
    return run


def post_import(*, run: ImportRun, background: bool | None = None) -> ImportRun:
    """Import the file all or nothing: a big file from a task (`post_import_task`, with progress
    on the run), a small one in this call. Any problem leaves nothing written and lists them."""
    return _in_a_task_or_now(_start(run), background, task=post_import_task, now=carry_out)


def _in_a_task_or_now(run: ImportRun, background: bool | None, *, task, now) -> ImportRun:
    """A started run carried on by `task` once this transaction commits (a file of BACKGROUND_FROM
    rows or more, unless told), else by `now` in this call."""
    if background is None:
        background = run.total_rows >= BACKGROUND_FROM
    if background:
        transaction.on_commit(lambda: task.enqueue(run.pk))
        return run
    return now(run_id=run.pk)


def carry_out(*, run_id: int) -> ImportRun:
    """The post itself (the task's body): check with progress, then write in one transaction."""
    run = ImportRun.objects.select_related("practice", "created_by").get(pk=run_id)
    if run.status != ImportStatus.POSTING:
        return run  # already done (a task run twice after a crash)

    def progress(done: int) -> None:
        if not transaction.get_connection().in_atomic_block:  # visible to the page only when committed
            ImportRun.objects.filter(pk=run.pk).update(progress=done)

    try:
        plan = _plan(run, write=True, progress=progress)
    except IntegrityError:
        log.warning("import %s: a row clashed while writing", run.pk, exc_info=True)
        plan = checks.Plan(run.kind, total=run.total_rows)
        plan.problems.append(
            checks.Problem(
                0,
                "",
                "",
                "",
                "Records changed while the file was imported (someone added the same patient or number): "
                "nothing was written. Check the file again and import it.",
            )
        )
    except Exception as exc:
        ImportRun.objects.filter(pk=run.pk).update(
            status=ImportStatus.FAILED, phase="", error=_stopped("import", exc, run)
        )
        raise
    if plan.problems:
        _store_check(run, plan, ImportStatus.FAILED)
    run.refresh_from_db()
    return run


@task()
def post_import_task(run_id: int) -> str:
    return carry_out(run_id=run_id).status
