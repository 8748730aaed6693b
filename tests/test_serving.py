"""`manage.py serve`: the server it builds from the command line and the environment, and a real
start of gunicorn on a free port of 127.0.0.1 that serves pages and static files and stops cleanly."""

from __future__ import annotations

import dataclasses
import gc
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from gunicorn.config import KNOWN_SETTINGS

from openpractice import serving
from openpractice.env import ConfigurationError
from openpractice.practices.management.commands.serve import plan_from

ROOT = Path(__file__).resolve().parent.parent
WEB_VARIABLES = ("WEB_SERVER", "WEB_WORKERS", "WEB_THREADS", "WEB_ACCESS_LOG")


@pytest.fixture
def web_env(monkeypatch):
    for name in WEB_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def _plan(**options):
    return plan_from({"host": "127.0.0.1", "port": 8000, **options})


def test_defaults_a_process_per_core_and_one_more(web_env):
    plan = _plan()
    assert plan.server == "gunicorn"
    assert plan.workers == serving.usable_cores() + 1
    assert plan.threads == 4
    assert plan.access_log is False


def test_environment_sizes_the_server(web_env):
    web_env.setenv("WEB_WORKERS", "5")
    web_env.setenv("WEB_THREADS", "2")
    web_env.setenv("WEB_ACCESS_LOG", "true")
    plan = _plan()
    assert (plan.workers, plan.threads, plan.access_log) == (5, 2, True)
    assert plan.describe() == "gunicorn, 5 processes × 2 threads"


def test_command_line_wins_over_the_environment(web_env):
    web_env.setenv("WEB_WORKERS", "5")
    assert _plan(workers=2, threads=3).workers == 2


def test_waitress_is_one_process(web_env):
    web_env.setenv("WEB_SERVER", "waitress")
    plan = _plan()
    assert (plan.server, plan.workers, plan.threads) == ("waitress", 1, 8)
    assert _plan(server="gunicorn").server == "gunicorn"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("WEB_WORKERS", "0", "WEB_WORKERS=0 must be at least 1"),
        ("WEB_THREADS", "four", "WEB_THREADS='four' is not a whole number"),
        ("WEB_SERVER", "uwsgi", "WEB_SERVER='uwsgi' is not one of gunicorn, waitress"),
    ],
)
def test_bad_setting_names_the_variable(web_env, name, value, message):
    web_env.setenv(name, value)
    with pytest.raises(ConfigurationError, match=message):
        _plan()


def test_gunicorn_configuration():
    plan = serving.ServerPlan(server="gunicorn", host="::", port=8123, workers=3, threads=4, access_log=False)
    options = serving.gunicorn_options(plan)
    assert {s.name for s in KNOWN_SETTINGS} >= set(options), "every option is one this gunicorn knows"
    assert options["bind"] == ["[::]:8123"]
    assert options["worker_class"] == "gthread" and options["threads"] == 4 and options["workers"] == 3
    assert options["preload_app"] is True and options["control_socket_disable"] is True
    assert options["graceful_timeout"] == 8
    assert options["accesslog"] is None
    assert serving.gunicorn_options(dataclasses.replace(plan, access_log=True))["accesslog"] == "-"


def test_before_fork_closes_connections_and_freezes_the_heap(monkeypatch):
    # (The test database is SQLite in memory, which Django never really closes: count the call.)
    from django.db import connections

    closed = []
    monkeypatch.setattr(connections, "close_all", lambda: closed.append(True))
    try:
        serving._before_fork(None, None)
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
    assert closed == [True]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_until_up(url: str, server: subprocess.Popen, *, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"server exited with {server.returncode}: {server.stdout.read() if server.stdout else ''}")
        try:
            httpx.get(url, timeout=2)
            return
        except httpx.TransportError:
            time.sleep(0.2)
    pytest.fail(f"server not answering at {url} after {timeout:.0f} s")


def test_real_server_serves_pages_and_static_files_and_stops_cleanly(tmp_path):
    port = _free_port()
    child_env = {
        k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE"}
    }
    child_env.update(OPENPRACTICE_DATA_DIR=str(tmp_path), WEB_WORKERS="2", WEB_THREADS="2")
    server = subprocess.Popen(
        [sys.executable, "manage.py", "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT,
        env=child_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(f"{base}/accounts/login/", server)
        login = httpx.get(f"{base}/accounts/login/", timeout=10)
        assert login.status_code == 200 and "<h1>Log in</h1>" in login.text
        assert login.headers["server"] == "gunicorn"
        static = httpx.get(f"{base}/static/css/app.css", timeout=10)
        assert static.status_code == 200 and "public" in static.headers["cache-control"]
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            output, _ = server.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            output, _ = server.communicate(timeout=5)
            pytest.fail(f"server did not stop within 20 s of SIGTERM:\n{output}")
    assert server.returncode == 0, output
    assert "(gunicorn, 2 processes × 2 threads)" in output
    assert output.count("Booting worker") == 2 and "Shutting down: Master" in output
