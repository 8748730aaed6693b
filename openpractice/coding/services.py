"""Writes: imports of code sets and accepted-code lists, and the insurer directory.

An import is checked first (parse every row, compare with what is stored: added, changed,
retired), shown as a preview, then applied in one transaction: all of it or nothing. Small files
are checked and applied within the request; larger ones by a background task (tasks.py) while the
page shows progress.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from openpractice.coding import importing
from openpractice.coding.errors import CodingError
from openpractice.coding.importing import CodeSetSource, CsvCodeSource, ImportPlan, IncomingCode, Progress
from openpractice.coding.models import (
    DEFAULT_FIND_MEMBER_FIELDS,
    IMPORTABLE_SYSTEMS,
    AcceptedCode,
    Code,
    CodeImport,
    CodeSource,
    IdentifierSource,
    ImportKind,
    ImportStatus,
    Insurer,
    MemberCheck,
    healthcode_identifier_validator,
)
from openpractice.coding.normalise import words
from openpractice.coding.search_index import bulk_code_writes, bulk_gin_writes, search_text
from openpractice.coding.selectors import insurers_for_practice
from openpractice.coding.signals import send_reference_changed
from openpractice.db import bulk, sql
from openpractice.db.bulk import COPY_NULL, copy_text
from openpractice.practices.models import Practice

# Files up to this size are checked and applied while the page waits; larger ones in the background.
SYNC_LIMIT_BYTES = 1024 * 1024
BATCH = 5000


@dataclass(frozen=True)
class ImportOutcome:
    added: int
    changed: int
    retired: int
    unchanged: int
    rows: int
    seconds: float

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else float("inf")


def retire_date(today: date | None = None) -> date:
    """A code missing from a new full list is last active the day before the import."""
    return (today or timezone.localdate()) - timedelta(days=1)


def _check_target(*, kind: str, system: str, insurer) -> None:
    if kind not in ImportKind.values:
        raise CodingError(f"Unknown import kind “{kind}”; use codes or accepted.", field="kind")
    if system not in IMPORTABLE_SYSTEMS:
        raise CodingError(
            "Only CCSD procedure codes and industry standard codes can be imported "
            "(ICD-10 comes from the WHO edition).",
            field="system",
        )
    if kind == ImportKind.ACCEPTED and insurer is None:
        raise CodingError("Choose the insurer whose accepted codes this file lists.", field="insurer")


def plan_import(
    *,
    practice,
    kind: str,
    system: str,
    insurer,
    incoming: list[IncomingCode],
    retire_missing: bool,
    today: date | None = None,
) -> ImportPlan:
    if kind == ImportKind.ACCEPTED:
        return importing.plan_accepted_import(
            practice=practice,
            insurer=insurer,
            system=system,
            incoming=incoming,
            retire_missing=retire_missing,
            retire_on=retire_date(today),
        )
    return importing.plan_code_import(
        practice=practice, system=system, incoming=incoming, retire_missing=retire_missing, retire_on=retire_date(today)
    )


@transaction.atomic
def import_code_set(
    *,
    practice,
    kind: str,
    system: str,
    source: CodeSetSource,
    insurer=None,
    retire_missing: bool = True,
    today: date | None = None,
    progress: Progress | None = None,
) -> ImportOutcome:
    """Read `source`, and apply it in one transaction; raises CodeFileError (nothing changed) if
    any row is bad. Importing the same source twice changes nothing the second time."""
    _check_target(kind=kind, system=system, insurer=insurer)
    started = time.perf_counter()
    incoming = source.read(system=system, with_fee=kind == ImportKind.ACCEPTED, progress=progress)
    plan = plan_import(
        practice=practice,
        kind=kind,
        system=system,
        insurer=insurer,
        incoming=incoming,
        retire_missing=retire_missing,
        today=today,
    )
    if kind == ImportKind.ACCEPTED:
        _apply_accepted(
            practice=practice,
            insurer=insurer,
            system=system,
            plan=plan,
            source=source.source,
            retire_on=retire_date(today),
        )
    else:
        _apply_codes(practice=practice, system=system, plan=plan, source=source.source, retire_on=retire_date(today))
    if plan.added or plan.changed or plan.retired:
        send_reference_changed(sender=Code, practice=practice)
    return ImportOutcome(
        len(plan.added),
        len(plan.changed),
        len(plan.retired),
        plan.unchanged,
        len(incoming),
        time.perf_counter() - started,
    )


def _apply_codes(*, practice, system: str, plan: ImportPlan, source: str, retire_on: date) -> None:
    _insert_codes(practice=practice, system=system, items=plan.added, source=source)
    if plan.changed:
        now = timezone.now()
        updated = [
            Code(
                pk=pk,
                code=i.code,
                description=i.description,
                search_words=search_text(i.description),
                active_from=i.active_from,
                active_to=i.active_to,
                source=source,
                updated_at=now,
            )
            for pk, i, _ in plan.changed
        ]
        Code.objects.bulk_update(
            updated,
            ["code", "description", "search_words", "active_from", "active_to", "source", "updated_at"],
            batch_size=500,
        )
    _retire(Code.objects.all(), [pk for pk, _, _ in plan.retired], retire_on)


def _insert_codes(*, practice, system: str, items: list[IncomingCode], source: str) -> None:
    """Plain INSERTs (executemany, or COPY on PostgreSQL): bulk_create spends ~10 µs per field
    preparing values, which alone would cap an import below 20,000 rows/s. The words index
    (search_index.py) follows the `search_words` column: SQLite's triggers, PostgreSQL's GIN."""
    if not items:
        return
    now = sql.datetime_value(timezone.now())
    practice_id = practice.pk
    many = len(items) >= BULK_ROWS
    vendor = sql.vendor()
    if vendor == "postgresql":
        with bulk_gin_writes(enabled=many):
            bulk.copy_lines(Code._meta.db_table, CODE_COLUMNS, _copy_chunks(practice_id, system, items, source, now))
        if many:
            bulk.analyze(Code._meta.db_table, columns=ANALYZE_COLUMNS)
        return
    if vendor == "sqlite":  # dates as SQLite stores them (the adapter costs ~2 µs a value)
        rows = [
            (
                practice_id,
                system,
                i.code,
                i.key,
                i.description,
                search_text(i.description),
                i.active_from and i.active_from.isoformat(),
                i.active_to and i.active_to.isoformat(),
                source,
                "",
                now,
            )
            for i in items
        ]
    else:
        rows = [
            (
                practice_id,
                system,
                i.code,
                i.key,
                i.description,
                search_text(i.description),
                i.active_from,
                i.active_to,
                source,
                "",
                now,
            )
            for i in items
        ]
    with bulk_code_writes() as index_rows:
        # the ids before: AUTOINCREMENT ids only grow
        (last_id,) = sql.fetch_one(f"SELECT COALESCE(MAX(id), 0) FROM {Code._meta.db_table}")
        # A 100k-code import's indexes do not fit SQLite's default page cache.
        bulk.large_page_cache()
        bulk.insert_rows(Code._meta.db_table, CODE_COLUMNS, rows)
        index_rows("id > %s AND practice_id = %s AND system = %s", [last_id, practice_id, system])
    if many:
        bulk.analyze(Code._meta.db_table)


CODE_COLUMNS = (
    "practice_id",
    "system",
    "code",
    "code_key",
    "description",
    "search_words",
    "active_from",
    "active_to",
    "source",
    "note",
    "updated_at",
)
# What the search and lookup plans depend on; the long text columns cost most of a full ANALYZE.
ANALYZE_COLUMNS = ("practice_id", "system", "code_key", "active_from", "active_to", "source", "search_vector")
BULK_ROWS = 10000  # from this many new rows: bulk index maintenance and fresh planner statistics
COPY_CHUNK = 2000


def _copy_chunks(practice_id, system: str, items: list[IncomingCode], source: str, now):
    """COPY text, a chunk at a time: the server stores one chunk while Python formats the next
    (two processes, so two cores), instead of waiting for all 100,000 lines to be built first.
    psycopg's write_row costs ~9 µs a row; these f-strings ~2 µs."""
    # code and code_key are letters and digits, search_words letters, digits and spaces
    head = f"{practice_id}\t{system}\t"
    tail = f"\t{copy_text(source)}\t\t{now.isoformat()}\n"
    for start in range(0, len(items), COPY_CHUNK):
        yield "".join(
            [
                f"{head}{i.code}\t{i.key}\t{copy_text(i.description)}\t{search_text(i.description)}"
                f"\t{i.active_from.isoformat() if i.active_from else COPY_NULL}"
                f"\t{i.active_to.isoformat() if i.active_to else COPY_NULL}"
                f"{tail}"
                for i in items[start : start + COPY_CHUNK]
            ]
        )


def _apply_accepted(*, practice, insurer, system: str, plan: ImportPlan, source: str, retire_on: date) -> None:
    AcceptedCode.objects.bulk_create(
        [
            AcceptedCode(
                practice=practice,
                insurer=insurer,
                system=system,
                code=i.code,
                code_key=i.key,
                description=i.description,
                max_fee=i.max_fee,
                active_from=i.active_from,
                active_to=i.active_to,
                source=source,
            )
            for i in plan.added
        ],
        batch_size=BATCH,
    )
    if plan.changed:
        AcceptedCode.objects.bulk_update(
            [
                AcceptedCode(
                    pk=pk,
                    code=i.code,
                    description=i.description,
                    max_fee=i.max_fee,
                    active_from=i.active_from,
                    active_to=i.active_to,
                    source=source,
                    updated_at=timezone.now(),
                )
                for pk, i, _ in plan.changed
            ],
            ["code", "description", "max_fee", "active_from", "active_to", "source", "updated_at"],
            batch_size=500,
        )
    _retire(AcceptedCode.objects.all(), [pk for pk, _, _ in plan.retired], retire_on)


def _retire(queryset, ids: list[int], retire_on: date) -> None:
    for start in range(0, len(ids), 900):
        queryset.filter(pk__in=ids[start : start + 900]).update(active_to=retire_on, updated_at=timezone.now())


# The page's import: upload, check (preview), apply -----------------------------------------------


def start_import(
    *, practice, user, kind: str, system: str, insurer, filename: str, content: bytes, retire_missing: bool = True
) -> CodeImport:
    """Keep the uploaded file and check it: now if small, else in the background."""
    _check_target(kind=kind, system=system, insurer=insurer)
    if insurer is not None and insurer.practice_id not in (None, practice.pk):
        raise CodingError("Choose an insurer from this practice's directory.", field="insurer")
    code_import = CodeImport.objects.create(
        practice=practice,
        kind=kind,
        system=system,
        insurer=insurer if kind == ImportKind.ACCEPTED else None,
        filename=filename[:255],
        content=content,
        retire_missing=retire_missing,
        created_by=user,
        rows_total=content.count(b"\n"),
    )
    if len(content) <= SYNC_LIMIT_BYTES:
        check_import(import_id=code_import.pk)
        code_import.refresh_from_db()
    else:
        from openpractice.coding.tasks import check_import_task  # tasks imports this module

        transaction.on_commit(lambda: check_import_task.enqueue(code_import.pk))
    return code_import


def _progress_writer(import_id: int) -> Progress:
    def write(done: int, total: int) -> None:
        CodeImport.objects.filter(pk=import_id).update(rows_done=done, rows_total=max(total, 1))

    return write


def check_import(*, import_id: int) -> None:
    """Parse the file and compare it with what is stored; record the preview or the problems.
    Writes nothing but the CodeImport row (progress updates are their own small writes)."""
    code_import = CodeImport.objects.select_related("practice", "insurer").get(pk=import_id)
    if code_import.status != ImportStatus.CHECKING:
        return
    source = CsvCodeSource(bytes(code_import.content))
    try:
        incoming = source.read(
            system=code_import.system,
            with_fee=code_import.kind == ImportKind.ACCEPTED,
            progress=_progress_writer(import_id),
        )
    except importing.CodeFileError as exc:
        CodeImport.objects.filter(pk=import_id).update(
            status=ImportStatus.INVALID, problems=[p.as_dict() for p in exc.problems], content=b""
        )
        return
    plan = plan_import(
        practice=code_import.practice,
        kind=code_import.kind,
        system=code_import.system,
        insurer=code_import.insurer,
        incoming=incoming,
        retire_missing=code_import.retire_missing,
    )
    CodeImport.objects.filter(pk=import_id).update(
        status=ImportStatus.READY,
        rows_total=len(incoming),
        rows_done=len(incoming),
        added=len(plan.added),
        changed=len(plan.changed),
        retired=len(plan.retired),
        unchanged=plan.unchanged,
        preview=plan.preview(),
    )


def queue_import_apply(*, code_import: CodeImport, user) -> None:
    """Apply a checked import: now if small, else in the background."""
    updated = CodeImport.objects.filter(pk=code_import.pk, status=ImportStatus.READY).update(
        status=ImportStatus.APPLYING
    )
    if not updated:
        raise CodingError(
            "This import is not waiting to be applied (it was applied, discarded or has problems).",
            field=None,
            code="wrong_status",
        )
    size = CodeImport.objects.filter(pk=code_import.pk).values_list("rows_total", flat=True).first() or 0
    if size <= 20000:
        apply_import(import_id=code_import.pk)
    else:
        from openpractice.coding.tasks import apply_import_task  # tasks imports this module

        transaction.on_commit(lambda: apply_import_task.enqueue(code_import.pk))


def apply_import(*, import_id: int) -> None:
    code_import = CodeImport.objects.select_related("practice", "insurer").get(pk=import_id)
    if code_import.status != ImportStatus.APPLYING:
        return
    try:
        outcome = import_code_set(
            practice=code_import.practice,
            kind=code_import.kind,
            system=code_import.system,
            source=CsvCodeSource(bytes(code_import.content), source=code_import.source),
            insurer=code_import.insurer,
            retire_missing=code_import.retire_missing,
        )
    except importing.CodeFileError as exc:  # the file was fine when checked; defensive
        CodeImport.objects.filter(pk=import_id).update(
            status=ImportStatus.FAILED, problems=[p.as_dict() for p in exc.problems]
        )
        return
    except Exception as exc:
        CodeImport.objects.filter(pk=import_id).update(
            status=ImportStatus.FAILED, problems=[{"row": None, "column": "", "message": f"Import failed: {exc}"}]
        )
        raise
    CodeImport.objects.filter(pk=import_id).update(
        status=ImportStatus.APPLIED,
        applied_at=timezone.now(),
        content=b"",
        added=outcome.added,
        changed=outcome.changed,
        retired=outcome.retired,
        unchanged=outcome.unchanged,
    )


@transaction.atomic
def discard_import(*, code_import: CodeImport) -> None:
    updated = CodeImport.objects.filter(
        pk=code_import.pk, status__in=[ImportStatus.READY, ImportStatus.INVALID]
    ).update(status=ImportStatus.DISCARDED, content=b"")
    if not updated:
        raise CodingError("Only an import that has not been applied can be discarded.", code="wrong_status")


# The insurer directory ---------------------------------------------------------------------------

INSURER_FIELDS = ("name", "healthcode_identifier", "member_check", "find_member_fields", "is_active")


# Apps above coding that link to directory entries register a function here (contacts, in its
# AppConfig.ready(): an insurer contact), called as f(practice=, published=, version=) when a
# practice makes its own version of a published entry, so every link of that practice follows the
# entry it now sees (a contact left on the published entry would never see the identifier set).
PRACTICE_VERSION_FOLLOWERS: list[Callable[..., object]] = []


def _practice_version_of(*, practice, published: Insurer) -> Insurer:
    """A new (unsaved) practice version of a published entry, carrying its values."""
    return Insurer(
        practice=practice,
        based_on=published,
        name=published.name,
        healthcode_identifier=published.healthcode_identifier,
        identifier_source=published.identifier_source,
        member_check=published.member_check,
        find_member_fields=list(published.find_member_fields or []),
        is_active=published.is_active,
        source=CodeSource.MANUAL,
        source_url=published.source_url,
    )


def _follow_practice_version(*, practice, published: Insurer, version: Insurer) -> None:
    AcceptedCode.objects.filter(practice=practice, insurer=published).update(insurer=version)
    for follow in PRACTICE_VERSION_FOLLOWERS:
        follow(practice=practice, published=published, version=version)


@transaction.atomic
def save_insurer(*, practice, user, insurer: Insurer | None, data: dict) -> Insurer:
    """Add an insurer to the practice's directory, or edit one.

    Editing a published entry saves the practice's own version of it (the published one stays for
    other practices; the practice's contacts and accepted-code lists follow the version), unless
    the user is a site administrator (superuser), who edits it for all. An identifier typed here
    is recorded as set by hand, which the clearing-house sync never overwrites.
    """
    values = {name: data[name] for name in INSURER_FIELDS if name in data}
    values["healthcode_identifier"] = (values.get("healthcode_identifier") or "").strip().lower()
    if insurer is not None and insurer.practice_id not in (None, practice.pk):
        raise CodingError("No such insurer in this practice's directory.", code="not_found")
    version_made = False
    if insurer is not None:  # as stored: a ModelForm's validation writes its values onto the instance it got
        insurer = Insurer.objects.get(pk=insurer.pk)
    if insurer is not None and insurer.practice_id is None and not user.is_superuser:
        target = _practice_version_of(practice=practice, published=insurer)
        version_made = True
    elif insurer is None:
        target = Insurer(practice=practice, source=CodeSource.MANUAL)
    else:
        target = Insurer.objects.select_for_update().get(pk=insurer.pk)
    _check_insurer_clashes(practice=practice, target=target, values=values)
    if values["healthcode_identifier"] != target.healthcode_identifier:
        target.identifier_source = IdentifierSource.MANUAL if values["healthcode_identifier"] else ""
    for name, value in values.items():
        setattr(target, name, value)
    target._change_reason = "Insurer directory edited"
    target.save()
    if version_made:
        assert insurer is not None  # a practice version is made only of an existing published entry
        _follow_practice_version(practice=practice, published=insurer, version=target)
    send_reference_changed(sender=Insurer, practice=practice if target.practice_id else None)
    return target


# The clearing house's insurer list ---------------------------------------------------------------


@dataclass(frozen=True)
class DirectoryEntry:
    """One insurer as the clearing house lists it."""

    identifier: str
    name: str
    member_check: str = MemberCheck.FORMAT


@dataclass
class DirectorySyncOutcome:
    added: list[str] = field(default_factory=list)  # insurers new to the directory
    filled: list[str] = field(default_factory=list)  # insurers that had no identifier
    corrected: list[tuple[str, str, str]] = field(default_factory=list)  # (name, was, now): not set by hand
    kept: list[tuple[str, str, str]] = field(default_factory=list)  # (name, ours, theirs): set by hand, left
    unchanged: int = 0

    @property
    def summary(self) -> str:
        parts = [
            f"{len(self.added)} added",
            f"{len(self.filled)} identifier{'s' if len(self.filled) != 1 else ''} filled",
        ]
        if self.corrected:
            parts.append(f"{len(self.corrected)} corrected")
        text = ", ".join(parts) + "."
        for name, ours, theirs in self.kept:
            text += (
                f" {name}: kept the identifier {ours} set by hand; the clearing house lists it as {theirs} "
                "(change it on the insurer's page if that is right)."
            )
        return text


def _name_key(name: str) -> str:
    return " ".join(words(name.lower()))


def _check_directory(entries: list[DirectoryEntry]) -> None:
    seen: set[str] = set()
    for entry in entries:
        if not entry.name.strip():
            raise CodingError(f"The clearing house lists insurer {entry.identifier!r} with no name.", code="invalid")
        try:
            healthcode_identifier_validator(entry.identifier)
        except ValidationError:
            raise CodingError(
                f"The clearing house lists {entry.name} with identifier {entry.identifier!r}, which is not a "
                "Healthcode insurer identifier (2 to 10 lower-case letters or digits).",
                code="invalid",
            ) from None
        if entry.identifier in seen:
            raise CodingError(f"The clearing house lists identifier {entry.identifier} twice.", code="duplicate")
        seen.add(entry.identifier)
        if entry.member_check not in MemberCheck.values:
            raise CodingError(
                f"The clearing house lists {entry.name} with membership check {entry.member_check!r}.", code="invalid"
            )


@transaction.atomic
def apply_clearing_house_directory(*, practice, entries: list[DirectoryEntry]) -> DirectorySyncOutcome:
    """Bring the practice's directory in line with the clearing house's insurer list, all or nothing.

    An insurer whose identifier is already in the directory is left as it is. One matched by name
    gets the clearing house's identifier when it has none, or when its identifier was shipped or
    synced; one set by hand is kept and reported. An insurer not in the directory is added as the
    practice's own. A published entry is changed through the practice's own version of it."""
    _check_directory(entries)
    outcome = DirectorySyncOutcome()
    # One sync of a practice at a time: a second waits, then sees what the first added.
    Practice.objects.select_for_update().filter(pk=practice.pk).first()
    directory = list(insurers_for_practice(practice=practice, include_inactive=True).select_for_update())
    by_identifier = {i.healthcode_identifier: i for i in directory if i.healthcode_identifier}
    by_name = {_name_key(i.name): i for i in directory}
    for entry in entries:
        if entry.identifier in by_identifier:
            outcome.unchanged += 1
            continue
        known = by_name.get(_name_key(entry.name))
        if known is None:
            added = Insurer(
                practice=practice,
                name=entry.name.strip()[:120],
                healthcode_identifier=entry.identifier,
                identifier_source=IdentifierSource.CLEARING_HOUSE,
                member_check=entry.member_check,
                find_member_fields=list(DEFAULT_FIND_MEMBER_FIELDS[MemberCheck(entry.member_check)]),
                source=CodeSource.CLEARING_HOUSE,
            )
            added._change_reason = "Added from the clearing house's insurer list"
            added.save()
            by_identifier[entry.identifier] = by_name[_name_key(added.name)] = added
            outcome.added.append(added.name)
            continue
        was = known.healthcode_identifier
        if was and known.identifier_source == IdentifierSource.MANUAL:
            outcome.kept.append((known.name, was, entry.identifier))
            continue
        target = known
        if known.practice_id is None:
            target = _practice_version_of(practice=practice, published=known)
        target.healthcode_identifier = entry.identifier
        target.identifier_source = IdentifierSource.CLEARING_HOUSE
        target._change_reason = "Healthcode identifier from the clearing house's insurer list"
        target.save()
        if known.practice_id is None:
            _follow_practice_version(practice=practice, published=known, version=target)
        by_identifier[entry.identifier] = by_name[_name_key(target.name)] = target
        if was:
            outcome.corrected.append((target.name, was, entry.identifier))
        else:
            outcome.filled.append(target.name)
    if outcome.added or outcome.filled or outcome.corrected:
        send_reference_changed(sender=Insurer, practice=practice)
    return outcome


def _check_insurer_clashes(*, practice, target: Insurer, values: dict) -> None:
    others = insurers_for_practice(practice=practice, include_inactive=True)
    for pk in (target.pk, target.based_on_id):
        if pk:
            others = others.exclude(pk=pk)
    if target.practice_id is None:  # a published entry: the whole directory
        others = Insurer.objects.filter(practice__isnull=True).exclude(pk=target.pk)
    if others.filter(name__iexact=values.get("name", "")).exists():
        raise CodingError(
            f"An insurer called “{values['name']}” is already in the directory; use another name.",
            field="name",
            code="duplicate",
        )
    identifier = values.get("healthcode_identifier")
    if identifier and others.filter(healthcode_identifier=identifier).exists():
        raise CodingError(
            f"The Healthcode identifier “{identifier}” already belongs to another insurer.",
            field="healthcode_identifier",
            code="duplicate",
        )
