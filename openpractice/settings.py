"""Django settings, read from the environment through typed helpers (see openpractice/env.py).

Defaults suit a single machine: SQLite in ./data, console email, DEBUG off unless asked.
"""

from __future__ import annotations

from pathlib import Path

from whitenoise.compress import Compressor

from openpractice.env import (
    browse_url,
    cache_config,
    database_config,
    env_bool,
    env_choice,
    env_int,
    env_list,
    env_str,
    secret_from_file,
    writable_dir,
)

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = writable_dir("OPENPRACTICE_DATA_DIR", BASE_DIR / "data")

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY") or secret_from_file(DATA_DIR / "secret_key")
# Where `make run` (scripts/run.py, `manage.py serve`) listens, and the address `seed_demo` prints.
OPENPRACTICE_HOST = env_str("OPENPRACTICE_HOST", "127.0.0.1")
OPENPRACTICE_PORT = env_int("OPENPRACTICE_PORT", 8000, minimum=1)
OPENPRACTICE_URL = browse_url(OPENPRACTICE_HOST, OPENPRACTICE_PORT)
_BROWSE_HOST = OPENPRACTICE_URL.split("//", 1)[1].rsplit(":", 1)[0]
# Only this machine's own names by default (and the name `make run` listens on); the test runner
# adds its "testserver" itself.
ALLOWED_HOSTS = env_list(
    "ALLOWED_HOSTS",
    list(
        dict.fromkeys(
            ["127.0.0.1", "localhost", "[::1]", *([_BROWSE_HOST] if not _BROWSE_HOST.startswith("[") else [])]
        )
    ),
)
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
SITE_NAME = env_str("SITE_NAME", "OpenPractice")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "simple_history",
    "django_tasks",
    "django_tasks_db",
    "ninja",  # serves Swagger UI from its own static files, not a CDN
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "openpractice.workers",
    "openpractice.accounts",
    "openpractice.practices",
    "openpractice.audit",
    "openpractice.coding",
    "openpractice.contacts",
    "openpractice.products",
    "openpractice.patients",
    "openpractice.billing",
    "openpractice.healthcode",
    "openpractice.remittances",
    "openpractice.card_payments",
    "openpractice.receivables",
    "openpractice.imports",
    "openpractice.reports",
    "openpractice.bureaus",  # many practices in one place: reads and acts across the apps above
    "openpractice.onboarding",  # a consultant taken on from a template practice (issue 17)
    "openpractice.home",  # the dashboard and demo data: reads every app above, imported by none
]

MIDDLEWARE = [
    "openpractice.edge_middleware.RequestSizeLimitMiddleware",  # first: before anything reads a body
    "django.middleware.security.SecurityMiddleware",
    "openpractice.edge_middleware.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "openpractice.api_middleware.RefuseNulCharactersMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "openpractice.practices.middleware.CurrentPracticeMiddleware",
    "openpractice.practices.middleware.LoginRequiredMiddleware",
    "openpractice.accounts.middleware.TwoFactorRequiredMiddleware",
    "openpractice.audit.middleware.ReadLogMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
]

ROOT_URLCONF = "openpractice.urls"
WSGI_APPLICATION = "openpractice.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "openpractice" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "builtins": ["openpractice.billing.templatetags.money", "openpractice.billing.templatetags.invoice_badges"],
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "openpractice.practices.context_processors.practice",
                "openpractice.bureaus.context_processors.bureau",
            ],
        },
    },
]

DATABASES = {"default": database_config(env_str("DATABASE_URL"), sqlite_path=DATA_DIR / "openpractice.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["openpractice.accounts.backends.EmailBackend"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home:dashboard"
LOGOUT_REDIRECT_URL = "accounts:login"

# Login throttling: after this many failures for one email (or one client address) within the
# window, further attempts are refused until the window passes.
LOGIN_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5, minimum=1)
LOGIN_FAILURE_WINDOW_SECONDS = env_int("LOGIN_FAILURE_WINDOW_SECONDS", 900, minimum=1)

# Two-factor sign-in (accounts/two_factor.py): the name authenticator apps show beside the code,
# and how long the code step waits after a correct password before the sign-in starts again.
OTP_TOTP_ISSUER = SITE_NAME
OTP_ADMIN_HIDE_SENSITIVE_DATA = True  # the admin never shows a TOTP key or QR code
TWO_FACTOR_PENDING_SECONDS = env_int("TWO_FACTOR_PENDING_SECONDS", 300, minimum=30)

# The Django admin is off unless asked for; when on, it signs in through the app's own throttled,
# two-factor sign-in (accounts/admin.py).
ADMIN_ENABLED = env_bool("ADMIN_ENABLED", False)

# Redis where REDIS_URL is set (its outages fall back to the database cache: openpractice/cache.py),
# otherwise the database cache.
CACHES = cache_config(env_str("REDIS_URL"))

# Sessions and cookies: secure by default behind HTTPS; plain HTTP on a developer's machine.
HTTPS = env_bool("HTTPS", False)
# Database sessions, read without the ORM (accounts/sessions.py).
SESSION_ENGINE = "openpractice.accounts.sessions"
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 8 * 3600, minimum=300)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True

# Security headers and the edge (openpractice/edge_middleware.py; docs/architecture.md).
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Only the app's own scripts and styles (htmx is vendored; no inline script, style or handler).
CONTENT_SECURITY_POLICY = env_str(
    "CONTENT_SECURITY_POLICY",
    (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
        "connect-src 'self'; object-src 'none'; base-uri 'self'; frame-ancestors 'none'; form-action 'self'"
    ),
)
# A path prefix -> the policy for it instead; empty: every page has the one above.
CONTENT_SECURITY_POLICY_OVERRIDES: dict[str, str] = {}
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"
# Request bodies: uploads (remittance files, code lists) up to UPLOAD_MAX_BYTES, refused with 413
# from the Content-Length before they are read; every other request up to Django's
# DATA_UPLOAD_MAX_MEMORY_SIZE. Files above FILE_UPLOAD_MAX_MEMORY_SIZE spool to a temporary file.
UPLOAD_MAX_BYTES = env_int("UPLOAD_MAX_BYTES", 25 * 1024 * 1024, minimum=1024)
UPLOAD_PATHS = ("/remittances/import/", "/settings/coding/imports/new/", "/api/v1/remittances/import")
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 2_621_440, minimum=1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
if HTTPS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True

# Email: console by default (password resets, invitations, invoices print to the log).
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "OpenPractice <no-reply@localhost>")
if EMAIL_HOST_USER and "EMAIL_BACKEND" not in __import__("os").environ:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"

# Secrets at rest (Healthcode API keys): Fernet key from env, else a key file outside the DB.
FIELD_ENCRYPTION_KEY = env_str("FIELD_ENCRYPTION_KEY")
FIELD_ENCRYPTION_KEY_FILE = Path(env_str("FIELD_ENCRYPTION_KEY_FILE") or DATA_DIR / "field_encryption_key")

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "Europe/London"
USE_I18N = True
USE_TZ = True
USE_THOUSAND_SEPARATOR = False
DATE_INPUT_FORMATS = ["%Y-%m-%d", "%d/%m/%Y", "%d/%m/%y"]

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "openpractice" / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "openpractice.static_storage.HashedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
# Source maps are for a developer's tools, seldom fetched: not worth compressing (most of the time
# `collectstatic` took was the API docs' maps).
WHITENOISE_SKIP_COMPRESS_EXTENSIONS = [*Compressor.SKIP_COMPRESS_EXTENSIONS, "map"]
WHITENOISE_AUTOREFRESH = DEBUG

TASKS = {
    "default": {
        "BACKEND": env_str("TASKS_BACKEND", "django_tasks_db.DatabaseBackend"),
        "QUEUES": ["default", "healthcode"],
    }
}

# Task workers (`manage.py run_worker`): a task row a worker claimed is taken up again when that
# worker has not been seen for this long (it died or lost its machine); workers say they are alive
# every TASK_LEASE_SECONDS / 4. Reconnection after a lost database waits at most this long.
TASK_LEASE_SECONDS = env_int("TASK_LEASE_SECONDS", 120, minimum=2)
WORKER_RECONNECT_MAX_SECONDS = env_int("WORKER_RECONNECT_MAX_SECONDS", 30, minimum=1)

# The schedule (`manage.py run_schedule --loop 60`, workers/scheduler.py; `make run` starts it): the
# hour of the day, local time (TIME_ZONE), from which each job is due. The chase run daily, the
# consultant reports on the 1st of each month. A job missed while nothing ran runs at the next start.
CHASE_RUN_HOUR = env_int("CHASE_RUN_HOUR", 6, minimum=0, maximum=23)
CONSULTANT_REPORTS_HOUR = env_int("CONSULTANT_REPORTS_HOUR", 7, minimum=0, maximum=23)
# The remittance fetch of every practice with a tested Healthcode connection: every this many hours
# from local midnight (a divisor of the day, so the fetches fall at the same hours each day).
REMITTANCE_FETCH_EVERY_HOURS = int(
    env_choice("REMITTANCE_FETCH_EVERY_HOURS", "1", ("1", "2", "3", "4", "6", "8", "12", "24"))
)

# seed_demo plays twelve months of the demo practice's work (home/demo_history.py) unless this is off.
DEMO_HISTORY = env_bool("OPENPRACTICE_DEMO_HISTORY", True)

# Healthcode sandbox clearing house started by `make run` (see docs/sandbox.md).
SANDBOX_URL = env_str("SANDBOX_URL", "http://127.0.0.1:8100")

# Card payments online (card_payments): the Stripe API's address. Blank: Stripe itself; `make run`
# and the tests point it at the local stub (stripe_stub/, docs/stripe_stub.md).
STRIPE_API_BASE = env_str("STRIPE_API_BASE", "")
# This site's address as patients reach it: the "Pay online" link printed on invoices and in emails
# (built without a request).
PUBLIC_URL = env_str("OPENPRACTICE_PUBLIC_URL", "http://127.0.0.1:8000")

# Talking to the clearing house: seconds to wait for an answer, further attempts after a network
# error or a 5xx, and the first backoff (doubled per attempt).
HEALTHCODE_TIMEOUT_SECONDS = env_int("HEALTHCODE_TIMEOUT_SECONDS", 15, minimum=1)
HEALTHCODE_RETRIES = env_int("HEALTHCODE_RETRIES", 3, minimum=0)
HEALTHCODE_BACKOFF_SECONDS = env_int("HEALTHCODE_BACKOFF_MS", 250, minimum=0) / 1000
# The clearing house's addresses: Healthcode (https://*.healthcode.co.uk) and SANDBOX_URL are always
# allowed; more hosts only from here ("host", "host:port" or ".domain", comma-separated). A host
# listed here may resolve to a private address (an on-premises proxy); others may not.
HEALTHCODE_ALLOWED_HOSTS = env_list("HEALTHCODE_ALLOWED_HOSTS", [])
# Seconds for one whole request (connection to the reply's last byte), and the largest reply read.
HEALTHCODE_DEADLINE_SECONDS = env_int("HEALTHCODE_DEADLINE_SECONDS", 60, minimum=1)
HEALTHCODE_MAX_REPLY_BYTES = env_int("HEALTHCODE_MAX_REPLY_BYTES", 10_000_000, minimum=10_000)
# After this many failures in a row a practice's clearing-house calls fail at once for the cool-off.
HEALTHCODE_BREAKER_FAILURES = env_int("HEALTHCODE_BREAKER_FAILURES", 5, minimum=1)
HEALTHCODE_BREAKER_COOLOFF_SECONDS = env_int("HEALTHCODE_BREAKER_COOLOFF_SECONDS", 60, minimum=1)
# The HC-API-Version header sent on every call to the clearing house (Healthcode's default is 1).
HEALTHCODE_API_VERSION = env_str("HEALTHCODE_API_VERSION", "1")
# Bills one worker keeps in flight at once when sending a bulk submission.
HEALTHCODE_DELIVERY_THREADS = env_int("HEALTHCODE_DELIVERY_THREADS", 8, minimum=1)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "filters": {"client_errors_without_traceback": {"()": "openpractice.error_pages.ClientErrorsWithoutTraceback"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # A 403 or 400 is one warning line, not a traceback (error_pages.py).
        "django.request": {"filters": ["client_errors_without_traceback"]},
    },
}
