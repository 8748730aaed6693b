"""Static files with their content's hash in their names, so browsers keep them for good.

`collectstatic` (run by `make migrate` and `make run` through `manage.py collectstatic_if_changed`)
copies every file into STATIC_ROOT under a hashed name (`app.3f2a9c0b1d4e.css`), compressed too, and
WhiteNoise serves those with `Cache-Control: max-age=315360000, public, immutable`; a changed file
gets a new name, so nothing stale is ever kept.

A file not collected (a fresh checkout before `collectstatic`, the test suite) keeps its own name
and is served from the source folders with a short cache time, instead of failing the page.
"""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from whitenoise.storage import CompressedManifestStaticFilesStorage


class HashedStaticFilesStorage(CompressedManifestStaticFilesStorage):
    manifest_strict = False

    def stored_name(self, name: str) -> str:
        clean_name = urlsplit(unquote(name)).path.strip()
        if self.hashed_files.get(self.hash_key(clean_name)) is None:
            return name
        return super().stored_name(name)
