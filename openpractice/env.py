"""Typed readers for environment variables.

Every setting that can come from the environment is read through one of these, so a bad value
stops start-up with one line that names the variable and what would be valid.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path


class ConfigurationError(SystemExit):
    """Start-up stops with this: one clear line, no traceback."""

    def __init__(self, message: str):
        super().__init__(f"OpenPractice configuration error: {message}")


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ConfigurationError(f"{name}={raw!r} is not a boolean; use true or false.")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigurationError(f"{name}={raw!r} is not a whole number.") from None
    if minimum is not None and value < minimum:
        raise ConfigurationError(f"{name}={value} must be at least {minimum}.")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def writable_dir(name: str, default: Path) -> Path:
    """A folder the app keeps its data in: created if missing, and it must be writable."""
    path = Path(os.environ.get(name) or default).expanduser().resolve()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigurationError(
            f"{name}: cannot create the data folder {path} ({exc.strerror}); "
            f"set {name} to a folder this user can write."
        ) from None
    probe = path / ".write-test"
    try:
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        raise ConfigurationError(
            f"{name}: the data folder {path} is not writable ({exc.strerror}); "
            f"fix its permissions or set {name} to another folder."
        ) from None
    return path


def secret_from_file(path: Path, *, nbytes: int = 50) -> str:
    """Read a secret from a local file, generating it on first run (never committed)."""
    if path.exists():
        value = path.read_text().strip()
        if value:
            return value
    value = secrets.token_urlsafe(nbytes)
    path.write_text(value + "\n")
    path.chmod(0o600)
    return value


def database_config(url: str, *, sqlite_path: Path) -> dict:
    """Django DATABASES['default'] from DATABASE_URL, or the embedded SQLite file."""
    if not url:
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(sqlite_path),
            "OPTIONS": {
                # WAL lets readers work while one writer writes; the busy timeout makes a
                # second writer wait instead of failing with "database is locked".
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "timeout": 20,
                "transaction_mode": "IMMEDIATE",
            },
        }
    import dj_database_url

    scheme = url.split("://", 1)[0] if "://" in url else ""
    if scheme not in {"postgres", "postgresql", "pgsql", "sqlite"}:
        raise ConfigurationError(
            f"DATABASE_URL must look like postgresql://user@host:5432/dbname or sqlite:///path; "
            f"got a URL with scheme {scheme or '(none)'!r}."
        )
    try:
        config = dj_database_url.parse(url, conn_max_age=60, conn_health_checks=True)
    except Exception as exc:  # the library raises several types for bad URLs
        raise ConfigurationError(f"DATABASE_URL could not be parsed: {exc}") from None
    if config["ENGINE"].endswith("postgresql") and not config.get("NAME"):
        raise ConfigurationError("DATABASE_URL names no database; add /dbname at the end.")
    return config


def browse_url(host: str, port: int) -> str:
    """The address to open for a server listening on host:port: every interface (0.0.0.0, ::) is
    reached on this machine as 127.0.0.1; an IPv6 address goes in brackets."""
    host = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    return f"http://{f'[{host}]' if ':' in host else host}:{port}"
