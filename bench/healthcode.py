"""Healthcode benchmarks (targets from issue 6):

- check: bills checked per second by the pre-submission check, in bulk as the "not ready to
  submit" list and bulk submission run it (target >= 2,000/s);
- submit: bills submitted per second end to end to the sandbox for 10,000 invoices, from
  "Submit selected" to every bill accepted, with `manage.py db_worker` processes (target
  >= 100/s), and the peak RSS of any OpenPractice process (target < 400 MB);
- reliability: 1,000 invoices in bulk against a sandbox injecting 30% 5xx, timeouts and dropped
  connections, the worker killed mid-batch and restarted: exactly one bill per invoice.

`--quick` runs smaller sizes (check 2,000 bills, submit 1,000, reliability 200)."""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

from bench import Result, register
from bench.harness import Installation

WORKERS = 2


def _peak_rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


@register("healthcode-check")
def check_speed(*, quick: bool) -> list[Result]:
    from sandbox.testing import start_sandbox

    count = 2000 if quick else 10000
    with tempfile.TemporaryDirectory(prefix="op-bench-check-") as folder:
        sandbox = start_sandbox(Path(folder) / "sandbox")
        try:
            installation = Installation(Path(folder) / "op", sandbox)
            installation.prepare(count=count)
            out = json.loads(installation.run("-m", "bench.harness_child", "check").strip().splitlines()[-1])
        finally:
            sandbox.stop()
    rate = out["bills"] / out["seconds"]
    return [Result("pre-submission check (bulk)", rate, "bills/s", ">= 2,000", rate >= 2000,
                   f"{out['bills']} bills in {out['seconds']:.2f}s, peak RSS {out['rss_mb']:.0f} MB")]


def sandbox_ceiling(sandbox, *, count: int, threads: int = 8) -> float:
    """Bills per second the sandbox itself accepts from 8 threads with kept-alive connections and
    no OpenPractice in the way: the most an end-to-end run on this machine can reach."""
    import datetime as dt
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from sandbox.testing import SandboxApi, example_claim

    local = threading.local()
    today = dt.date.today()

    def one(n: int) -> int:
        if not hasattr(local, "api"):
            local.api = SandboxApi(sandbox)
        return local.api.submit(example_claim(invoice_number=f"CEIL{n}", invoice_version=f"ceil-{n}",
                                              service_date=today)).status_code

    one(-1)
    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        codes = list(pool.map(one, range(count)))
    assert set(codes) == {201}, set(codes)
    return count / (time.perf_counter() - started)


@register("healthcode-submit")
def submit_speed(*, quick: bool) -> list[Result]:
    from sandbox.testing import start_sandbox

    count = 1000 if quick else 10000
    with tempfile.TemporaryDirectory(prefix="op-bench-submit-") as folder:
        sandbox = start_sandbox(Path(folder) / "sandbox")
        installation = Installation(Path(folder) / "op", sandbox, timeout_seconds=15, threads=8)
        try:
            prepared = installation.prepare(count=count)
            ceiling = sandbox_ceiling(sandbox, count=min(count, 300))
            workers = [installation.start_worker(f"bench{n}") for n in range(WORKERS)]
            time.sleep(2)  # workers up before the clock starts
            started = time.perf_counter()
            queued = installation.submit_all()
            states = installation.wait_until_settled(expected=count, timeout=3600, recover_every=120)
            seconds = time.perf_counter() - started
            worker_rss = max(_peak_rss_mb(w.pid) for w in workers)
            bills = installation.bills_per_invoice()
            exact = all(len(bills.get(n, [])) == 1 for n in installation.invoice_numbers())
        finally:
            installation.stop_workers()
            sandbox.stop()
    rate = count / seconds
    rss = max(worker_rss, queued.get("rss_mb", 0))
    return [
        Result(f"submit end to end ({count:,} invoices)", rate, "bills/s", ">= 100", rate >= 100,
               f"{seconds:.1f}s incl. queueing {queued['seconds']:.1f}s; {WORKERS} workers; "
               f"accepted {states.get('accepted', 0)}; one bill each: {exact}; prepared in {prepared['seconds']:.0f}s"),
        Result("sandbox alone (8 threads, no OpenPractice)", ceiling, "bills/s", "", None,
               "the clearing house's own ceiling on this machine"),
        Result("peak RSS (worker / submit)", rss, "MB", "< 400", rss < 400,
               f"worker {worker_rss:.0f} MB, bulk submit {queued.get('rss_mb', 0):.0f} MB"),
    ]


@register("healthcode-reliability")
def reliability(*, quick: bool) -> list[Result]:
    from sandbox.testing import start_sandbox

    count = 200 if quick else 1000
    faults = {"error_rate": 0.3, "timeout_rate": 0.05, "timeout_seconds": 3, "drop_rate": 0.05,
              "after_processing_rate": 0.5, "fault_seed": 11}
    with tempfile.TemporaryDirectory(prefix="op-bench-reliability-") as folder:
        sandbox = start_sandbox(Path(folder) / "sandbox", **faults)
        installation = Installation(Path(folder) / "op", sandbox, timeout_seconds=1)
        try:
            installation.prepare(count=count)
            installation.submit_all()
            started = time.perf_counter()
            first = installation.start_worker("first")
            while installation.states().get("accepted", 0) < count // 3:
                time.sleep(0.1)
            installation.kill(first)
            installation.start_worker("second")
            states = installation.wait_until_settled(expected=count, timeout=3600, recover_every=5)
            seconds = time.perf_counter() - started
            bills = installation.bills_per_invoice()
            numbers = installation.invoice_numbers()
            duplicated = sum(1 for n in numbers if len(bills.get(n, [])) > 1)
            lost = sum(1 for n in numbers if n not in bills)
        finally:
            installation.stop_workers()
            sandbox.stop()
    ok = duplicated == 0 and lost == 0 and states.get("accepted") == count
    return [Result(f"faults + killed worker ({count:,} invoices)", count / seconds, "bills/s", "exactly one each",
                   ok, f"duplicated {duplicated}, lost {lost}, accepted {states.get('accepted', 0)} in {seconds:.0f}s")]
