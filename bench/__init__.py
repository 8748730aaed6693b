"""Benchmarks: `python -m bench` (or `make bench`) runs every registered benchmark on SQLite and,
when reachable, PostgreSQL, each in its own temporary database, prints a table and writes JSON to
bench/results/.

Add one: a module in bench/ listed in MODULES, with functions decorated `@benchmark("name")` that
take no arguments (Django is set up, the temporary database migrated) and return a list of result
rows: {"metric": ..., "value": float, "unit": ..., "target": "..."(optional), "ok": bool(optional)}.
"""

from __future__ import annotations

import os
from collections.abc import Callable

MODULES = [
    "bench.coding",
    "bench.patients",
    "bench.healthcode",
    "bench.not_ready",
    "bench.remittances",
    "bench.parsers",
    "bench.reliability",
    "bench.http_mix",
    "bench.receivables",
    "bench.consultant_reports",
    "bench.imports",
    "bench.bureaus",
]
REGISTRY: dict[str, Callable[[], list[dict]]] = {}


def benchmark(name: str):
    def register(function):
        REGISTRY[name] = function
        return function

    return register


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def replay_sql_ms(statements) -> float:
    """Milliseconds to run the captured SQL statements of one request again, fetching every row:
    the raw database time that the page and selector timings are compared with."""
    import time

    from django.db import connection

    start = time.perf_counter()
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)
            cursor.fetchall()
    return (time.perf_counter() - start) * 1000


def quick() -> bool:
    """`python -m bench --quick`: small sizes, for a CI-time run."""
    return os.environ.get("BENCH_QUICK") == "1"
