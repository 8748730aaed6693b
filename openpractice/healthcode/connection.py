"""The one place a practice's clearing-house client is made.

It sits at the top of the healthcode app, not inside `submission/`, because submitting bills is
only one of its users: Find Member (`membership.py`), the code sets and insurer directory
(`code_sets.py`), the connection test (`services.py`) and remittance fetching take their client
here too, and none of them should import the submission machinery to get one. It imports only
the client, the models and the practice's stored credentials, so everything else can import it.

- `client_for_practice(practice)`: the client every call uses. Only credentials that passed
  "Test connection" get one (`require_tested`), kept per thread and reused.
- `client_for(practice=...)`: a new client for the saved credentials, tested or not; only the
  connection test itself uses it directly.
- `recorder_for(practice_id)`: writes each exchange to `ApiExchange`, or keeps it in memory on a
  thread inside `exchanges_kept_in_memory()` (bulk delivery writes them with its chunk's outcome).
"""

from __future__ import annotations

import contextlib
import threading

from django.conf import settings

from openpractice.db import rows
from openpractice.healthcode.client import HealthcodeClient, credentials_fingerprint
from openpractice.healthcode.credentials import healthcode_api_key
from openpractice.healthcode.errors import HealthcodeSetupError
from openpractice.healthcode.models import ApiExchange, HealthcodeIntegration
from openpractice.practices.models import Practice

NOT_TESTED = (
    "Healthcode's credentials for this practice have not passed “Test connection” since they were "
    "last changed, so OpenPractice makes no other call to the clearing house: run Test connection "
    "under Settings › Integrations first."
)
NOT_SET_UP_HERE = "Healthcode is not set up for this practice: enter the credentials first."


# -- the gate: credentials that passed the connection test ------------------------------------
def integration_for(practice: Practice) -> HealthcodeIntegration | None:
    """The practice's integration (one at most), read by one hand-written statement: the invoice
    page and the dashboard ask on every view, and the ORM took five times longer to build the
    lookup than to run it (issue 18)."""
    if practice is None:
        return None
    table = HealthcodeIntegration._meta.db_table
    found = rows.first(
        f"SELECT {rows.columns(HealthcodeIntegration, 'i')} FROM {table} i WHERE i.practice_id = %s",
        [practice.pk],
        HealthcodeIntegration,
    )
    return found[0] if found else None


def fingerprint_of(integration: HealthcodeIntegration) -> str:
    return credentials_fingerprint(
        discovery_url=integration.discovery_url,
        site_id=integration.site_id,
        api_key_id=integration.api_key_id,
        api_key=healthcode_api_key(integration=integration),
    )


def is_tested(integration: HealthcodeIntegration | None) -> bool:
    """The current credentials (not merely some earlier ones) passed the connection test."""
    return bool(
        integration
        and integration.api_key_is_set
        and integration.last_test_ok
        and integration.tested_fingerprint
        and integration.tested_fingerprint == fingerprint_of(integration)
    )


def require_tested(*, practice: Practice) -> HealthcodeIntegration:
    """The integration, if its current credentials passed the test; otherwise HealthcodeSetupError."""
    integration = integration_for(practice)
    if integration is None or not integration.api_key_is_set:
        raise HealthcodeSetupError(NOT_SET_UP_HERE)
    if not is_tested(integration):
        raise HealthcodeSetupError(NOT_TESTED, code="untested")
    return integration


# -- the exchange log -------------------------------------------------------------------------
_exchange_buffer = threading.local()


def recorder_for(practice_id: int):
    def record(exchange: dict) -> None:
        buffer = getattr(_exchange_buffer, "rows", None)
        if buffer is not None:  # a bulk delivery thread: written with the batch's outcome, in one insert
            buffer.append(ApiExchange(practice_id=practice_id, **exchange))
            return
        ApiExchange.objects.create(practice_id=practice_id, **exchange)

    return record


@contextlib.contextmanager
def exchanges_kept_in_memory():
    """On this thread, exchanges are kept in the list yielded instead of written one by one (a
    sender thread touches no database; its caller writes them in bulk)."""
    rows: list[ApiExchange] = []
    _exchange_buffer.rows = rows
    try:
        yield rows
    finally:
        _exchange_buffer.rows = None


# -- the client -------------------------------------------------------------------------------
def client_options() -> dict:
    """The limits every clearing-house client runs with (settings.py)."""
    return {
        "timeout": settings.HEALTHCODE_TIMEOUT_SECONDS,
        "retries": settings.HEALTHCODE_RETRIES,
        "backoff": settings.HEALTHCODE_BACKOFF_SECONDS,
        "deadline": settings.HEALTHCODE_DEADLINE_SECONDS,
        "max_reply_bytes": settings.HEALTHCODE_MAX_REPLY_BYTES,
        "breaker_failures": settings.HEALTHCODE_BREAKER_FAILURES,
        "breaker_cooloff": settings.HEALTHCODE_BREAKER_COOLOFF_SECONDS,
    }


def client_for(*, practice: Practice, **options) -> HealthcodeClient:
    """A client for the practice's saved credentials, tested or not (the connection test uses it;
    everything else goes through client_for_practice, which asks for a passed test)."""
    integration = integration_for(practice)
    if integration is None or not integration.api_key_is_set:
        raise HealthcodeSetupError(NOT_SET_UP_HERE)
    return HealthcodeClient(
        discovery_url=integration.discovery_url,
        site_id=integration.site_id,
        api_key_id=integration.api_key_id,
        api_key=healthcode_api_key(integration=integration),
        practice_key=practice.pk,
        **{**client_options(), **options},
    )


_clients = threading.local()


def client_for_practice(practice: Practice):
    """The practice's client, kept per thread and reused (a new HTTP client costs ~50 ms of TLS
    set-up and a new connection); a change of credentials makes a new one. Only credentials that
    passed "Test connection" get one: otherwise HealthcodeSetupError (code "untested") says so and
    nothing is sent. Use as `with client_for_practice(p) as client:` (the client stays open)."""
    integration = require_tested(practice=practice)
    options = client_options()
    key = (practice.pk, fingerprint_of(integration), tuple(sorted(options.items())))
    cache = getattr(_clients, "by_key", None)
    if cache is None:
        cache = _clients.by_key = {}
    client = cache.get(key)
    if client is None:
        for old in cache.values():
            old.close()
        cache.clear()
        client = cache[key] = client_for(practice=practice, recorder=recorder_for(practice.pk))
    return contextlib.nullcontext(client)
