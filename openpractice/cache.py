"""The Redis cache, made safe to lose.

`FailSoftRedisCache` is Django's own Redis backend with one difference: when Redis cannot be
reached (refused, timed out, an error from the server) an operation does not raise. It logs a
warning and runs against the `FALLBACK` cache instead (settings name the database cache), or, with
no fallback, answers as a miss (`get` gives the default, `set` and `add` say False, `incr` 0).
After a failure Redis is left alone for `RETRY_SECONDS` so that while it is down each request does
not wait for a timeout again; then the next operation tries it.

So a page never fails because the cache is down, and the login throttle (accounts/throttle.py)
keeps counting wrong passwords in the database meanwhile. Values written during an outage are not
copied back to Redis: keep cache timeouts short for anything that is invalidated by deleting it.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from typing import Any

from django.core.cache import caches
from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

RETRY_SECONDS = 5.0


@dataclasses.dataclass
class RedisHealth:
    """One per Redis address and process: Django makes a cache object per thread, and all the
    threads should leave a Redis that is down alone, and say so once."""

    down_until: float = 0.0  # monotonic time before which Redis is not tried
    outage: bool = False
    lock: threading.Lock = dataclasses.field(default_factory=threading.Lock)


_health: dict[str, RedisHealth] = {}
_health_lock = threading.Lock()


class FailSoftRedisCache(RedisCache):
    def __init__(self, server, params):
        params = dict(params)
        self.fallback_alias: str | None = params.pop("FALLBACK", None)
        super().__init__(server, params)
        with _health_lock:
            self.health = _health.setdefault(str(server), RedisHealth())

    def _call(self, name: str, *args, miss: Any = None):
        health = self.health
        if time.monotonic() >= health.down_until:
            try:
                result = getattr(super(), name)(*args)
            except RedisError as exc:
                self._mark_down(exc)
            else:
                if health.outage:
                    with health.lock:
                        back, health.outage = health.outage, False
                    if back:
                        log.warning("Redis cache reachable again.")
                return result
        if self.fallback_alias:
            return getattr(caches[self.fallback_alias], name)(*args)
        return miss

    def _mark_down(self, exc: Exception) -> None:
        health = self.health
        with health.lock:
            first = not health.outage
            health.outage = True
            health.down_until = time.monotonic() + RETRY_SECONDS
        if first:
            instead = f"the {self.fallback_alias} cache" if self.fallback_alias else "no cache"
            log.warning(
                "Redis cache unreachable (%s: %s); using %s meanwhile, trying Redis again every %.0f s.",
                exc.__class__.__name__,
                exc,
                instead,
                RETRY_SECONDS,
            )

    def get(self, key, default=None, version=None):
        return self._call("get", key, default, version, miss=default)

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call("add", key, value, timeout, version, miss=False)

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call("set", key, value, timeout, version)

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call("touch", key, timeout, version, miss=False)

    def delete(self, key, version=None):
        return self._call("delete", key, version, miss=False)

    def get_many(self, keys, version=None):
        return self._call("get_many", keys, version, miss={})

    def has_key(self, key, version=None):
        return self._call("has_key", key, version, miss=False)

    def incr(self, key, delta=1, version=None):
        return self._call("incr", key, delta, version, miss=0)

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call("set_many", data, timeout, version, miss=[])

    def delete_many(self, keys, version=None):
        return self._call("delete_many", keys, version)

    def clear(self):
        return self._call("clear", miss=False)
