"""A minimal Healthcode clearing-house client: discovery, OAuth2 client credentials, SU-SiteId.

Shape (the submission issue builds claims, Find Member and remittances on top):
- `HealthcodeClient(discovery_url=, site_id=, api_key_id=, api_key=)`; every endpoint comes from
  the discovery document (`client.endpoint("find_member_endpoint")`), never from a literal.
- The discovery document is cached per URL for `DISCOVERY_TTL` seconds; the access token is
  cached per (token endpoint, key id, site) until shortly before it expires, and fetched again
  once when a call answers 401.
- `client.call(endpoint_key, data=..., json=...)` sends `Authorization: Bearer …` and
  `SU-SiteId`; searches are form-encoded POSTs as Healthcode publishes.
- Explicit timeouts on every request. Secrets never reach a log: the API key and access tokens
  are replaced by `[redacted]` in every message this module logs or raises.
- `test_connection()` runs discovery, token and one site-scoped call and says plainly what
  worked and what failed.
"""

from __future__ import annotations

import logging
import random
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

logger = logging.getLogger("openpractice.healthcode")

DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
DISCOVERY_TTL = 3600.0
TOKEN_MARGIN = 30.0  # refresh this many seconds before the token expires

# A cheap, read-only call that proves the site: the first key the discovery document has.
SITE_PROBE_ENDPOINTS = ("list_insurers_endpoint", "list_pending_remittances_endpoint")
DEFAULT_RETRIES = 3  # further attempts after a network error or a 5xx answer
DEFAULT_BACKOFF = 0.25  # seconds before the first retry; doubled each time, with jitter
FHIR_JSON = "application/fhir+json"
RETRYABLE_CODES = ("timeout", "unreachable")
_TOKEN_IN_REPLY = re.compile(r'("(?:access_token|refresh_token|id_token)"\s*:\s*)"[^"]*"')


class HealthcodeError(Exception):
    """A call to the clearing house failed; `message` says what and what to do."""

    def __init__(self, message: str, *, code: str = "error", status: int | None = None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status


@dataclass
class _Token:
    value: str
    expires_at: float


_discovery_cache: dict[str, tuple[float, dict[str, str]]] = {}
_token_cache: dict[tuple[str, str, str], _Token] = {}
_cache_lock = threading.Lock()


def clear_caches() -> None:
    with _cache_lock:
        _discovery_cache.clear()
        _token_cache.clear()


@dataclass
class Step:
    name: str
    ok: bool
    detail: str


@dataclass
class ConnectionReport:
    steps: list[Step] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.steps) and all(step.ok for step in self.steps)

    @property
    def message(self) -> str:
        return " ".join(f"{step.name}: {step.detail}" for step in self.steps)


class HealthcodeClient:
    def __init__(self, *, discovery_url: str, site_id: str, api_key_id: str, api_key: str,
                 timeout: httpx.Timeout | float = DEFAULT_TIMEOUT, transport: httpx.BaseTransport | None = None,
                 recorder=None, retries: int = DEFAULT_RETRIES, backoff: float = DEFAULT_BACKOFF):
        # recorder(exchange: dict) is told of every request and reply, secrets already redacted.
        self.recorder = recorder
        self.retries = retries
        self.backoff = backoff
        self.discovery_url = discovery_url
        self.site_id = site_id
        self.api_key_id = api_key_id
        self._api_key = api_key
        self._http = httpx.Client(timeout=timeout, transport=transport, follow_redirects=False,
                                  headers={"User-Agent": "OpenPractice"})

    def __repr__(self) -> str:  # never the key
        return f"<HealthcodeClient site={self.site_id} key_id={self.api_key_id} discovery={self.discovery_url}>"

    def close(self) -> None:
        self._http.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- redaction ---------------------------------------------------------------------------
    def redact(self, text: str) -> str:
        secrets = [self._api_key] + [t.value for t in _token_cache.values()]
        for secret in secrets:
            if secret:
                text = text.replace(secret, "[redacted]")
        return text

    def _log(self, level: int, message: str, *args) -> None:
        logger.log(level, self.redact(message % args if args else message))

    # -- discovery ---------------------------------------------------------------------------
    def discovery(self, *, refresh: bool = False) -> dict[str, str]:
        now = time.monotonic()
        with _cache_lock:
            cached = _discovery_cache.get(self.discovery_url)
        if cached and not refresh and cached[0] > now:
            return cached[1]
        answer = self._send("GET", self.discovery_url, what="the discovery document")
        if answer.status_code != 200:
            raise HealthcodeError(
                f"{self.discovery_url} answered HTTP {answer.status_code}, not a discovery document. "
                "Check the discovery document URL.", code="bad_url", status=answer.status_code)
        try:
            document = answer.json()
        except ValueError:
            document = None
        if not isinstance(document, dict) or not isinstance(document.get("token_endpoint"), str):
            raise HealthcodeError(
                f"{self.discovery_url} is not a Healthcode discovery document (no token_endpoint). "
                "Check the discovery document URL.", code="bad_url")
        with _cache_lock:
            _discovery_cache[self.discovery_url] = (now + DISCOVERY_TTL, document)
        self._log(logging.INFO, "Healthcode discovery document fetched from %s (%d endpoints)",
                  self.discovery_url, len(document))
        return document

    def endpoint(self, key: str) -> str:
        url = self.discovery().get(key)
        if not url:
            raise HealthcodeError(f"The discovery document has no {key}.", code="no_endpoint")
        return url

    # -- token -------------------------------------------------------------------------------
    def _token_key(self) -> tuple[str, str, str]:
        return (self.discovery_url, self.api_key_id, self.site_id)

    def access_token(self, *, refresh: bool = False) -> str:
        key = self._token_key()
        with _cache_lock:
            token = _token_cache.get(key)
        if token and not refresh and token.expires_at - TOKEN_MARGIN > time.monotonic():
            return token.value
        token_url = self.endpoint("token_endpoint")
        answer = self._send("POST", token_url, what="the token endpoint", data={
            "grant_type": "client_credentials", "client_id": self.api_key_id, "client_secret": self._api_key,
        })
        if answer.status_code in (400, 401, 403):
            reason = _oauth_error(answer)
            raise HealthcodeError(
                f"Healthcode refused the API key id or API key ({reason}). Check both; credentials issued "
                "for another system do not work.", code="bad_credentials", status=answer.status_code)
        if answer.status_code != 200:
            raise HealthcodeError(f"The token endpoint answered HTTP {answer.status_code}.",
                                  code="token_error", status=answer.status_code)
        try:
            body = answer.json()
            value = body["access_token"]
            lifetime = float(body.get("expires_in", 300))
        except (ValueError, KeyError, TypeError):
            raise HealthcodeError("The token endpoint did not return an access token.", code="token_error") from None
        with _cache_lock:
            _token_cache[key] = _Token(value, time.monotonic() + lifetime)
        self._log(logging.INFO, "Healthcode access token issued for site %s (expires in %ds)", self.site_id, lifetime)
        return value

    # -- calls -------------------------------------------------------------------------------
    def call(self, endpoint_key: str, *, method: str = "POST", data: dict[str, Any] | None = None,
             json: Any = None, content: bytes | None = None, headers: dict[str, str] | None = None) -> httpx.Response:
        """An authenticated call to an endpoint named in the discovery document.

        A 401 fetches a new token once and retries; 403 for the site is a HealthcodeError."""
        url = self.endpoint(endpoint_key)
        for attempt in (1, 2):
            request_headers = {"Authorization": f"Bearer {self.access_token(refresh=attempt == 2)}",
                               "SU-SiteId": self.site_id, **(headers or {})}
            answer = self._send(method, url, what=endpoint_key, data=data, json=json, content=content,
                                headers=request_headers)
            if answer.status_code != 401:
                break
            self._log(logging.INFO, "Healthcode answered 401 on %s; fetching a new token", endpoint_key)
        if answer.status_code == 401:
            raise HealthcodeError("Healthcode did not accept the access token, even a new one.",
                                  code="bad_credentials", status=401)
        if answer.status_code == 403:
            raise HealthcodeError(
                f"Healthcode refused Site ID {self.site_id} for these credentials: check the Site ID "
                "(it must be the site the API key was issued for).", code="site_mismatch", status=403)
        return answer

    def _send(self, method: str, url: str, *, what: str, **kwargs) -> httpx.Response:
        started = time.monotonic()
        try:
            answer = self._http.request(method, url, **kwargs)
        except httpx.TimeoutException:
            self._record(method, url, what, kwargs, None, started, "timeout")
            raise HealthcodeError(
                f"{what} did not answer within {self._http.timeout.read or 0:g} seconds (timeout) at {url}.",
                code="timeout") from None
        except httpx.InvalidURL:
            raise HealthcodeError(f"{url} is not a usable URL. Check the discovery document URL.",
                                  code="bad_url") from None
        except httpx.TransportError as exc:
            self._record(method, url, what, kwargs, None, started, type(exc).__name__)
            raise HealthcodeError(
                f"Could not reach {url} ({type(exc).__name__}). Check the discovery document URL and "
                "that the clearing house is up.", code="unreachable") from None
        self._log(logging.DEBUG, "Healthcode %s %s -> %d in %.0f ms", method, url, answer.status_code,
                  (time.monotonic() - started) * 1000)
        self._record(method, url, what, kwargs, answer, started, "")
        return answer

    # -- the support record ------------------------------------------------------------------
    def _record(self, method, url, what, kwargs, answer, started, error) -> None:
        if self.recorder is None:
            return
        headers = {k: ("Bearer [redacted]" if k.lower() == "authorization" else self.redact(str(v)))
                   for k, v in (kwargs.get("headers") or {}).items()}
        body = kwargs.get("content") or kwargs.get("data") or kwargs.get("json") or ""
        if isinstance(body, bytes):
            body = body.decode("utf-8", "replace")
        elif isinstance(body, dict):
            body = "&".join(f"{k}={'[redacted]' if k == 'client_secret' else v}" for k, v in body.items())
        reply = ""
        if answer is not None:
            # The token reply carries a token not yet in the cache the redaction knows about.
            reply = _TOKEN_IN_REPLY.sub(r'\1"[redacted]"', answer.text[:20000])
        try:
            self.recorder({
                "endpoint": what[:60], "method": method, "url": url[:500], "request_headers": headers,
                "request_body": self.redact(str(body))[:20000], "status_code": answer.status_code if answer is not None else None,
                "response_body": self.redact(reply), "error": error[:300],
                "duration_ms": int((time.monotonic() - started) * 1000),
            })
        except Exception:  # the support record must never break a submission
            logger.exception("Could not record a Healthcode exchange")

    # -- calls with retries ------------------------------------------------------------------
    def call_with_retries(self, endpoint_key: str, **kwargs) -> httpx.Response:
        """`call`, retried with exponential backoff on network errors and 5xx answers only: a 4xx
        is the clearing house's considered answer and is returned at once. Only safe for calls
        that are idempotent (searches, or a bill sent with its Idempotency-Key)."""
        delay = self.backoff
        for attempt in range(self.retries + 1):
            try:
                answer = self.call(endpoint_key, **kwargs)
            except HealthcodeError as exc:
                if not (exc.code in RETRYABLE_CODES or (exc.status or 0) >= 500) or attempt == self.retries:
                    raise
                self._log(logging.INFO, "Healthcode %s: %s; retrying in %.2fs", endpoint_key, exc.code, delay)
            else:
                if answer.status_code < 500 or attempt == self.retries:
                    return answer
                self._log(logging.INFO, "Healthcode %s answered %d; retrying in %.2fs", endpoint_key,
                          answer.status_code, delay)
            time.sleep(delay * (0.5 + random.random()))
            delay *= 2
        raise AssertionError("unreachable")

    def submit_claim(self, claim_json: str, *, idempotency_key: str) -> httpx.Response:
        return self.call_with_retries("submit_claim_endpoint", content=claim_json.encode("utf-8"),
                                      headers={"Content-Type": FHIR_JSON, "Accept": FHIR_JSON,
                                               "Idempotency-Key": idempotency_key})

    def claim_status(self, *, bill_id: str = "", invoice_number: str = "", insurer: str = "") -> httpx.Response:
        data = {"billId": bill_id} if bill_id else {"invoiceNumber": invoice_number, "insurerIdentifier": insurer}
        return self.call_with_retries("claim_status_endpoint", data=data)

    def cancel_claim(self, *, bill_id: str) -> httpx.Response:
        return self.call_with_retries("cancel_claim_endpoint", data={"billId": bill_id})

    def find_member(self, **fields: str) -> httpx.Response:
        return self.call_with_retries("find_member_endpoint", data={k: v for k, v in fields.items() if v})

    def search_code_set(self, *, code_set: str, page: int = 1, count: int = 100, **filters: str) -> httpx.Response:
        return self.call_with_retries("search_code_set_endpoint",
                                      data={"codeSet": code_set, "page": page, "count": count, **filters})

    def list_insurers(self, *, page: int = 1, count: int = 100) -> httpx.Response:
        return self.call_with_retries("list_insurers_endpoint", data={"page": page, "count": count})

    # -- remittances (searches and reads: safe to retry) -------------------------------------
    def list_pending_remittances(self, *, page: int = 1, count: int = 100) -> httpx.Response:
        """Batches not yet acknowledged: a searchset Bundle of PaymentReconciliation."""
        return self.call_with_retries("list_pending_remittances_endpoint", data={"page": page, "count": count})

    def get_remittance_details(self, *, remittance_id: str) -> httpx.Response:
        """One batch: a collection Bundle of its PaymentReconciliation (a detail per bill) and each
        bill's ClaimResponse with the line adjudication."""
        return self.call_with_retries("get_remittance_details_endpoint", data={"remittanceId": remittance_id})

    def acknowledge_remittance(self, *, remittance_id: str) -> httpx.Response:
        """Takes the batch off the pending list; acknowledging again is harmless, so retries are safe."""
        return self.call_with_retries("acknowledge_remittance_endpoint", data={"remittanceId": remittance_id})

    def search_remittance_summary(self, *, page: int = 1, count: int = 100, **filters: str) -> httpx.Response:
        """One PaymentReconciliation per remitted bill; filters as Healthcode publishes them
        (insurer, provider, invoiceNumber, patientName, membershipNumber, paymentReference,
        hasShortFall, dateCreated, datePaid, paymentAmount, amountInvoiced; dates and amounts take
        the FHIR prefixes eq/ge/le/gt/lt)."""
        return self.call_with_retries("search_remittance_summary_endpoint",
                                      data={"page": page, "count": count, **{k: v for k, v in filters.items() if v}})

    # -- the connection test -----------------------------------------------------------------
    def test_connection(self) -> ConnectionReport:
        """Discovery, token, then one site-scoped call; each step says what worked or failed."""
        report = ConnectionReport()
        try:
            document = self.discovery(refresh=True)
        except HealthcodeError as exc:
            report.steps.append(Step("Discovery document", False, exc.message))
            return report
        report.steps.append(Step("Discovery document", True, f"found at {self.discovery_url}."))
        try:
            self.access_token(refresh=True)
        except HealthcodeError as exc:
            report.steps.append(Step("API key", False, exc.message))
            return report
        report.steps.append(Step("API key", True, f"accepted for API key id {self.api_key_id}."))
        probe = next((key for key in SITE_PROBE_ENDPOINTS if document.get(key)), None)
        if probe is None:
            report.steps.append(Step("Site ID", False, "the discovery document offers no endpoint to check the site with."))
            return report
        try:
            answer = self.call(probe, data={"page": 1, "count": 1})
        except HealthcodeError as exc:
            report.steps.append(Step("Site ID", False, exc.message))
            return report
        if answer.status_code >= 400:
            report.steps.append(Step("Site ID", False, f"the clearing house answered HTTP {answer.status_code}."))
        else:
            report.steps.append(Step("Site ID", True, f"{self.site_id} accepted."))
        return report


def _oauth_error(answer: httpx.Response) -> str:
    try:
        body = answer.json()
        return str(body.get("error") or f"HTTP {answer.status_code}")
    except ValueError:
        return f"HTTP {answer.status_code}"
