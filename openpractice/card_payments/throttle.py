"""How often a pay link may open a new Stripe Checkout Session: counted in the cache, per link
(its practice, patient and invoice: every token for the same thing counts together) and per client
address, in fixed windows of `WINDOW_SECONDS`. Reusing a session that is still open is not
counted: only asking Stripe for a new one is.

An address gets more room than a link: several patients may pay from one surgery's or one
household's address."""

from __future__ import annotations

import hashlib
import math
import time

from django.core.cache import cache

WINDOW_SECONDS = 600
PER_LINK = 5
PER_ADDRESS = 20


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:32]


def link_key(*, practice_id: int, patient_id: int, invoice_id: int | None) -> str:
    return f"pay-checkout:link:{practice_id}:{patient_id}:{invoice_id or 'all'}"


def address_key(client_ip: str) -> str:
    return f"pay-checkout:ip:{_digest(client_ip)}"


def _count(key: str, window: int) -> int:
    """Add one to this window's count of `key` and return it."""
    if cache.add(key, 1, timeout=window + 5):
        return 1
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=window + 5)
        return 1


def seconds_left(now: float | None = None) -> int:
    """Until the current window ends (when the counts start again)."""
    now = time.time() if now is None else now
    return max(1, math.ceil(WINDOW_SECONDS - now % WINDOW_SECONDS))


def take(limits: list[tuple[str, int]], now: float | None = None) -> int | None:
    """One attempt against each (key, limit): None, and counted against every key, when each is
    within its limit; otherwise the seconds until the window ends, and counted nowhere (a link
    refused for its address's count keeps its own)."""
    now = time.time() if now is None else now
    window = int(now // WINDOW_SECONDS)
    keys = {f"{key}:{window}": limit for key, limit in limits}
    counts = cache.get_many(list(keys))
    if any(counts.get(key, 0) >= limit for key, limit in keys.items()):
        return seconds_left(now)
    for key in keys:
        _count(key, WINDOW_SECONDS)
    return None


def in_minutes(seconds: int) -> str:
    minutes = max(1, math.ceil(seconds / 60))
    return f"{minutes} minute{'s' if minutes != 1 else ''}"
