"""`python -m bench scale`: the pages a biller opens all day, at a bureau's size, measured from outside.

On PostgreSQL, in the database bench/scale_data.py builds (1,000,000 invoices, 200,000 patients,
100,000 codes; built once, again only when the schema changes):

1. Each page's SQL alone: the page is rendered once in-process with its queries captured, and
   those statements (with their parameters) are run again, in a transaction rolled back, N times.
2. Each page over HTTP with a logged-in session: `manage.py serve` on a free 127.0.0.1 port, a
   real sign-in (requests, CSRF), warm-ups, then N timed GETs (PageClient: one kept-alive
   connection, http.client), each followed by one replay of the page's SQL (interleaved, so both
   see the same load from whatever else the machine runs): p50 and p95 of each, and the load
   average. A static file's time over the same kind of connection is printed as the floor.
   Targets (issue 18): p95 under 300 ms (100 ms for the type-ahead and the patient search), and
   the page's time at most three times its SQL's.
3. Twenty simulated staff (locust, bench/locustfile.py; the `load` dependency group) doing a mix of
   those pages for a bounded time: requests/s, p50, p95, errors, and the CPU seconds the web
   processes and this database's PostgreSQL backends used. Target: p95 under 250 ms, no errors.

Prints a table and writes bench/results/scale-*.json.

    python -m bench scale [--rebuild] [--rounds 20] [--users 20] [--scale-seconds 60] [--no-load] [--explain]

The JSON keeps each page's slowest statement and its time (with --explain, its plan as run).
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench import percentile
from bench.scale_data import DATABASE, Sizes, database_url, ensure, setup_django

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results"
STAFF_EMAIL = "billing@demo.openpractice.test"
PAGE_TARGET_MS = 300.0
QUICK_TARGET_MS = 100.0  # type-ahead and patient search
LOAD_TARGET_MS = 250.0
MAX_RATIO = 3.0
MIN_ROUNDS = 5  # a page slower than its time budget is still timed this many times


@dataclasses.dataclass(frozen=True)
class Page:
    name: str
    url: str
    target_ms: float = PAGE_TARGET_MS
    weight: int = 1  # share of the simulated staff's requests (bench/locustfile.py)


@dataclasses.dataclass(frozen=True)
class Targets:
    """What the pages are asked for, found in the data: a common surname's prefix, an invoice number
    from the middle of the history, a recent insurer invoice with a payment."""

    surname_prefix: str
    invoice_number: str
    invoice_id: int
    code_query: str = "knee arth"
    patient_query: str = ""


def targets() -> Targets:
    from django.db.models import Count

    from openpractice.billing.models import Invoice
    from openpractice.patients.models import Patient

    commonest = Patient.objects.values("last_name").annotate(n=Count("id")).order_by("-n", "last_name").first() or {}
    surname = commonest.get("last_name", "Bennett")
    numbered = Invoice.objects.exclude(number="").order_by("id")
    middle = numbered[numbered.count() // 2]
    detail = (
        Invoice.objects.filter(bill_to="insurer", record_status="issued", paid_total__gt=0)
        .order_by("-id")
        .values_list("id", flat=True)
        .first()
        or middle.pk
    )
    return Targets(
        surname_prefix=surname[:4],
        invoice_number=middle.number,
        invoice_id=detail,
        patient_query=surname[:3].lower(),
    )


def pages(found: Targets) -> list[Page]:
    """The issue's table, and the type-ahead and patient search."""
    from urllib.parse import urlencode

    return [
        Page("invoice list, default", "/invoices/", weight=6),
        Page(
            "invoice list, search by surname prefix", "/invoices/?" + urlencode({"q": found.surname_prefix}), weight=3
        ),
        Page("invoice list, search by number", "/invoices/?" + urlencode({"q": found.invoice_number}), weight=3),
        Page('invoice list, "Not ready to submit"', "/invoices/?view=not_ready", weight=2),
        Page("aged debt by patient (page)", "/reports/aged-debt/?by=patient", weight=1),
        Page("aged debt by insurer (page)", "/reports/aged-debt/?by=insurer", weight=1),
        Page("invoice detail", f"/invoices/{found.invoice_id}/", weight=6),
        Page("dashboard", "/", weight=2),
        Page(
            "type-ahead, codes",
            "/coding/options/codes/?" + urlencode({"system": "ccsd", "q": found.code_query}),
            target_ms=QUICK_TARGET_MS,
            weight=8,
        ),
        Page(
            "patient search",
            "/patients/?" + urlencode({"q": found.patient_query}),
            target_ms=QUICK_TARGET_MS,
            weight=5,
        ),
    ]


# -- 1. the SQL alone ----------------------------------------------------------------------------
def capture(page: Page, client) -> tuple[int, list[str]]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        response = client.get(page.url)
    if response.status_code != 200:
        raise RuntimeError(f"{page.name}: {page.url} answered {response.status_code}")
    return len(captured.captured_queries), [q["sql"] for q in captured.captured_queries]


def replay_ms(statements: list[str]) -> float:
    """The statements run again, every row fetched, in a transaction rolled back (a page's session
    write is undone): the raw database time of one request."""
    from django.db import connection, transaction

    start = time.perf_counter()
    with transaction.atomic():
        with connection.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql)
                if cursor.description is not None:
                    cursor.fetchall()
        transaction.set_rollback(True)
    return (time.perf_counter() - start) * 1000


def timed(measure, rounds: int, budget: float) -> list[float]:
    """`rounds` measurements, or fewer (MIN_ROUNDS at least) once `budget` seconds have gone."""
    times, started = [], time.monotonic()
    for _ in range(rounds):
        times.append(measure())
        if len(times) >= MIN_ROUNDS and time.monotonic() - started > budget:
            break
    return times


def slowest(statements: list[str], explain: bool) -> dict:
    """The page's slowest statement (timed alone, once), and with `explain` its plan as run
    (EXPLAIN ANALYZE, in a transaction rolled back): where a slow page's time goes."""
    from django.db import connection, transaction

    each = []
    with transaction.atomic():
        with connection.cursor() as cursor:
            for sql in statements:
                start = time.perf_counter()
                cursor.execute(sql)
                if cursor.description is not None:
                    cursor.fetchall()
                each.append(((time.perf_counter() - start) * 1000, sql))
            ms, sql = max(each, key=lambda pair: pair[0])
            found = {"slowest_ms": round(ms, 1), "slowest_sql": sql[:2000]}
            if explain and sql.lstrip().upper().startswith("SELECT"):
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
                found["slowest_plan"] = [row[0] for row in cursor.fetchall()]
        transaction.set_rollback(True)
    return found


def measure_sql(page_list: list[Page], rounds: int, budget: float, explain: bool = False) -> dict[str, dict]:
    from django.test import Client

    from openpractice.accounts.models import User

    client = Client()
    client.force_login(User.objects.get(email=STAFF_EMAIL))
    found = {}
    for page in page_list:
        capture(page, client)  # a first render warms caches and the database's buffers
        queries, statements = capture(page, client)
        replay_ms(statements)
        times = timed(functools.partial(replay_ms, statements), rounds, budget)
        found[page.name] = {
            "queries": queries,
            "statements": statements,
            "sql_p50_ms": statistics.median(times),
            "sql_p95_ms": percentile(times, 0.95),
            "sql_rounds": len(times),
            **slowest(statements, explain),
        }
        print(
            f"  scale: SQL of {page.name}: {found[page.name]['sql_p50_ms']:.1f} ms, {queries} queries", file=sys.stderr
        )
    return found


# -- 2. over HTTP --------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`manage.py serve` against the scale database, on a free local port, in its own process group."""

    def __init__(self, folder: Path, database: str = DATABASE):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = folder / "serve.log"
        self.database = database
        env = {
            **os.environ,
            "DATABASE_URL": database_url(database),
            "DJANGO_SETTINGS_MODULE": "openpractice.settings",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "LOG_LEVEL": "WARNING",
            "DEBUG": "0",
        }
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "serve", "--host", "127.0.0.1", "--port", str(self.port)],
            cwd=REPO,
            env=env,
            stdout=open(self.log, "ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self, timeout: float = 60) -> None:
        import requests

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"manage.py serve exited: {self.log.read_text()[-2000:]}")
            try:
                if requests.get(self.url + "/accounts/login/", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.3)
        raise TimeoutError(f"manage.py serve not answering after {timeout} s: {self.log.read_text()[-2000:]}")

    def describe(self) -> str:
        """What serve said it started (server, processes, threads)."""
        lines = [line for line in self.log.read_text(errors="replace").splitlines() if "Serving" in line]
        return lines[0].strip() if lines else ""

    def processes(self):
        import psutil

        parent = psutil.Process(self.process.pid)
        return [parent, *parent.children(recursive=True)]

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)


def sign_in(base: str, email: str = STAFF_EMAIL):
    """A requests session signed in through the login form, as a person's browser is."""
    import requests

    from openpractice.home.management.commands.seed_demo import DEMO_PASSWORD

    session = requests.Session()
    session.get(base + "/accounts/login/", timeout=30)
    response = session.post(
        base + "/accounts/login/",
        data={"username": email, "password": DEMO_PASSWORD, "csrfmiddlewaretoken": session.cookies["csrftoken"]},
        headers={"Referer": base + "/accounts/login/"},
        timeout=30,
        allow_redirects=False,
    )
    if response.status_code != 302 or "sessionid" not in session.cookies:
        raise RuntimeError(f"sign-in as {email} failed: {response.status_code}")
    return session


class PageClient:
    """GETs over one kept-alive connection with a signed-in session's cookies, timed from the
    request's first byte sent to the response's last byte read. http.client rather than requests
    for the timed GETs: requests' own work per call (cookie jar, URL and header handling) is about
    0.7 ms on this machine, the whole time of a static file, and is the client's time, not the
    page's. A browser's network stack is native code."""

    def __init__(self, base: str, cookies: dict[str, str]):
        from urllib.parse import urlsplit

        address = urlsplit(base)
        self.host, self.port = address.hostname or "127.0.0.1", address.port or 80
        self.cookie = "; ".join(f"{name}={value}" for name, value in cookies.items())
        self.connection = None

    def get_ms(self, url: str) -> tuple[float, int, bytes]:
        import http.client

        if self.connection is None:
            self.connection = http.client.HTTPConnection(self.host, self.port, timeout=120)
            self.connection.connect()
        start = time.perf_counter()
        try:
            self.connection.request("GET", url, headers={"Cookie": self.cookie})
            response = self.connection.getresponse()
            body = response.read()
        except (http.client.HTTPException, OSError):  # the server closed a kept-alive connection
            self.connection.close()
            self.connection = None
            return self.get_ms(url)
        elapsed = (time.perf_counter() - start) * 1000
        if response.will_close:
            self.connection.close()
            self.connection = None
        return elapsed, response.status, body

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()


def floor_ms(base: str, static_url: str, rounds: int = 50) -> float:
    """The time of the smallest request the server answers outside Django's views (a static file,
    served by WhiteNoise): server plus client, the floor under every page's time."""
    client = PageClient(base, {})
    try:
        times = [client.get_ms(static_url)[0] for _ in range(rounds + 5)][5:]
    finally:
        client.close()
    return statistics.median(times)


def measure_pairs(
    page_list: list[Page], base: str, statements: dict[str, list[str]], rounds: int, budget: float, warmups: int = 3
) -> dict[str, dict]:
    """Each page over HTTP and its SQL replayed, in turns (GET, replay, GET, replay...): on a
    machine other work shares, both see the same load, so their ratio is fair where two runs
    minutes apart are not. The load average is noted with each page."""
    client = PageClient(base, sign_in(base).cookies.get_dict())
    found = {}
    for page in page_list:

        def get(page=page) -> float:
            elapsed, status, _ = client.get_ms(page.url)
            if status != 200:  # a lost session answers 302 to the login page
                raise RuntimeError(f"{page.name}: {page.url} answered {status}")
            return elapsed

        timed(get, warmups, 0)
        replay_ms(statements[page.name])
        pairs = timed(lambda page=page: (get(page), replay_ms(statements[page.name])), rounds, budget)
        http, sql = [p[0] for p in pairs], [p[1] for p in pairs]
        found[page.name] = {
            "http_p50_ms": statistics.median(http),
            "http_p95_ms": percentile(http, 0.95),
            "http_rounds": len(http),
            "sql_p50_ms": statistics.median(sql),
            "sql_p95_ms": percentile(sql, 0.95),
            "sql_rounds": len(sql),
            "load_average": round(os.getloadavg()[0], 1),
        }
        print(
            f"  scale: {page.name}: HTTP p50 {found[page.name]['http_p50_ms']:.1f} ms, "
            f"SQL p50 {found[page.name]['sql_p50_ms']:.1f} ms (load {found[page.name]['load_average']})",
            file=sys.stderr,
        )
    client.close()
    return found


# -- 3. twenty staff at once ---------------------------------------------------------------------
class CpuMeter:
    """CPU seconds of the web processes and of this database's PostgreSQL backends over a run.
    Backends come and go with connections: their times are sampled every half second."""

    def __init__(self, server: Server, database: str = DATABASE):
        self.server, self.database = server, database
        self.first: dict[int, float] = {}
        self.last: dict[int, float] = {}
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _backends(self):
        """This database's backends, and the parallel workers of a query one of them runs (whose
        title names the backend's pid, not the database)."""
        import re

        import psutil

        marker = f" {self.database} "
        ours, helpers = [], []
        for process in psutil.process_iter(["name", "cmdline"]):
            try:
                title = " ".join(process.info["cmdline"] or []) + " "
            except (psutil.Error, TypeError):
                continue
            if not title.startswith("postgres"):
                continue
            if marker in title:
                ours.append(process)
            elif found := re.search(r"parallel worker for PID (\d+)", title):
                helpers.append((int(found.group(1)), process))
        pids = {process.pid for process in ours}
        return ours + [process for leader, process in helpers if leader in pids]

    def _sample(self) -> None:
        import psutil

        for process in self._backends():
            try:
                cpu = process.cpu_times()
            except psutil.Error:
                continue
            seconds = cpu.user + cpu.system
            self.first.setdefault(process.pid, seconds)
            self.last[process.pid] = seconds

    def _run(self) -> None:
        while not self.stop_event.wait(0.5):
            self._sample()

    def web_seconds(self) -> float:
        total = 0.0
        for process in self.server.processes():
            cpu = process.cpu_times()
            total += cpu.user + cpu.system + cpu.children_user + cpu.children_system
        return total

    def __enter__(self):
        self._sample()
        self.web_start = self.web_seconds()
        self.started = time.monotonic()
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop_event.set()
        self.thread.join()
        self._sample()
        self.elapsed = time.monotonic() - self.started
        self.web = self.web_seconds() - self.web_start
        self.db = sum(self.last[pid] - self.first[pid] for pid in self.last)


def run_load(page_list: list[Page], server: Server, users: int, seconds: int, folder: Path) -> dict:
    """`locust --headless` for `seconds` with `users` staff, each with a session signed in beforehand."""
    sessions = [sign_in(server.url).cookies.get_dict() for _ in range(users)]
    plan = folder / "load-plan.json"
    plan.write_text(json.dumps({"pages": [dataclasses.asdict(p) for p in page_list], "sessions": sessions}))
    prefix = folder / "locust"
    command = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(REPO / "bench" / "locustfile.py"),
        "--headless",
        "--users",
        str(users),
        "--spawn-rate",
        str(users),
        "--run-time",
        f"{seconds}s",
        "--host",
        server.url,
        "--csv",
        str(prefix),
        "--only-summary",
        "--stop-timeout",
        "5",
        "--loglevel",
        "WARNING",
    ]
    import resource

    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with CpuMeter(server, server.database) as meter:
        done = subprocess.run(
            command,
            cwd=REPO,
            env={**os.environ, "SCALE_LOAD_PLAN": str(plan)},
            capture_output=True,
            text=True,
            timeout=seconds + 120,
        )
    children_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    locust_cpu = (children_after.ru_utime + children_after.ru_stime) - (
        children_before.ru_utime + children_before.ru_stime
    )
    rows = _locust_rows(Path(f"{prefix}_stats.csv"))
    total = rows.get("Aggregated")
    if total is None:
        raise RuntimeError(f"locust gave no figures: {done.stdout[-2000:]}\n{done.stderr[-3000:]}")
    failures = _locust_failures(Path(f"{prefix}_failures.csv"))
    return {
        "users": users,
        "seconds": round(meter.elapsed, 1),
        "requests": int(total["Request Count"]),
        "errors": int(total["Failure Count"]),
        "requests_per_s": float(total["Requests/s"]),
        "p50_ms": float(total["50%"]),
        "p95_ms": float(total["95%"]),
        "web_cpu_s": round(meter.web, 1),
        "db_cpu_s": round(meter.db, 1),
        "web_cores": round(meter.web / meter.elapsed, 2),
        "db_cores": round(meter.db / meter.elapsed, 2),
        "locust_cpu_s": round(locust_cpu, 1),  # the load generator shares the machine
        # CPU a request costs (web, database): what the mix needs of the cores whatever else runs,
        # where p95 depends on what the other work leaves it.
        "web_cpu_ms_per_request": round(meter.web * 1000 / max(1, int(total["Request Count"])), 1),
        "db_cpu_ms_per_request": round(meter.db * 1000 / max(1, int(total["Request Count"])), 1),
        "per_page": {
            name: {"requests": int(r["Request Count"]), "p50_ms": float(r["50%"]), "p95_ms": float(r["95%"])}
            for name, r in rows.items()
            if name != "Aggregated"
        },
        "failures": failures[:10],
    }


def _locust_rows(path: Path) -> dict[str, dict]:
    import csv

    if not path.exists():
        return {}
    with path.open() as f:
        return {row["Name"]: row for row in csv.DictReader(f)}


def _locust_failures(path: Path) -> list[str]:
    import csv

    if not path.exists():
        return []
    with path.open() as f:
        return [f"{row['Name']}: {row['Error']} ({row['Occurrences']})" for row in csv.DictReader(f)]


# -- the run -------------------------------------------------------------------------------------
def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench scale", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rebuild", action="store_true", help="build the scale database again")
    parser.add_argument("--invoices", type=int, default=Sizes.invoices)
    parser.add_argument("--patients", type=int, default=Sizes.patients)
    parser.add_argument("--codes", type=int, default=Sizes.codes)
    parser.add_argument("--rounds", type=int, default=20, help="timed requests (and SQL replays) per page")
    parser.add_argument(
        "--page-budget-seconds",
        type=float,
        default=60,
        help=f"time one page for at most this long ({MIN_ROUNDS} at least)",
    )
    parser.add_argument("--users", type=int, default=20, help="simulated staff in the load run")
    parser.add_argument("--scale-seconds", type=int, default=60, help="length of the load run")
    parser.add_argument("--no-load", action="store_true", help="skip the locust run")
    parser.add_argument("--explain", action="store_true", help="keep the plan of each page's slowest statement")
    parser.add_argument("--database", default=DATABASE, help="the PostgreSQL database of the scale world")
    args = parser.parse_args(argv)
    if not args.no_load:
        try:
            import locust  # noqa: F401
            import psutil  # noqa: F401
        except ImportError:
            print(
                'The load run needs the `load` dependencies: pip install -e ".[load]" (or --no-load).', file=sys.stderr
            )
            return 2

    setup_django(args.database)
    sizes = Sizes(args.invoices, args.patients, args.codes)
    built = ensure(sizes, name=args.database, rebuild=args.rebuild)
    found = targets()
    page_list = pages(found)
    load_before = os.getloadavg()[0]
    sql = measure_sql(page_list, args.rounds, args.page_budget_seconds, args.explain)
    folder = Path(tempfile.mkdtemp(prefix="openpractice-scale-"))
    server = Server(folder, args.database)
    try:
        server.wait_ready()
        from django.templatetags.static import static

        floor = floor_ms(server.url, static("img/favicon.svg"))
        http = measure_pairs(
            page_list,
            server.url,
            {name: found_sql.pop("statements") for name, found_sql in sql.items()},
            args.rounds,
            args.page_budget_seconds,
        )
        load = None if args.no_load else run_load(page_list, server, args.users, args.scale_seconds, folder)
        served_by = server.describe()
    finally:
        server.stop()
    rows = []
    for page in page_list:
        alone = sql[page.name]
        # The SQL timed alone before the server started is kept beside the interleaved figure.
        alone["sql_alone_p50_ms"] = alone.pop("sql_p50_ms")
        alone["sql_alone_p95_ms"] = alone.pop("sql_p95_ms")
        alone.pop("sql_rounds", None)
        row = {"page": page.name, "url": page.url, "target_ms": page.target_ms, **alone, **http[page.name]}
        row["ratio"] = row["http_p50_ms"] / row["sql_p50_ms"] if row["sql_p50_ms"] else 0.0
        row["ok"] = row["http_p95_ms"] < page.target_ms and row["ratio"] <= MAX_RATIO
        rows.append(row)
    if load is not None:
        load["ok"] = load["p95_ms"] < LOAD_TARGET_MS and load["errors"] == 0
    print_report(rows, load, sizes, served_by, floor)
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"scale-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(
        json.dumps(
            {
                "python": sys.version.split()[0],
                "sizes": dataclasses.asdict(sizes),
                "built": built,
                "targets": dataclasses.asdict(found),
                "load_average_at_start": load_before,
                "load_average_at_end": os.getloadavg()[0],
                "cores": os.cpu_count(),
                "server": served_by,
                "static_file_p50_ms": floor,
                "pages": rows,
                "load": load,
            },
            indent=2,
        )
    )
    print(f"\nWritten to {path}")
    return 0


def print_report(
    rows: list[dict], load: dict | None, sizes: Sizes, served_by: str = "", floor: float | None = None
) -> None:
    print(f"\nscale: PostgreSQL, {sizes.invoices:,} invoices, {sizes.patients:,} patients, {sizes.codes:,} codes")
    print(f"{served_by}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    if floor is not None:
        print(f"A static file over the same connection (server and client, no view): p50 {floor:.2f} ms")
    headers = ["page", "HTTP p50", "HTTP p95", "SQL p50", "ratio", "queries", "load", "target", "ok"]
    table = [
        [
            r["page"],
            f"{r['http_p50_ms']:,.1f} ms",
            f"{r['http_p95_ms']:,.1f} ms",
            f"{r['sql_p50_ms']:,.1f} ms",
            f"{r['ratio']:.1f}x",
            str(r["queries"]),
            f"{r.get('load_average', 0):.1f}",
            f"p95 < {r['target_ms']:.0f} ms, <= {MAX_RATIO:.0f}x",
            "yes" if r["ok"] else "NO",
        ]
        for r in rows
    ]
    widths = [max(len(h), *(len(row[i]) for row in table)) for i, h in enumerate(headers)]
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths)))
    print("  ".join("-" * w for w in widths))
    for row in table:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)))
    for r in rows:  # where a page that misses its target spends its database time
        if not r["ok"] and r.get("slowest_sql") and r["slowest_ms"] >= 20:
            print(
                f"  {r['page']}: slowest statement {r['slowest_ms']:,.0f} ms: {' '.join(r['slowest_sql'].split())[:110]}"
            )
    if load is not None:
        print(
            f"\nload: {load['users']} simulated staff for {load['seconds']:.0f} s: {load['requests_per_s']:.1f} requests/s, "
            f"p50 {load['p50_ms']:.0f} ms, p95 {load['p95_ms']:.0f} ms, {load['errors']} errors "
            f"({load['requests']:,} requests); CPU: web {load['web_cpu_s']:.1f} s ({load['web_cores']:.2f} cores), "
            f"PostgreSQL {load['db_cpu_s']:.1f} s ({load['db_cores']:.2f} cores), locust {load.get('locust_cpu_s', 0):.1f} s; "
            f"per request: web {load.get('web_cpu_ms_per_request', 0):.1f} ms, PostgreSQL "
            f"{load.get('db_cpu_ms_per_request', 0):.1f} ms of CPU; "
            f"target p95 < {LOAD_TARGET_MS:.0f} ms, no errors: {'yes' if load['ok'] else 'NO'}"
        )
        for failure in load["failures"]:
            print(f"  failure: {failure}")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
