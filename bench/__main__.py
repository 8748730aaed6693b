"""`python -m bench [--quick] [name ...]`: every benchmark on SQLite and PostgreSQL (when reachable).

`python -m bench scale [options]` runs the scale benchmark instead (bench/scale.py: PostgreSQL only,
its own kept database, over HTTP and under load; only when named, never part of the default set)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
TIMEOUT_SECONDS = int(os.environ.get("BENCH_TIMEOUT_SECONDS", "900"))  # each backend's run is bounded
SCALE_TIMEOUT_SECONDS = 2 * 3600  # a first build of the scale database included


def postgres_reachable() -> bool:
    try:
        import psycopg

        url = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
        with psycopg.connect(url, connect_timeout=2):
            return True
    except Exception:
        return False


def scale(argv: list[str]) -> int:
    try:
        return subprocess.run(
            [sys.executable, "-m", "bench.scale", *argv],
            timeout=SCALE_TIMEOUT_SECONDS,
            cwd=Path(__file__).resolve().parent.parent,
        ).returncode
    except subprocess.TimeoutExpired:
        print(f"scale: timed out after {SCALE_TIMEOUT_SECONDS} s", file=sys.stderr)
        return 1


def main(argv: list[str]) -> int:
    if argv[:1] == ["scale"]:
        return scale(argv[1:])
    if "--quick" in argv:  # small sizes for a CI-time run (read by bench.quick())
        argv = [a for a in argv if a != "--quick"]
        os.environ["BENCH_QUICK"] = "1"
    backends = ["sqlite"] + (["postgresql"] if postgres_reachable() else [])
    if "postgresql" not in backends:
        print("PostgreSQL not reachable (BENCH_POSTGRES_URL or 127.0.0.1:5432): SQLite only.", file=sys.stderr)
    rows, failed = [], False
    for backend in backends:
        try:
            done = subprocess.run(
                [sys.executable, "-m", "bench.run", backend, *argv],
                capture_output=True,
                text=True,
                timeout=TIMEOUT_SECONDS,
                cwd=Path(__file__).resolve().parent.parent,
            )
        except subprocess.TimeoutExpired:
            print(f"{backend}: timed out after {TIMEOUT_SECONDS} s", file=sys.stderr)
            failed = True
            continue
        sys.stderr.write(done.stderr)
        if done.returncode != 0:
            failed = True
            continue
        rows.extend(json.loads(done.stdout.strip().splitlines()[-1]))
    print_table(rows)
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"bench-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps({"python": sys.version.split()[0], "rows": rows}, indent=2))
    print(f"\nWritten to {path}")
    return 1 if failed else 0


def print_table(rows: list[dict]) -> None:
    headers = ["benchmark", "backend", "metric", "value", "unit", "target", "ok"]
    table = [
        [
            str(r.get("benchmark", "")),
            r.get("backend", ""),
            r.get("metric", ""),
            f"{r['value']:,.2f}" if isinstance(r.get("value"), float) else str(r.get("value", "")),
            r.get("unit", ""),
            r.get("target", ""),
            {True: "yes", False: "NO"}.get(r.get("ok"), ""),
        ]
        for r in rows
    ]
    widths = [max(len(h), *(len(row[i]) for row in table)) if table else len(h) for i, h in enumerate(headers)]
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths)))
    print("  ".join("-" * w for w in widths))
    for row in table:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
