"""The production web server: gunicorn, processes each with a few threads (`default_size`).

`manage.py serve` (and so `make run`) starts it. The app is loaded once in the master process
(preload) and the processes fork from it, sharing its memory; before each fork the master closes
its database connections (a connection must never be shared by two processes) and freezes the
objects it holds so the garbage collector does not touch, and so copy, those pages in every child.

`WEB_SERVER=waitress` (or `--server waitress`) serves with waitress instead: one process with
threads, as before. Sizing and the settings are in docs/deployment.md.
"""

from __future__ import annotations

import dataclasses
import gc
import os
from typing import Any

GRACEFUL_TIMEOUT_SECONDS = 8  # a request in flight gets this long to finish on SIGTERM
WORKER_TIMEOUT_SECONDS = 60  # a process silent this long (its main loop stuck) is replaced
KEEPALIVE_SECONDS = 5  # a browser's next request usually follows within this


@dataclasses.dataclass(frozen=True, kw_only=True)
class ServerPlan:
    server: str
    host: str
    port: int
    workers: int
    threads: int
    access_log: bool

    @property
    def bind(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    def describe(self) -> str:
        if self.server == "waitress":
            return f"waitress, 1 process × {self.threads} threads"
        return f"gunicorn, {self.workers} processes × {self.threads} threads"


def default_size(*, server: str) -> tuple[int, int]:
    """(processes, threads) when WEB_WORKERS and WEB_THREADS are not set: one process per core and
    one more (processes run Python in parallel, threads of one process take turns; the extra one
    covers a process that waits), four threads each (they fill the time a request waits on the
    database). waitress is one process: eight threads, as before."""
    if server == "waitress":
        return 1, 8
    return usable_cores() + 1, 4


def usable_cores() -> int:
    """The cores this process may run on (a container's or taskset's share, not the whole host's)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not on Linux
        return max(1, os.cpu_count() or 1)


def _before_fork(server: Any, worker: Any) -> None:
    from django.db import connections

    connections.close_all()
    gc.collect()
    gc.freeze()


def gunicorn_options(plan: ServerPlan) -> dict[str, Any]:
    """gunicorn settings for the plan (names as in gunicorn's settings reference)."""
    return {
        "bind": [plan.bind],
        "workers": plan.workers,
        "worker_class": "gthread",
        "threads": plan.threads,
        "preload_app": True,
        "pre_fork": _before_fork,
        "graceful_timeout": GRACEFUL_TIMEOUT_SECONDS,
        "timeout": WORKER_TIMEOUT_SECONDS,
        "keepalive": KEEPALIVE_SECONDS,
        "accesslog": "-" if plan.access_log else None,
        "errorlog": "-",
        "proc_name": "openpractice-web",
        # Runtime control through a Unix socket is not needed: signals do (docs/deployment.md).
        "control_socket_disable": True,
    }


def run_gunicorn(application: Any, plan: ServerPlan) -> None:
    from gunicorn.app.base import BaseApplication

    options = gunicorn_options(plan)

    class OpenPracticeServer(BaseApplication):
        def load_config(self) -> None:
            for name, value in options.items():
                if name in self.cfg.settings:  # an older gunicorn without a setting skips it
                    self.cfg.set(name, value)

        def load(self) -> Any:
            return application

    OpenPracticeServer().run()


def run_waitress(application: Any, plan: ServerPlan, *, max_body_bytes: int) -> None:
    from waitress import serve  # type: ignore[import-untyped]

    # waitress buffers a body (chunked ones too) before the app sees it: cap that buffer at the
    # largest body any path accepts, so an endless upload is cut off by the server itself.
    serve(
        application,
        host=plan.host,
        port=plan.port,
        threads=plan.threads,
        ident="OpenPractice",
        max_request_body_size=max_body_bytes,
    )
