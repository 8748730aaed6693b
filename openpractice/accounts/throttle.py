"""Login throttling: count failures per email and per client address in the cache.

`scope` keeps separate counts for separate steps: "login" (the password) and "two-factor" (the
code after it, and the code or password asked again on the two-factor pages)."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.core.cache import cache


def _keys(email: str, client_ip: str, scope: str = "login") -> list[str]:
    def digest(value: str) -> str:
        return hashlib.sha256(value.encode()).hexdigest()[:32]

    return [f"{scope}-fail:email:{digest(email.strip().lower())}", f"{scope}-fail:ip:{digest(client_ip)}"]


def is_locked_out(*, email: str, client_ip: str, scope: str = "login") -> bool:
    limit = settings.LOGIN_FAILURE_LIMIT
    # An address gets more room than one account: several people may share an office's address.
    email_key, ip_key = _keys(email, client_ip, scope)
    counts = cache.get_many([email_key, ip_key])
    return counts.get(email_key, 0) >= limit or counts.get(ip_key, 0) >= limit * 4


def record_failure(*, email: str, client_ip: str, scope: str = "login") -> None:
    window = settings.LOGIN_FAILURE_WINDOW_SECONDS
    for key in _keys(email, client_ip, scope):
        if cache.add(key, 1, timeout=window):
            continue
        try:
            cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout=window)


def clear_failures(*, email: str, scope: str = "login") -> None:
    cache.delete(_keys(email, "", scope)[0])


def client_ip(request) -> str:
    return request.META.get("REMOTE_ADDR", "")
