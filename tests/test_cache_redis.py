"""The cache on Redis (REDIS_URL): a real Redis at 127.0.0.1:6379, and a Redis that is down (a
closed port), where every operation falls back to the database cache (or misses) and a wrong
password is still counted by the login throttle instead of failing the page."""

from __future__ import annotations

import logging
import os
import socket
import time

import pytest
import redis

from openpractice import cache as cache_module
from openpractice import env
from openpractice.env import ConfigurationError

PASSWORD = "correct-horse-battery"  # as in the root conftest
REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/15"


@pytest.fixture(scope="module")
def redis_url():
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError as exc:
        if os.environ.get("OPENPRACTICE_REQUIRE_REDIS") == "1":
            pytest.fail(f"Redis at {REDIS_URL} is required (OPENPRACTICE_REQUIRE_REDIS=1) but unreachable: {exc}")
        pytest.skip(f"no Redis at {REDIS_URL} ({exc}): start redis-server to run these tests")
    return REDIS_URL


@pytest.fixture(autouse=True)
def _healthy_redis():
    """Each test starts with no outage remembered (the state is kept per address and process)."""
    cache_module._health.clear()
    yield
    cache_module._health.clear()


@pytest.fixture
def closed_port_url():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"redis://127.0.0.1:{port}/0"  # nothing listens there once the probe is closed


@pytest.fixture
def use_caches(settings, db):
    """Switch the app's caches (the root conftest puts every test on the database cache)."""

    def use(config):
        settings.CACHES = config
        from django.core.cache import caches

        caches["database"].clear()
        return caches["default"]

    return use


def test_without_redis_url_the_database_cache():
    config = env.cache_config("")
    assert config["default"]["BACKEND"] == "django.core.cache.backends.db.DatabaseCache"
    assert config["database"] == config["default"]


def test_with_redis_url_redis_with_short_timeouts_and_the_database_behind():
    config = env.cache_config("redis://cache.internal:6379/2")
    assert config["default"]["BACKEND"] == "openpractice.cache.FailSoftRedisCache"
    assert config["default"]["LOCATION"] == "redis://cache.internal:6379/2"
    assert config["default"]["FALLBACK"] == "database"
    assert config["default"]["OPTIONS"]["socket_connect_timeout"] == 2
    assert config["default"]["OPTIONS"]["socket_timeout"] == 2
    assert config["database"]["BACKEND"] == "django.core.cache.backends.db.DatabaseCache"


def test_redis_url_of_another_kind_is_refused():
    with pytest.raises(ConfigurationError, match="REDIS_URL must look like redis://host:6379/0"):
        env.cache_config("memcached://localhost:11211")


def test_real_redis_holds_the_values(use_caches, redis_url):
    cache = use_caches(env.cache_config(redis_url))
    cache.delete("serving-test")
    assert cache.add("serving-test", 1, timeout=60) is True
    assert cache.add("serving-test", 5, timeout=60) is False
    assert cache.incr("serving-test") == 2
    assert cache.get_many(["serving-test", "absent"]) == {"serving-test": 2}
    raw = redis.Redis.from_url(redis_url)
    assert raw.exists(cache.make_and_validate_key("serving-test")) == 1, "the value is in Redis itself"
    from django.core.cache import caches

    assert caches["database"].get("serving-test") is None, "and not in the database"
    cache.delete("serving-test")
    assert cache.get("serving-test", "gone") == "gone"


def test_down_redis_falls_back_to_the_database_quickly_and_says_so_once(use_caches, closed_port_url, caplog):
    cache = use_caches(env.cache_config(closed_port_url))
    caplog.set_level(logging.WARNING, logger="openpractice.cache")
    started = time.monotonic()
    assert cache.get("k", "default") == "default"
    assert cache.add("k", 1, timeout=60) is True
    assert cache.incr("k") == 2
    cache.set("other", "value")
    assert cache.get_many(["k", "other"]) == {"k": 2, "other": "value"}
    assert time.monotonic() - started < 2, "a refused connection is not retried or waited on"
    from django.core.cache import caches

    assert caches["database"].get("k") == 2, "the values went to the database cache"
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "Redis cache unreachable" in warnings[0] and "using the database cache" in warnings[0]


def test_down_redis_without_fallback_misses(settings, closed_port_url, caplog):
    from django.core.cache import caches

    config = env.cache_config(closed_port_url)
    del config["default"]["FALLBACK"]
    settings.CACHES = config
    cache = caches["default"]
    caplog.set_level(logging.WARNING, logger="openpractice.cache")
    assert cache.get("k", "default") == "default"
    assert cache.set("k", 1) is None
    assert cache.add("k", 1) is False
    assert cache.incr("k") == 0
    assert cache.get_many(["k"]) == {}
    assert "using no cache" in caplog.text


def test_redis_is_left_alone_for_a_while_then_tried_again(use_caches, redis_url, monkeypatch, caplog):
    from django.core.cache.backends.redis import RedisCache

    cache = use_caches(env.cache_config(redis_url))
    cache.delete("back")
    caplog.set_level(logging.WARNING, logger="openpractice.cache")
    tries = []
    real_get = RedisCache.get

    def get_failing_once(self, *args, **kwargs):
        tries.append(1)
        if len(tries) == 1:
            raise redis.ConnectionError("connection refused")
        return real_get(self, *args, **kwargs)

    monkeypatch.setattr(RedisCache, "get", get_failing_once)
    assert cache.get("back") is None
    cache.set("back", "kept in the database")
    assert cache.get("back") == "kept in the database"
    assert len(tries) == 1, "Redis not tried again during the pause"
    assert cache.health.down_until > time.monotonic() + cache_module.RETRY_SECONDS - 1
    cache.health.down_until = 0.0  # the pause is over
    assert cache.get("back") is None, "Redis again, which never had the value"
    assert len(tries) == 2
    assert "Redis cache reachable again" in caplog.text


def test_every_thread_leaves_a_down_redis_alone(use_caches, closed_port_url, caplog):
    import threading

    from django.core.cache import caches

    cache = use_caches(env.cache_config(closed_port_url))
    caplog.set_level(logging.WARNING, logger="openpractice.cache")
    cache.get("k")
    in_thread = []
    thread = threading.Thread(target=lambda: in_thread.append(caches["default"]))
    thread.start()
    thread.join(5)
    assert in_thread[0] is not cache, "Django gives each thread its own cache object"
    assert in_thread[0].health is cache.health and cache.health.outage
    assert caplog.text.count("Redis cache unreachable") == 1


def test_wrong_password_while_redis_is_down_is_counted_not_a_500(client, owner, use_caches, closed_port_url, settings):
    use_caches(env.cache_config(closed_port_url))
    settings.LOGIN_FAILURE_LIMIT = 3
    for _ in range(3):
        response = client.post("/accounts/login/", {"username": owner.email, "password": "wrong"})
        assert response.status_code == 200
        assert b"do not match" in response.content
    response = client.post("/accounts/login/", {"username": owner.email, "password": PASSWORD})
    assert response.status_code == 429, "the throttle kept counting in the database cache"
