"""Collect the static files only when they have changed since the last collection.

`collectstatic` hashes, copies and compresses every file (a minute on a busy machine); `make migrate`
and `make run` call this instead, which compares one hash of every source file's name and content
with the one written after the last collection and does nothing when they are equal."""

from __future__ import annotations

import hashlib
from pathlib import Path

from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.core.management.base import BaseCommand

STAMP_NAME = ".sources-sha256"


def sources_digest() -> str:
    """One hash of every static file the finders see: its name, where it comes from and its bytes."""
    digest = hashlib.sha256()
    found = []
    for finder in finders.get_finders():
        for path, storage in finder.list([]):
            found.append((path, storage.path(path)))
    for name, source in sorted(found):
        digest.update(f"{name}\0{source}\0".encode())
        digest.update(Path(source).read_bytes())
    return digest.hexdigest()


class Command(BaseCommand):
    help = "Run collectstatic if a static file changed since the last run (or none were collected)."

    def handle(self, *args, **options):
        root = Path(settings.STATIC_ROOT)
        stamp = root / STAMP_NAME
        digest = sources_digest()
        manifest = root / "staticfiles.json"
        if manifest.exists() and stamp.exists() and stamp.read_text().strip() == digest:
            self.stdout.write("Static files unchanged since the last collection.")
            return
        call_command("collectstatic", interactive=False, verbosity=0)
        stamp.write_text(digest + "\n")
        self.stdout.write(f"Static files collected into {root}.")
