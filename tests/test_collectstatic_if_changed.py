"""`manage.py collectstatic_if_changed` and the hashed static file names WhiteNoise lets browsers
keep for good (openpractice/static_storage.py)."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client

HASHED_STORAGE = {"BACKEND": "openpractice.static_storage.HashedStaticFilesStorage"}


@pytest.fixture
def small_static(settings, tmp_path):
    """One source folder with one stylesheet, collected into a folder of its own."""
    source = tmp_path / "source"
    (source / "css").mkdir(parents=True)
    (source / "css" / "site.css").write_text("body { color: #123456; }\n" * 40)
    settings.STATICFILES_DIRS = [source]
    settings.STATICFILES_FINDERS = ["django.contrib.staticfiles.finders.FileSystemFinder"]
    settings.STATIC_ROOT = tmp_path / "collected"
    settings.STORAGES = {**settings.STORAGES, "staticfiles": HASHED_STORAGE}
    return source


def _run() -> str:
    out = StringIO()
    call_command("collectstatic_if_changed", stdout=out)
    return out.getvalue()


def _url(name: str) -> str:
    from django.contrib.staticfiles.storage import staticfiles_storage

    staticfiles_storage._setup()  # the manifest is read when the storage is made
    return staticfiles_storage.url(name)


def test_collects_once_then_only_after_a_change(small_static, settings):
    assert "collected" in _run()
    first = _url("css/site.css")
    assert re.fullmatch(r"/static/css/site\.[0-9a-f]{12}\.css", first)
    assert "unchanged" in _run()
    (small_static / "css" / "site.css").write_text("body { color: #654321; }\n")
    assert "collected" in _run()
    second = _url("css/site.css")
    assert second != first and re.fullmatch(r"/static/css/site\.[0-9a-f]{12}\.css", second)


def test_a_removed_collection_is_collected_again(small_static, settings):
    _run()
    (settings.STATIC_ROOT / "staticfiles.json").unlink()
    assert "collected" in _run()


def test_a_file_not_collected_keeps_its_own_name(small_static):
    assert _url("css/site.css") == "/static/css/site.css"
    _run()
    (small_static / "css" / "new.css").write_text("p { margin: 0; }\n")
    assert _url("css/new.css") == "/static/css/new.css"


def test_hashed_files_are_cached_for_good_plain_ones_briefly(small_static, db):
    _run()
    (small_static / "css" / "new.css").write_text("p { margin: 0; }\n")
    client = Client()  # a new handler: WhiteNoise reads the collected files when it starts
    hashed = client.get(_url("css/site.css"))
    assert hashed.status_code == 200
    assert hashed["Cache-Control"] == "max-age=315360000, public, immutable"
    plain = client.get("/static/css/new.css")
    assert plain.status_code == 200
    assert "immutable" not in plain["Cache-Control"] and "max-age=60" in plain["Cache-Control"]
    compressed = client.get(_url("css/site.css"), HTTP_ACCEPT_ENCODING="gzip")
    assert compressed["Content-Encoding"] == "gzip"
