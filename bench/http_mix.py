"""`python -m bench http_mix`: the web server measured from outside, gunicorn (`manage.py serve`)
beside waitress (`--server waitress`), on the demo practice with its year of history.

Each server is started as `make run` starts it, on a free port of 127.0.0.1; a logged-in biller's
mix of pages (dashboard, invoice list and search, an invoice, patient list and search, the
type-ahead, aged debt) is asked for by 1, 4 and 16 simulated users at once, each for a bounded
time, the servers taking turns (--quick: 1 and 8 users, shorter). Rows: requests/s, p50 and p95 per number of users, errors,
the CPU the server used (cores) and its memory (PSS of all its processes).

Last run (SQLite, 2 cores shared with other helpers' work at load average ~11, 12 s per step,
the servers in turn): requests/s, p50, p95 for 1 / 4 / 16 users, no errors anywhere —
  gunicorn 3×4  10.3, 99, 160 ms / 12.7, 296, 555 ms / 12.6, 1,132, 1,928 ms; 178 MB
  gunicorn 1×8  11.2, 91, 151 ms / 12.7, 292, 579 ms / 15.3, 858, 1,822 ms; 122 MB
  waitress 1×8  10.6, 100, 157 ms / 13.4, 288, 526 ms / 15.2, 873, 1,552 ms; 98 MB
Each server got 0.3-0.46 of a core whatever its processes (Linux shares CPU time between
sessions), so this machine cannot show what processes add on idle cores; it shows the per-request
cost is the same and gunicorn does not lose requests.
"""

from __future__ import annotations

import io
import logging
import os
import random
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

from bench import benchmark, percentile, quick

REPO = Path(__file__).resolve().parent.parent
LOGIN = ("billing@demo.openpractice.test", "demo-practice-2026")


def _servers() -> dict[str, list[str]]:
    """gunicorn as `manage.py serve` sizes it on PostgreSQL (a process per core and one more, 4
    threads each) and on SQLite (one process of 8 threads), and the waitress it replaced."""
    from openpractice.serving import usable_cores

    many = usable_cores() + 1
    return {
        f"gunicorn {many}×4": ["--server", "gunicorn", "--workers", str(many), "--threads", "4"],
        "gunicorn 1×8": ["--server", "gunicorn", "--workers", "1", "--threads", "8"],
        "waitress 1×8": ["--server", "waitress", "--threads", "8"],
    }


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _mix() -> list[str]:
    """The pages, weighted as a biller opens them, for the demo practice's own records."""
    from openpractice.billing.models import Invoice
    from openpractice.patients.models import Patient

    invoices = list(Invoice.objects.order_by("-pk").values_list("pk", flat=True)[:50])
    surnames = sorted({s[:3] for s in Patient.objects.values_list("last_name", flat=True)[:200] if s})[:10]
    if not invoices or not surnames:
        raise RuntimeError("the demo practice has no invoices or patients: seed_demo did not load its history")
    mix = ["/"] * 2 + ["/invoices/"] * 3 + ["/patients/"] + ["/reports/aged-debt/"]
    mix += [f"/invoices/{pk}/" for pk in invoices[:10]]
    mix += [f"/invoices/?q={s}" for s in surnames[:3]]
    mix += [f"/patients/?q={s}" for s in surnames[3:5]]
    mix += [f"/patients/people-options/?q={s}" for s in surnames[:5]]
    return mix


def _process_tree(pid: int) -> list[int]:
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        found.append(current)
        try:
            for task in Path(f"/proc/{current}/task").iterdir():
                queue += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return found


def _cpu_seconds(pids: list[int]) -> float:
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
        except (OSError, IndexError):
            pass
    return total


def _pss_mb(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def _login(base: str):
    import httpx

    client = httpx.Client(base_url=base, timeout=30)
    page = client.get("/accounts/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    if not token:
        raise RuntimeError(f"no login form at {base}/accounts/login/ ({page.status_code})")
    done = client.post(
        "/accounts/login/",
        data={"csrfmiddlewaretoken": token.group(1), "username": LOGIN[0], "password": LOGIN[1]},
    )
    if done.status_code != 302:
        raise RuntimeError(f"login as {LOGIN[0]} failed with {done.status_code}")
    return client


def _drive(base: str, cookies, mix: list[str], *, users: int, seconds: float) -> tuple[list[float], int]:
    """`users` simulated users asking for pages of the mix one after another until the time is up.
    One thread running an event loop: a client of threads would fight for Python's lock with the
    servers on a small machine, and measure itself."""
    import asyncio

    import httpx

    async def user(seed: int, client: httpx.AsyncClient, deadline: float) -> tuple[list[float], int]:
        chooser = random.Random(seed)
        times, failed = [], 0
        while time.monotonic() < deadline:
            started = time.perf_counter()
            try:
                ok = (await client.get(chooser.choice(mix))).status_code == 200
            except httpx.HTTPError:
                ok = False
            times.append((time.perf_counter() - started) * 1000)
            failed += not ok
        return times, failed

    async def everyone() -> tuple[list[float], int]:
        limits = httpx.Limits(max_connections=users, max_keepalive_connections=users)
        async with httpx.AsyncClient(base_url=base, cookies=cookies, timeout=30, limits=limits) as client:
            deadline = time.monotonic() + seconds
            results = await asyncio.gather(*(user(n, client, deadline) for n in range(users)))
        return [t for times, _ in results for t in times], sum(failed for _, failed in results)

    return asyncio.run(everyone())


class Server:
    """One `manage.py serve` on a free port, logged in once as the biller."""

    def __init__(self, name: str, arguments: list[str]):
        self.name, self.port = name, _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = open(Path(os.environ["OPENPRACTICE_DATA_DIR"]) / f"{name.replace(' ', '-')}.log", "w")
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "serve", "--host", "127.0.0.1", "--port", str(self.port), *arguments],
            cwd=REPO,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            # Its own session, so its own scheduling group (Linux autogroup): as a real server, it
            # does not share one CPU share with this load generator.
            start_new_session=True,
        )
        self.cookies = None

    def start(self) -> None:
        self.cookies = _wait_and_login(self.base, self.process).cookies

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)
        self.log.close()


def _measure(servers: list[Server], mix: list[str], steps: list[int], seconds: float, rounds: int) -> list[dict]:
    """Each step's time is split into `rounds` turns per server, taken in turn, so that whatever
    else the machine is doing meanwhile falls on both servers alike."""
    for server in servers:
        _drive(server.base, server.cookies, mix, users=4, seconds=min(3.0, seconds))  # warm every process
    rows = []
    for users in steps:
        times: dict[str, list[float]] = {s.name: [] for s in servers}
        errors = dict.fromkeys(times, 0)
        cpu = dict.fromkeys(times, 0.0)
        wall = dict.fromkeys(times, 0.0)
        for _ in range(rounds):
            for server in servers:
                tree = _process_tree(server.process.pid)
                cpu_before, started = _cpu_seconds(tree), time.monotonic()
                got, failed = _drive(server.base, server.cookies, mix, users=users, seconds=seconds / rounds)
                wall[server.name] += time.monotonic() - started
                cpu[server.name] += _cpu_seconds(tree) - cpu_before
                times[server.name] += got
                errors[server.name] += failed
        for name in times:
            label = f"{name}, {users} user{'s' if users > 1 else ''}"
            rows += [
                {"metric": f"{label}: requests/s", "value": round(len(times[name]) / wall[name], 1), "unit": "req/s"},
                {"metric": f"{label}: p50", "value": round(percentile(times[name], 0.5), 1), "unit": "ms"},
                {"metric": f"{label}: p95", "value": round(percentile(times[name], 0.95), 1), "unit": "ms"},
                {"metric": f"{label}: errors", "value": errors[name], "unit": "requests", "ok": errors[name] == 0},
                {"metric": f"{label}: server CPU", "value": round(cpu[name] / wall[name], 2), "unit": "cores"},
            ]
    for server in servers:
        tree = _process_tree(server.process.pid)
        rows.append(
            {
                "metric": f"{server.name}: memory ({len(tree)} processes, PSS)",
                "value": round(_pss_mb(tree)),
                "unit": "MB",
            }
        )
    return rows


def _wait_and_login(base: str, server: subprocess.Popen, timeout: float = 60):
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the server exited with {server.returncode}")
        try:
            return _login(base)
        except httpx.TransportError:
            time.sleep(0.3)
    raise RuntimeError(f"the server did not answer at {base} within {timeout:.0f} s")


@benchmark("http_mix")
def http_mix() -> list[dict]:
    from django.core.management import call_command
    from django.db import connections

    logging.getLogger("httpx").setLevel(logging.WARNING)  # not a line per request
    call_command("createcachetable", stdout=io.StringIO())  # the login throttle's (bench.run only migrates)
    call_command("seed_demo", stdout=io.StringIO())
    mix = _mix()
    connections.close_all()  # SQLite: leave the file to the servers
    steps, seconds = ([1, 8], 4.0) if quick() else ([1, 4, 16], 12.0)
    servers = [Server(name, arguments) for name, arguments in _servers().items()]
    try:
        for server in servers:
            server.start()
        return _measure(servers, mix, steps, seconds, rounds=2 if quick() else 4)
    finally:
        for server in servers:
            server.stop()
