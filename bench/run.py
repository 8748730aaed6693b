"""One backend's run: `python -m bench.run sqlite|postgresql` prints JSON result rows on stdout.
Configures a temporary database before Django starts, migrates it, runs the benchmarks, drops it."""

from __future__ import annotations

import importlib
import json
import os
import sys
import tempfile
import time


def main(backend: str, only: list[str]) -> int:
    workdir = tempfile.mkdtemp(prefix="openpractice-bench-")
    os.environ["OPENPRACTICE_DATA_DIR"] = workdir
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "openpractice.settings")
    # the benchmarks drive pages with Django's test client, whose requests name the host "testserver"
    os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
    db_name = None
    if backend == "postgresql":
        base = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
        import psycopg

        db_name = f"openpractice_bench_{os.getpid()}"
        with psycopg.connect(base, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'CREATE DATABASE "{db_name}"')
        os.environ["DATABASE_URL"] = base.rsplit("/", 1)[0] + "/" + db_name
    else:
        os.environ.pop("DATABASE_URL", None)
    try:
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        call_command("createcachetable", verbosity=0)  # as `make migrate` does: pages use the cache
        import bench

        for module in bench.MODULES:
            importlib.import_module(module)
        rows = []
        for name, function in bench.REGISTRY.items():
            if only and name not in only:
                continue
            started = time.perf_counter()
            for row in function():
                rows.append({"benchmark": name, "backend": backend, **row})
            print(f"  {backend}: {name} done in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        print(json.dumps(rows))
        return 0
    finally:
        from django.db import connections

        connections.close_all()
        if db_name:
            import psycopg

            with psycopg.connect(base, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
        import shutil

        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2:]))
