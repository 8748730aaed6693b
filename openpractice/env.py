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


def env_int(name: str, default: int, *, minimum: int | None = None, maximum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigurationError(f"{name}={raw!r} is not a whole number.") from None
    if minimum is not None and value < minimum:
        raise ConfigurationError(f"{name}={value} must be at least {minimum}.")
    if maximum is not None and value > maximum:
        raise ConfigurationError(f"{name}={value} must be at most {maximum}.")
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
            # Tests get a file of their own beside it, not SQLite's shared in-memory database: there
            # a reader meets another thread's write with "database table is locked" at once (no
            # busy timeout), which browser tests with a live server and a worker thread hit.
            "TEST": {"NAME": str(sqlite_path.with_name("test-" + sqlite_path.name))},
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


def env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value not in choices:
        raise ConfigurationError(f"{name}={raw!r} is not one of {', '.join(choices)}.")
    return value


WEB_SERVERS = ("gunicorn", "waitress")


def web_server() -> str:
    """WEB_SERVER: gunicorn (several processes, each with threads) or waitress (one process)."""
    return env_choice("WEB_SERVER", "gunicorn", WEB_SERVERS)


def web_workers(default: int) -> int:
    """WEB_WORKERS: web processes (the default depends on the database: manage.py serve)."""
    return env_int("WEB_WORKERS", default, minimum=1)


def web_threads(default: int) -> int:
    """WEB_THREADS: threads in each web process (one request each)."""
    return env_int("WEB_THREADS", default, minimum=1)


def web_access_log() -> bool:
    """WEB_ACCESS_LOG: one line per request on standard output (off: the proxy in front logs)."""
    return env_bool("WEB_ACCESS_LOG", False)


# Redis must answer within this or the request goes on without the cache (openpractice/cache.py).
REDIS_TIMEOUT_SECONDS = 2.0


def cache_config(redis_url: str) -> dict:
    """Django CACHES: Redis where REDIS_URL is set, otherwise the database (a table made by
    `createcachetable`). The database cache is always there as "database": where Redis cannot be
    reached an operation falls back to it (openpractice/cache.py), so the login throttle keeps
    counting and a page never fails because the cache is down."""
    database = {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "openpractice_cache"}
    if not redis_url:
        return {"default": database, "database": database}
    scheme = redis_url.split("://", 1)[0] if "://" in redis_url else ""
    if scheme not in {"redis", "rediss", "unix"}:
        raise ConfigurationError(
            f"REDIS_URL must look like redis://host:6379/0 (or rediss://, unix://); "
            f"got a URL with scheme {scheme or '(none)'!r}."
        )
    return {
        "default": {
            "BACKEND": "openpractice.cache.FailSoftRedisCache",
            "LOCATION": redis_url,
            "FALLBACK": "database",
            "OPTIONS": {
                "socket_connect_timeout": REDIS_TIMEOUT_SECONDS,
                "socket_timeout": REDIS_TIMEOUT_SECONDS,
                # One attempt: the fallback, not a retry loop, is what keeps a page quick.
                "retry_on_timeout": False,
            },
        },
        "database": database,
    }
