"""Bad configuration stops start-up with one clear line."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _manage(*args, **env):
    full_env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "DJANGO_SETTINGS_MODULE"}}
    full_env.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=full_env, capture_output=True, text=True, timeout=60
    )


def test_bad_database_url_scheme(tmp_path):
    result = _manage("check", DATABASE_URL="mysql2://nowhere/db", OPENPRACTICE_DATA_DIR=str(tmp_path))
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "DATABASE_URL must look like postgresql://" in lines[0]


def test_unreachable_database(tmp_path):
    result = _manage(
        "migrate", DATABASE_URL="postgresql://postgres@127.0.0.1:1/nope", OPENPRACTICE_DATA_DIR=str(tmp_path)
    )
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot use the database 127.0.0.1:1/nope" in lines[0] and "DATABASE_URL" in lines[0]


def test_unwritable_data_folder(tmp_path):
    blocker = tmp_path / "afile"
    blocker.write_text("not a folder")
    result = _manage("check", OPENPRACTICE_DATA_DIR=str(blocker / "data"))
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "OPENPRACTICE_DATA_DIR" in lines[0]


def test_secret_key_generated_once(tmp_path):
    assert _manage("check", OPENPRACTICE_DATA_DIR=str(tmp_path)).returncode == 0
    key = (tmp_path / "secret_key").read_text()
    assert len(key.strip()) > 40
    _manage("check", OPENPRACTICE_DATA_DIR=str(tmp_path))
    assert (tmp_path / "secret_key").read_text() == key
