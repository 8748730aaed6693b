"""Where the clearing-house client may connect, and how long and how much it may read.

A discovery document URL is typed by a practice user and the endpoints come from whatever that
URL answers, so every outbound address is checked here, not trusted:
- a host must be one of the configured clearing-house environments: live is Healthcode's own
  domain (https only, public addresses only); sandbox is `SANDBOX_URL` (its host and port); more
  only through the `HEALTHCODE_ALLOWED_HOSTS` setting (`host`, `host:port` or `.domain`);
- the host name is resolved and every address checked: private, loopback, link-local, reserved
  and multicast addresses are refused unless the host was configured by the operator (SANDBOX_URL
  or HEALTHCODE_ALLOWED_HOSTS), and the connection goes to an address that was checked (no second
  lookup that a rebinding DNS server could answer differently);
- every read and write on the socket is cut to what is left of the request's overall deadline, so a
  server that drips one byte at a time cannot hold a worker past it.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import socket
import threading
import time
from urllib.parse import urlsplit

import httpcore
import httpx

# Healthcode's documented discovery document (HEALTHCODE.md): the same path on the live and UAT
# hosts, and on the sandbox; its API, auth and UAT hosts are all under this domain.
DISCOVERY_PATH = "/.well-known/discovery-document.json"
LIVE_ORIGIN = "https://api.healthcode.co.uk"
LIVE_DISCOVERY_URL = LIVE_ORIGIN + DISCOVERY_PATH
LIVE_DOMAIN = ".healthcode.co.uk"
SANDBOX_DISCOVERY_PATH = DISCOVERY_PATH


class OutboundRefused(Exception):
    """An address the clearing-house client may not call; the message says which and why."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclasses.dataclass(frozen=True)
class Rule:
    host: str  # a host name or address; with `domain`, the domain (subdomains included)
    port: int | None  # None: any port
    domain: bool = False
    https_only: bool = False
    private_ok: bool = False  # configured by the operator: may resolve to a private address

    def matches(self, host: str, port: int, scheme: str) -> bool:
        if self.https_only and scheme != "https":
            return False
        if self.port is not None and port != self.port:
            return False
        if self.domain:
            return host == self.host.lstrip(".") or host.endswith(self.host)
        return host == self.host


def _split_entry(entry: str) -> Rule | None:
    entry = entry.strip().lower()
    if not entry:
        return None
    if "://" in entry:
        parts = urlsplit(entry)
        return Rule(parts.hostname or "", parts.port, private_ok=True)
    domain = entry.startswith(".")
    if entry.startswith("["):  # [IPv6 address] or [IPv6 address]:port
        host, _, rest = entry[1:].partition("]")
        port = rest.lstrip(":")
    elif entry.count(":") == 1:
        host, _, port = entry.partition(":")
    else:
        host, port = entry, ""
    return Rule(host, int(port) if port.isdigit() else None, domain=domain, private_ok=True)


def rules() -> list[Rule]:
    from django.conf import settings

    found = [Rule(LIVE_DOMAIN, 443, domain=True, https_only=True)]
    sandbox = urlsplit(settings.SANDBOX_URL)
    if sandbox.hostname:
        found.append(
            Rule(sandbox.hostname.lower(), sandbox.port or (443 if sandbox.scheme == "https" else 80), private_ok=True)
        )
    for entry in getattr(settings, "HEALTHCODE_ALLOWED_HOSTS", []):
        rule = _split_entry(entry)
        if rule:
            found.append(rule)
    return found


def _parts(url: str) -> tuple[str, str, int]:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise OutboundRefused(f"{url[:200]} is not a usable URL.") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise OutboundRefused(f"{url[:200]} is not an http(s) address.")
    if parts.username or parts.password:
        raise OutboundRefused(f"{url[:200]} carries a user name or password; enter the address alone.")
    return parts.scheme, parts.hostname.lower(), port or (443 if parts.scheme == "https" else 80)


def rule_for_url(url: str) -> Rule:
    """The rule that lets this URL be called, or OutboundRefused saying which hosts are allowed."""
    scheme, host, port = _parts(url)
    for rule in rules():
        if rule.matches(host, port, scheme):
            return rule
    raise OutboundRefused(
        f"{host}:{port} is not a clearing-house address OpenPractice may call. Allowed: Healthcode "
        f"(https://*{LIVE_DOMAIN}), the sandbox ({_sandbox_origin()}), and hosts the administrator lists in "
        "HEALTHCODE_ALLOWED_HOSTS."
    )


def _sandbox_origin() -> str:
    from django.conf import settings

    return settings.SANDBOX_URL.rstrip("/")


def is_allowed(url: str) -> bool:
    try:
        rule_for_url(url)
    except OutboundRefused:
        return False
    return True


def default_discovery_url(environment: str) -> str:
    from django.conf import settings

    if environment == "live":
        return LIVE_DISCOVERY_URL
    return settings.SANDBOX_URL.rstrip("/") + SANDBOX_DISCOVERY_PATH


def complete_discovery_url(url: str) -> str:
    """A host's bare address (https://api.healthcode.co.uk, with or without a trailing slash)
    completed to the documented discovery path on it; any other URL is left as typed."""
    url = (url or "").strip()
    parts = urlsplit(url)
    if parts.scheme and parts.netloc and parts.path in ("", "/") and not parts.query and not parts.fragment:
        return f"{parts.scheme}://{parts.netloc}{DISCOVERY_PATH}"
    return url


def _is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    mapped = getattr(address, "ipv4_mapped", None)
    if mapped is not None:
        address = mapped
    return not (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_reserved
        or address.is_multicast
        or address.is_unspecified
    )


def checked_addresses(host: str, port: int) -> list[str]:
    """Resolve the host and check every address it has; the addresses to connect to."""
    rule = next(
        (r for r in rules() if r.matches(host.lower(), port, "https") or r.matches(host.lower(), port, "http")), None
    )
    if rule is None:
        raise OutboundRefused(f"{host}:{port} is not a clearing-house address OpenPractice may call.")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise httpcore.ConnectError(f"{host} could not be resolved ({exc})") from None
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))  # an IP address is always text
    if not rule.private_ok:
        for text in addresses:
            if not _is_public(ipaddress.ip_address(text.split("%", 1)[0])):
                raise OutboundRefused(
                    f"{host} resolves to {text}, a private, loopback or link-local address; OpenPractice only "
                    "calls such an address when the administrator configured it (SANDBOX_URL or "
                    "HEALTHCODE_ALLOWED_HOSTS)."
                )
    return addresses


# -- the overall deadline ------------------------------------------------------------------------
_deadline = threading.local()


class deadline:
    """`with deadline(seconds):` every socket operation of this thread's requests gets at most what is
    left of `seconds`; past it, the next read or write raises a timeout."""

    def __init__(self, seconds: float):
        self.seconds = seconds

    def __enter__(self):
        self.previous = getattr(_deadline, "at", None)
        _deadline.at = time.monotonic() + self.seconds
        return self

    def __exit__(self, *exc):
        _deadline.at = self.previous


def _clamp(timeout: float | None, exc_class) -> float | None:
    at = getattr(_deadline, "at", None)
    if at is None:
        return timeout
    left = at - time.monotonic()
    if left <= 0:
        raise exc_class("the overall deadline for this request has passed")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, stream: httpcore.NetworkStream):
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _clamp(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _clamp(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(self, ssl_context, server_hostname=None, timeout=None):
        return _DeadlineStream(
            self._stream.start_tls(ssl_context, server_hostname, _clamp(timeout, httpcore.ConnectTimeout))
        )

    def get_extra_info(self, info: str):
        return self._stream.get_extra_info(info)


class _GuardedBackend(httpcore.NetworkBackend):
    """Connects only to checked addresses of an allowed host, within the deadline."""

    def __init__(self):
        self._inner = httpcore.SyncBackend()

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        failure: Exception | None = None
        for address in checked_addresses(host, port):
            try:
                stream = self._inner.connect_tcp(
                    address,
                    port,
                    timeout=_clamp(timeout, httpcore.ConnectTimeout),
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
                continue
            return _DeadlineStream(stream)
        raise failure or httpcore.ConnectError(f"{host} has no address")

    def connect_unix_socket(self, path, timeout=None, socket_options=None):
        raise OutboundRefused("The clearing-house client does not use local sockets.")

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class GuardedTransport(httpx.HTTPTransport):
    """httpx's transport with the guarded network backend: TLS still checks the host name, but the
    TCP connection goes to an address checked a moment before."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        # httpx builds its connection pool without a way to pass a network backend.
        self._pool._network_backend = _GuardedBackend()
