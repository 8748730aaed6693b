"""A minimal Healthcode clearing-house client: discovery, OAuth2 client credentials, SU-SiteId.

Shape (the submission issue builds claims, Find Member and remittances on top):
- `HealthcodeClient(discovery_url=, site_id=, api_key_id=, api_key=, practice_key=)`; every endpoint
  comes from the discovery document (`client.endpoint("find_member_endpoint")`), never from a literal.
- A session with the clearing house (discovery document, access token) belongs to one practice and
  one set of credentials: both caches are keyed by (practice, credentials fingerprint), the
  fingerprint an HMAC of URL, site, key id and key (never the key itself); a client made with new
  credentials drops the practice's older entries. Two practices never share a token, whatever they type.
- Outbound addresses are checked (outbound.py): the discovery URL, every endpoint the document
  names and its token endpoint must be on an allowed host; no redirects (a 3xx is a failure).
- Every request has an overall deadline (the whole exchange, body included) and a reply size cap
  (the body is streamed and the read stops past the cap); both are failures retried with backoff.
- A per-practice circuit breaker, shared by every thread of the process: after
  `breaker_failures` failures in a row, that practice's calls fail at once for `breaker_cooloff`
  seconds, so one practice's unreachable or slow clearing house never holds up another's work.
- `client.call(endpoint_key, data=..., json=...)` sends `Authorization: Bearer …` and
  `SU-SiteId`; searches are form-encoded POSTs as Healthcode publishes. Every request (discovery
  and token too) carries `HC-API-Version` (settings.HEALTHCODE_API_VERSION, or `api_version=`).
- Secrets never reach a log: the API key and access tokens are replaced by `[redacted]` in every
  message this module logs or raises.
- `test_connection()` runs discovery, token and one site-scoped call, checks each answer is the
  JSON or FHIR resource it should be, and says plainly what worked and what failed.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import random
import re
import threading
import time
import zlib
from dataclasses import dataclass, field
from typing import Any

import httpx
from django.conf import settings

from openpractice.healthcode import outbound

logger = logging.getLogger("openpractice.healthcode")

DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
DEFAULT_DEADLINE = 60.0  # seconds for a whole request, connection to last byte
DEFAULT_MAX_REPLY_BYTES = 10_000_000
DEFAULT_BREAKER_FAILURES = 5  # failures in a row that open a practice's circuit
DEFAULT_BREAKER_COOLOFF = 60.0  # seconds its calls then fail at once
DISCOVERY_TTL = 3600.0
API_VERSION_HEADER = "HC-API-Version"
TOKEN_MARGIN = 30.0  # refresh this many seconds before the token expires

# A cheap, read-only call that proves the site: the first key the discovery document has.
SITE_PROBE_ENDPOINTS = ("list_insurers_endpoint", "list_pending_remittances_endpoint")
DEFAULT_RETRIES = 3  # further attempts after a network error or a 5xx answer
DEFAULT_BACKOFF = 0.25  # seconds before the first retry; doubled each time, with jitter
FHIR_JSON = "application/fhir+json"
RETRYABLE_CODES = ("timeout", "unreachable", "too_large")
# What counts towards a practice's circuit breaker: the clearing house (or the way to it) failing,
# not its considered 4xx answers and not an address refused before anything was sent.
BREAKER_CODES = ("timeout", "unreachable", "too_large", "redirect", "server_error")
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


@dataclass
class _Breaker:
    failures: int = 0
    open_until: float = 0.0


# Process-level, so every thread of a worker sees them; keyed by (practice, credentials fingerprint).
_discovery_cache: dict[tuple[str, str], tuple[float, dict[str, str]]] = {}
_token_cache: dict[tuple[str, str], _Token] = {}
_breakers: dict[tuple[str, str], _Breaker] = {}
_cache_lock = threading.Lock()


def clear_caches() -> None:
    with _cache_lock:
        _discovery_cache.clear()
        _token_cache.clear()
        _breakers.clear()


def credentials_fingerprint(*, discovery_url: str, site_id: str, api_key_id: str, api_key: str) -> str:
    """An HMAC-SHA256 (keyed by the app's SECRET_KEY) of everything that makes a session: two sets of
    credentials that differ in anything, the key included, never share a cache entry. The key is
    not recoverable from it."""
    secret = hashlib.sha256(b"openpractice.healthcode.credentials:" + settings.SECRET_KEY.encode()).digest()
    material = "\x1f".join((discovery_url.strip(), site_id.strip().upper(), api_key_id.strip(), api_key))
    return hmac.new(secret, material.encode("utf-8"), hashlib.sha256).hexdigest()


def _forget_other_sessions(practice_key: str, fingerprint: str) -> None:
    """New credentials for a practice: its sessions under the old ones go."""
    with _cache_lock:
        for cache in (_discovery_cache, _token_cache, _breakers):
            for key in [k for k in cache if k[0] == practice_key and k[1] != fingerprint]:
                del cache[key]


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
    def __init__(
        self,
        *,
        discovery_url: str,
        site_id: str,
        api_key_id: str,
        api_key: str,
        practice_key: int | str | None = None,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        transport: httpx.BaseTransport | None = None,
        recorder=None,
        retries: int = DEFAULT_RETRIES,
        backoff: float = DEFAULT_BACKOFF,
        deadline: float = DEFAULT_DEADLINE,
        max_reply_bytes: int = DEFAULT_MAX_REPLY_BYTES,
        breaker_failures: int = DEFAULT_BREAKER_FAILURES,
        breaker_cooloff: float = DEFAULT_BREAKER_COOLOFF,
        api_version: str | None = None,
    ):
        # recorder(exchange: dict) is told of every request and reply, secrets already redacted.
        self.recorder = recorder
        self.retries = retries
        self.backoff = backoff
        self.deadline = float(deadline)
        self.max_reply_bytes = int(max_reply_bytes)
        self.breaker_failures = max(1, int(breaker_failures))
        self.breaker_cooloff = float(breaker_cooloff)
        self.discovery_url = discovery_url
        self.site_id = site_id
        self.api_key_id = api_key_id
        self._api_key = api_key
        self.fingerprint = credentials_fingerprint(
            discovery_url=discovery_url, site_id=site_id, api_key_id=api_key_id, api_key=api_key
        )
        # Without a practice the session is this client's own (no one else can reuse its token).
        self.practice_key = str(practice_key) if practice_key is not None else f"client-{id(self)}"
        self._session_key = (self.practice_key, self.fingerprint)
        _forget_other_sessions(self.practice_key, self.fingerprint)
        self._http = httpx.Client(
            timeout=timeout,
            transport=transport or outbound.GuardedTransport(),
            follow_redirects=False,
            headers={
                "User-Agent": "OpenPractice",
                "Accept-Encoding": "gzip, identity",
                API_VERSION_HEADER: str(api_version or getattr(settings, "HEALTHCODE_API_VERSION", "1")),
            },
        )

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
            cached = _discovery_cache.get(self._session_key)
        if cached and not refresh and cached[0] > now:
            return cached[1]
        answer = self._send("GET", self.discovery_url, what="the discovery document")
        if answer.status_code != 200:
            raise HealthcodeError(
                f"{self.discovery_url} answered HTTP {answer.status_code}, not a discovery document. "
                "Check the discovery document URL.",
                code="bad_url",
                status=answer.status_code,
            )
        try:
            document = answer.json()
        except ValueError:
            document = None
        if not isinstance(document, dict) or not isinstance(document.get("token_endpoint"), str):
            raise HealthcodeError(
                f"{self.discovery_url} is not a Healthcode discovery document (it answered "
                f"{_content_type(answer)}, with no token_endpoint). Check the discovery document URL.",
                code="bad_url",
            )
        # Every address the document names must be one we may call: a document that points the
        # token request (which carries the API key) or any call elsewhere is refused whole.
        for key, value in document.items():
            if key == "token_endpoint" or key.endswith("_endpoint"):
                if not isinstance(value, str):
                    raise HealthcodeError(f"The discovery document's {key} is not an address.", code="bad_url")
                try:
                    outbound.rule_for_url(value)
                except outbound.OutboundRefused as exc:
                    raise HealthcodeError(
                        f"The discovery document's {key} is refused: {exc.message}", code="host_not_allowed"
                    ) from None
        with _cache_lock:
            _discovery_cache[self._session_key] = (now + DISCOVERY_TTL, document)
        self._log(
            logging.INFO,
            "Healthcode discovery document fetched from %s (%d endpoints)",
            self.discovery_url,
            len(document),
        )
        return document

    def endpoint(self, key: str) -> str:
        url = self.discovery().get(key)
        if not url:
            raise HealthcodeError(f"The discovery document has no {key}.", code="no_endpoint")
        return url

    # -- token -------------------------------------------------------------------------------
    def access_token(self, *, refresh: bool = False) -> str:
        key = self._session_key
        with _cache_lock:
            token = _token_cache.get(key)
        if token and not refresh and token.expires_at - TOKEN_MARGIN > time.monotonic():
            return token.value
        token_url = self.endpoint("token_endpoint")
        answer = self._send(
            "POST",
            token_url,
            what="the token endpoint",
            data={
                "grant_type": "client_credentials",
                "client_id": self.api_key_id,
                "client_secret": self._api_key,
            },
        )
        if answer.status_code in (400, 401, 403):
            reason = _oauth_error(answer)
            raise HealthcodeError(
                f"Healthcode refused the API key id or API key ({reason}). Check both; credentials issued "
                "for another system do not work.",
                code="bad_credentials",
                status=answer.status_code,
            )
        if answer.status_code != 200:
            raise HealthcodeError(
                f"The token endpoint answered HTTP {answer.status_code}.", code="token_error", status=answer.status_code
            )
        try:
            body = answer.json()
            value = body["access_token"]
            lifetime = float(body.get("expires_in", 300))
            if not isinstance(value, str) or not value:
                raise TypeError
        except (ValueError, KeyError, TypeError, AttributeError):
            raise HealthcodeError(
                f"The token endpoint did not return an access token (it answered {_content_type(answer)}).",
                code="token_error",
            ) from None
        with _cache_lock:
            _token_cache[key] = _Token(value, time.monotonic() + lifetime)
        self._log(logging.INFO, "Healthcode access token issued for site %s (expires in %ds)", self.site_id, lifetime)
        return value

    # -- calls -------------------------------------------------------------------------------
    def call(
        self,
        endpoint_key: str,
        *,
        method: str = "POST",
        data: dict[str, Any] | None = None,
        json: Any = None,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        """An authenticated call to an endpoint named in the discovery document.

        A 401 fetches a new token once and retries; 403 for the site is a HealthcodeError."""
        url = self.endpoint(endpoint_key)
        for attempt in (1, 2):
            request_headers = {
                "Authorization": f"Bearer {self.access_token(refresh=attempt == 2)}",
                "SU-SiteId": self.site_id,
                **(headers or {}),
            }
            answer = self._send(
                method, url, what=endpoint_key, data=data, json=json, content=content, headers=request_headers
            )
            if answer.status_code != 401:
                break
            self._log(logging.INFO, "Healthcode answered 401 on %s; fetching a new token", endpoint_key)
        if answer.status_code == 401:
            raise HealthcodeError(
                "Healthcode did not accept the access token, even a new one.", code="bad_credentials", status=401
            )
        if answer.status_code == 403:
            raise HealthcodeError(
                f"Healthcode refused Site ID {self.site_id} for these credentials: check the Site ID "
                "(it must be the site the API key was issued for).",
                code="site_mismatch",
                status=403,
            )
        return answer

    def _send(self, method: str, url: str, *, what: str, **kwargs) -> httpx.Response:
        started = time.monotonic()
        try:
            outbound.rule_for_url(url)
        except outbound.OutboundRefused as exc:
            # Nothing is sent, so nothing can come back to record but the refusal itself.
            self._record(method, url, what, kwargs, None, started, "refused: not an allowed host")
            raise HealthcodeError(f"{what} not called: {exc.message}", code="host_not_allowed") from None
        self._check_breaker(what)
        try:
            answer = self._exchange(method, url, what, kwargs)
        except HealthcodeError as exc:
            self._record(method, url, what, kwargs, None, started, exc.code)
            self._count(exc.code)
            raise
        self._log(
            logging.DEBUG,
            "Healthcode %s %s -> %d in %.0f ms",
            method,
            url,
            answer.status_code,
            (time.monotonic() - started) * 1000,
        )
        self._record(method, url, what, kwargs, answer, started, "")
        if 300 <= answer.status_code < 400:
            self._count("redirect")
            raise HealthcodeError(
                f"{what} answered with a redirect (HTTP {answer.status_code}) to "
                f"{answer.headers.get('location', 'nowhere')[:200]}; OpenPractice does not follow redirects: "
                "check the discovery document URL.",
                code="redirect",
                status=answer.status_code,
            )
        self._count("server_error" if answer.status_code >= 500 else "")
        return answer

    def _exchange(self, method: str, url: str, what: str, kwargs: dict) -> httpx.Response:
        """One request within the overall deadline, its body read in pieces up to the size cap."""
        try:
            with outbound.deadline(self.deadline):
                request = self._http.build_request(method, url, **kwargs)
                streamed = self._http.send(request, stream=True)
                try:
                    body = self._read_capped(streamed, what, url)
                finally:
                    streamed.close()
        except httpx.TimeoutException:
            raise HealthcodeError(
                f"{what} did not answer in time (timeout; at most {self.deadline:g} seconds for the whole reply) at {url}.",
                code="timeout",
            ) from None
        except httpx.InvalidURL:
            raise HealthcodeError(
                f"{url} is not a usable URL. Check the discovery document URL.", code="bad_url"
            ) from None
        except outbound.OutboundRefused as exc:
            raise HealthcodeError(f"{what} not called: {exc.message}", code="host_not_allowed") from None
        except httpx.TransportError as exc:
            raise HealthcodeError(
                f"Could not reach {url} ({type(exc).__name__}). Check the discovery document URL and "
                "that the clearing house is up.",
                code="unreachable",
            ) from None
        headers = [
            (k, v)
            for k, v in streamed.headers.multi_items()
            if k.lower() not in ("content-encoding", "content-length", "transfer-encoding")
        ]
        return httpx.Response(streamed.status_code, headers=headers, content=body, request=request)

    def _read_capped(self, streamed: httpx.Response, what: str, url: str) -> bytes:
        cap = self.max_reply_bytes
        too_large = HealthcodeError(
            f"{what} sent a reply larger than {cap:,} bytes at {url}; it was not read.", code="too_large"
        )
        declared = streamed.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > cap:
            raise too_large
        try:
            in_memory = streamed.content  # a reply built in memory (a test transport) is read already
        except httpx.ResponseNotRead:
            in_memory = None
        if in_memory is not None:
            if len(in_memory) > cap:
                raise too_large
            return in_memory
        encoding = streamed.headers.get("content-encoding", "identity").strip().lower()
        if encoding in ("", "identity"):
            decoder = None
        elif encoding in ("gzip", "x-gzip", "deflate"):
            decoder = zlib.decompressobj(zlib.MAX_WBITS | 32)  # gzip or zlib header, found by itself
        else:
            raise HealthcodeError(
                f"{what} answered in an encoding OpenPractice did not ask for ({encoding}).", code="bad_answer"
            )
        pieces: list[bytes] = []
        size = raw_size = 0
        for raw in streamed.iter_raw():
            raw_size += len(raw)
            if raw_size > cap:
                raise too_large
            if decoder is None:
                pieces.append(raw)
                size += len(raw)
            else:
                # Decompressed a bounded piece at a time: a small compressed reply cannot grow past the cap.
                data = decoder.decompress(raw, cap - size + 1)
                while True:
                    pieces.append(data)
                    size += len(data)
                    if size > cap:
                        raise too_large
                    if not decoder.unconsumed_tail:
                        break
                    data = decoder.decompress(decoder.unconsumed_tail, cap - size + 1)
        return b"".join(pieces)

    # -- the circuit breaker -----------------------------------------------------------------
    def _check_breaker(self, what: str) -> None:
        with _cache_lock:
            state = _breakers.get(self._session_key)
            left = state.open_until - time.monotonic() if state else 0
        if left > 0:
            assert state is not None  # left is only positive with a breaker
            raise HealthcodeError(
                f"{what} not called: the clearing house failed {state.failures} times in a row for this practice, "
                f"so its calls are paused for {left:.0f} more seconds. Other practices are not affected; try again "
                "then, or check the exchange log.",
                code="circuit_open",
            )

    def _count(self, code: str) -> None:
        with _cache_lock:
            if code not in BREAKER_CODES:
                _breakers.pop(self._session_key, None)
                return
            state = _breakers.setdefault(self._session_key, _Breaker())
            state.failures += 1
            if state.failures >= self.breaker_failures:
                state.open_until = time.monotonic() + self.breaker_cooloff
        if state.failures == self.breaker_failures:
            self._log(
                logging.WARNING,
                "Healthcode calls for practice %s paused for %gs after %d failures",
                self.practice_key,
                self.breaker_cooloff,
                state.failures,
            )

    # -- the support record ------------------------------------------------------------------
    def _record(self, method, url, what, kwargs, answer, started, error) -> None:
        if self.recorder is None:
            return
        headers = {
            k: ("Bearer [redacted]" if k.lower() == "authorization" else self.redact(str(v)))
            for k, v in (kwargs.get("headers") or {}).items()
        }
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
            self.recorder(
                {
                    "endpoint": what[:60],
                    "method": method,
                    "url": url[:500],
                    "request_headers": headers,
                    "request_body": self.redact(str(body))[:20000],
                    "status_code": answer.status_code if answer is not None else None,
                    "response_body": self.redact(reply),
                    "error": error[:300],
                    "duration_ms": int((time.monotonic() - started) * 1000),
                }
            )
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
                self._log(
                    logging.INFO,
                    "Healthcode %s answered %d; retrying in %.2fs",
                    endpoint_key,
                    answer.status_code,
                    delay,
                )
            time.sleep(delay * (0.5 + random.random()))
            delay *= 2
        raise AssertionError("unreachable")

    def submit_claim(self, claim_json: str, *, idempotency_key: str) -> httpx.Response:
        return self.call_with_retries(
            "submit_claim_endpoint",
            content=claim_json.encode("utf-8"),
            headers={"Content-Type": FHIR_JSON, "Accept": FHIR_JSON, "Idempotency-Key": idempotency_key},
        )

    def claim_status(self, *, bill_id: str = "", invoice_number: str = "", insurer: str = "") -> httpx.Response:
        data = {"billId": bill_id} if bill_id else {"invoiceNumber": invoice_number, "insurerIdentifier": insurer}
        return self.call_with_retries("claim_status_endpoint", data=data)

    def cancel_claim(self, *, bill_id: str) -> httpx.Response:
        return self.call_with_retries("cancel_claim_endpoint", data={"billId": bill_id})

    def find_member(self, **fields: str) -> httpx.Response:
        return self.call_with_retries("find_member_endpoint", data={k: v for k, v in fields.items() if v})

    def search_code_set(self, *, code_set: str, page: int = 1, count: int = 100, **filters: str) -> httpx.Response:
        return self.call_with_retries(
            "search_code_set_endpoint", data={"codeSet": code_set, "page": page, "count": count, **filters}
        )

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
        return self.call_with_retries(
            "search_remittance_summary_endpoint",
            data={"page": page, "count": count, **{k: v for k, v in filters.items() if v}},
        )

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
            report.steps.append(
                Step("Site ID", False, "the discovery document offers no endpoint to check the site with.")
            )
            return report
        try:
            answer = self.call(probe, data={"page": 1, "count": 1})
        except HealthcodeError as exc:
            report.steps.append(Step("Site ID", False, exc.message))
            return report
        if answer.status_code >= 400:
            report.steps.append(Step("Site ID", False, f"the clearing house answered HTTP {answer.status_code}."))
            return report
        try:
            bundle = answer.json()
        except ValueError:
            bundle = None
        if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
            report.steps.append(
                Step(
                    "Site ID",
                    False,
                    f"{probe} answered {_content_type(answer)}, not a FHIR "
                    "Bundle: this is not a Healthcode API. Check the discovery document URL.",
                )
            )
            return report
        report.steps.append(Step("Site ID", True, f"{self.site_id} accepted."))
        return report


def _content_type(answer: httpx.Response) -> str:
    kind = answer.headers.get("content-type", "").split(";", 1)[0].strip()
    return f"HTTP {answer.status_code} {kind or 'without a content type'}"


def _oauth_error(answer: httpx.Response) -> str:
    try:
        body = answer.json()
        return str(body.get("error") or f"HTTP {answer.status_code}")
    except ValueError:
        return f"HTTP {answer.status_code}"
