"""manage.py import_codes: import a practice's licensed CCSD/ISC codes or an insurer's accepted-code
list from a CSV file, with progress output. All or nothing, like the page."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from openpractice.coding import selectors, services
from openpractice.coding.errors import CodingError
from openpractice.coding.importing import CodeFileError, CsvCodeSource
from openpractice.coding.models import IMPORTABLE_SYSTEMS, ImportKind
from openpractice.practices.models import Practice


class Command(BaseCommand):
    help = "Import CCSD or ISC codes, or an insurer's accepted codes (with optional max fee), from a CSV file."

    def add_arguments(self, parser):
        parser.add_argument("file", help="the CSV file (UTF-8, header row)")
        parser.add_argument("--practice", required=True, help="practice id or exact name")
        parser.add_argument("--system", choices=[s.value for s in IMPORTABLE_SYSTEMS], default="ccsd")
        parser.add_argument(
            "--insurer", help="Healthcode identifier (e.g. bup) or id: the file is that insurer's accepted codes"
        )
        parser.add_argument("--keep-missing", action="store_true", help="do not retire codes missing from the file")
        parser.add_argument("--dry-run", action="store_true", help="check the file and show the changes; save nothing")

    def handle(self, *args, **options):
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        practice = self._practice(options["practice"])
        insurer = self._insurer(practice, options["insurer"]) if options["insurer"] else None
        kind = ImportKind.ACCEPTED if insurer else ImportKind.CODES
        source = CsvCodeSource(path.read_bytes())
        try:
            if options["dry_run"]:
                incoming = source.read(
                    system=options["system"], with_fee=kind == ImportKind.ACCEPTED, progress=self._progress
                )
                plan = services.plan_import(
                    practice=practice,
                    kind=kind,
                    system=options["system"],
                    insurer=insurer,
                    incoming=incoming,
                    retire_missing=not options["keep_missing"],
                )
                self._end_progress()
                self.stdout.write(
                    f"Dry run: would add {len(plan.added)}, change {len(plan.changed)}, retire "
                    f"{len(plan.retired)}; {plan.unchanged} unchanged. Nothing saved."
                )
                return
            outcome = services.import_code_set(
                practice=practice,
                kind=kind,
                system=options["system"],
                source=source,
                insurer=insurer,
                retire_missing=not options["keep_missing"],
                progress=self._progress,
            )
        except CodeFileError as exc:
            self._end_progress()
            for problem in exc.problems:
                self.stderr.write(str(problem))
            raise CommandError(f"{path.name} was not imported; nothing was changed.") from None
        except CodingError as exc:
            raise CommandError(exc.message) from None
        self._end_progress()
        self.stdout.write(
            self.style.SUCCESS(
                f"Imported {path.name}: {outcome.added} added, {outcome.changed} changed, {outcome.retired} retired, "
                f"{outcome.unchanged} unchanged ({outcome.rows} rows in {outcome.seconds:.1f} s, "
                f"{outcome.rows_per_second:,.0f} rows/s)."
            )
        )

    def _progress(self, done: int, total: int) -> None:
        width = 30
        filled = int(width * done / total) if total else width
        self.stdout.write(f"\rChecking rows [{'#' * filled}{'.' * (width - filled)}] {done}/{total}", ending="")
        self.stdout.flush()
        self._progressed = True

    def _end_progress(self) -> None:
        if getattr(self, "_progressed", False):
            self.stdout.write("")
            self._progressed = False

    def _practice(self, value: str) -> Practice:
        practice = Practice.objects.filter(pk=value).first() if value.isdigit() else None
        practice = practice or Practice.objects.filter(name=value).first()
        if practice is None:
            raise CommandError(f"No practice with id or name “{value}”.")
        return practice

    def _insurer(self, practice, value: str):
        insurer = (
            selectors.get_insurer(practice=practice, insurer_id=int(value))
            if value.isdigit()
            else selectors.find_insurer(practice=practice, healthcode_identifier=value)
        )
        if insurer is None:
            raise CommandError(
                f"No insurer “{value}” in the directory of {practice.name} (use its Healthcode "
                "identifier, e.g. bup, or its id)."
            )
        return insurer
