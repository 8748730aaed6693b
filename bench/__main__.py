"""python -m bench [--quick] [--only NAME ...]: run the registered benchmarks, print a table and
write bench/results/<name>.json."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

from bench import REGISTRY

RESULTS = Path(__file__).resolve().parent / "results"


def main(argv=None) -> int:
    import bench.healthcode  # noqa: F401  (registers its entries)

    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--quick", action="store_true", help="small sizes, for a CI-time run")
    parser.add_argument("--only", nargs="*", default=None, help="entries to run: " + ", ".join(REGISTRY))
    args = parser.parse_args(argv)
    names = args.only or list(REGISTRY)
    RESULTS.mkdir(exist_ok=True)
    failed = False
    print(f"{'benchmark':<44} {'value':>12} {'unit':<12} {'target':<12} ok")
    for name in names:
        started = time.perf_counter()
        rows = REGISTRY[name](quick=args.quick)
        for row in rows:
            mark = "" if row.ok is None else ("yes" if row.ok else "NO")
            failed |= row.ok is False
            print(f"{row.name:<44} {row.value:>12,.1f} {row.unit:<12} {row.target:<12} {mark}  {row.detail}")
        (RESULTS / f"{name}.json").write_text(json.dumps({
            "entry": name, "quick": args.quick, "seconds": round(time.perf_counter() - started, 1),
            "results": [dataclasses.asdict(r) for r in rows]}, indent=2))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
