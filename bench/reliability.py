"""The operator's fault suite: `python -m bench reliability` (BENCH_RELIABILITY_COUNT, default
1,000 invoices; 100 with --quick).

A whole installation driven from outside, on PostgreSQL (BENCH_POSTGRES_URL; SQLite only when
PostgreSQL is absent, and then without the database cuts), all on 127.0.0.1:
- the sandbox clearing house with faults (5xx, timeouts, dropped connections, half of them after
  the bill was made), switched off through its admin API when the chaos ends;
- the real web server (`manage.py serve --server waitress`: one process, so a SIGKILL is one whole server down), 2 workers (`manage.py run_worker`, short task
  lease) and the schedule (`sync_healthcode --recover-only --loop`), as subprocesses; the bench
  restarts any of them that dies, as systemd would;
- every invoice submitted in one bulk run through the API (`POST /invoices/healthcode/bulk-submit`);
- chaos for a bounded time: web and workers SIGKILLed at random and restarted; every database
  connection cut for a few seconds by a TCP proxy (bench/reliability_proxy.py) in front of
  PostgreSQL, which all the installation's processes go through;
- then recovery: "Send the rest" if the run shows invoices never queued, until every invoice is
  answered (time to recover = from the end of the faults until then);
- then the same remittance imported in every form, twice each: fetched from the clearing house,
  as a FHIR file, as CSV with LF and with CRLF line ends. The posting ledger must hold the money
  once: what was posted beyond the remittance's own total is reported as double-posted.
Prints lost bills (an invoice asked for with no bill), duplicated bills (more than one bill for an
invoice at the clearing house), £ double-posted, stuck (submissions not answered, task rows left
running, invoices never queued) and the time to recover. Bounded: every loop has a count and a
deadline.

Last run (--quick, 100 invoices, PostgreSQL, 2 shared cores): web killed 2, workers killed 3,
database cut 2; 0 lost, 0 duplicated, 0 stuck, recovered 2.1 s after the faults stopped; £0
double-posted, but the remittance's CSV forms (LF and CRLF) were each stored as a new batch (2
extra batches, their 100 lines sent to review as already paid): dedupe by content is not done yet."""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import benchmark, quick
from bench.harness import REPO, Installation

WORKERS = 2
FAULTS = {
    "error_rate": 0.2,
    "timeout_rate": 0.03,
    "timeout_seconds": 2,
    "drop_rate": 0.03,
    "after_processing_rate": 0.5,
    "fault_seed": 23,
}
LEASE_SECONDS = 10


def _count() -> int:
    return int(os.environ.get("BENCH_RELIABILITY_COUNT", "100" if quick() else "1000"))


class Fleet:
    """The installation's long-running processes, each restarted by `tend` when it is gone."""

    def __init__(self, installation: Installation, port: int, folder: Path):
        self.installation, self.port, self.folder = installation, port, folder
        self.env = {
            **installation.env,
            "TASK_LEASE_SECONDS": str(LEASE_SECONDS),
            "WORKER_RECONNECT_MAX_SECONDS": "3",
            "LOG_LEVEL": "WARNING",
        }
        self.commands = {
            "web": [
                "manage.py",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--threads",
                "8",
                "--server",
                "waitress",
            ],
            "schedule": ["manage.py", "sync_healthcode", "--recover-only", "--stale-after", "20", "--loop", "5"],
        }
        for n in range(WORKERS):
            self.commands[f"worker{n}"] = [
                "manage.py",
                "run_worker",
                "--queue-name",
                "healthcode",
                "--interval",
                "0.1",
                "--no-startup-delay",
                "--no-reload",
            ]
        self.processes: dict[str, subprocess.Popen] = {}
        self.starts = {name: 0 for name in self.commands}
        self.kills = {name: 0 for name in self.commands}

    def start(self, name: str) -> None:
        self.starts[name] += 1
        command = list(self.commands[name])
        if name.startswith("worker"):
            command += ["--worker-id", f"{name}-{self.starts[name]}"]
        log = open(self.folder / f"{name}.log", "ab")
        self.processes[name] = subprocess.Popen(
            [sys.executable, *command],
            cwd=REPO,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def tend(self) -> None:
        for name in self.commands:
            process = self.processes.get(name)
            if process is None or process.poll() is not None:
                self.start(name)

    def kill(self, name: str) -> None:
        process = self.processes.get(name)
        if process is not None and process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)
            self.kills[name] += 1

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)


def _http(method: str, url: str, token: str, body: dict | None = None, timeout: float = 60):
    import httpx

    try:
        return httpx.request(method, url, json=body, timeout=timeout, headers={"Authorization": f"Bearer {token}"})
    except httpx.HTTPError as exc:
        return exc


def _wait_for_web(port: int, deadline: float) -> bool:
    import httpx

    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/", timeout=2)
            return True
        except httpx.HTTPError:
            time.sleep(0.3)
    return False


def _retrying(read, attempts: int = 20):
    """The bench's own reads go straight to the database, but a cut or a busy SQLite can fail one."""
    for attempt in range(attempts):
        try:
            return read()
        except Exception:
            if attempt == attempts - 1:
                raise
            time.sleep(0.5)


@benchmark("reliability")
def reliability() -> list[dict]:
    from django.db import connection

    from bench.__main__ import postgres_reachable
    from bench.healthcode import installation_database
    from bench.reliability_proxy import CuttableProxy
    from sandbox.testing import free_port, start_sandbox

    if connection.vendor == "sqlite" and postgres_reachable():
        return [
            {"metric": "runs on the PostgreSQL pass (SQLite only when PostgreSQL is absent)", "value": 0.0, "unit": ""}
        ]
    count = _count()
    random.seed(7)
    report: dict = {}
    with tempfile.TemporaryDirectory(prefix="op-bench-faults-") as folder, installation_database() as direct_url:
        folder = Path(folder)
        sandbox = start_sandbox(folder / "sandbox", **FAULTS)
        proxy = None
        if direct_url:
            host_port = direct_url.split("@")[-1].split("/")[0]
            host, _, port = host_port.partition(":")
            proxy = CuttableProxy(host or "127.0.0.1", int(port or 5432)).__enter__()
        installation = Installation(
            folder / "op", sandbox, timeout_seconds=2, database_url=proxy.url_for(direct_url) if proxy else ""
        )
        installation.database_url = direct_url  # the bench reads past the proxy; the installation goes through it
        web_port = free_port()
        fleet = Fleet(installation, web_port, folder)
        try:
            report = _run(installation, fleet, sandbox, proxy, count, web_port)
            print(json.dumps(report, default=str, indent=1), file=sys.stderr)  # the details behind the table
        finally:
            fleet.stop()
            if proxy:
                proxy.close()
            sandbox.stop()
    return _rows(report, count)


def _run(installation: Installation, fleet: Fleet, sandbox, proxy, count: int, port: int) -> dict:
    import logging

    import httpx

    logging.getLogger("httpx").setLevel(logging.WARNING)

    installation.prepare(count=count)
    token = installation.run("-m", "bench.reliability", "token").strip().splitlines()[-1]
    ids = [
        row[0] for row in installation._query("SELECT id FROM billing_invoice WHERE bill_to = 'insurer' ORDER BY id")
    ]
    fleet.tend()
    if not _wait_for_web(port, time.monotonic() + 60):
        raise RuntimeError("the web server did not start: " + (fleet.folder / "web.log").read_text()[-2000:])
    api = f"http://127.0.0.1:{port}/api/v1"

    # The bulk run, with chaos starting at once: the web server may die under the request.
    answer = _http("POST", f"{api}/invoices/healthcode/bulk-submit", token, {"invoice_ids": ids})
    submitted_ok = isinstance(answer, httpx.Response) and answer.status_code == 202
    chaos_seconds = 20 if count <= 200 else 60
    events = {"web killed": 0, "worker killed": 0, "database cut": 0}
    plan = ["worker", "database", "web", "worker", "database", "worker", "web", "database"]
    started = time.monotonic()
    step = 0
    while time.monotonic() - started < chaos_seconds and step < 50:
        time.sleep(random.uniform(1.5, 3.5))
        action = plan[step % len(plan)]
        step += 1
        if action == "worker":
            fleet.kill(f"worker{random.randrange(WORKERS)}")
            events["worker killed"] += 1
        elif action == "web":
            fleet.kill("web")
            events["web killed"] += 1
        elif action == "database" and proxy is not None:
            proxy.cut(seconds=random.uniform(2, 4))
            events["database cut"] += 1
        time.sleep(random.uniform(0.3, 1.0))
        fleet.tend()

    # The faults stop: the clearing house behaves, nothing more is killed or cut.
    httpx.put(f"{sandbox.url}/_sandbox/faults", json={}, headers=sandbox.admin_headers, timeout=10)
    faults_ended = time.monotonic()
    fleet.tend()
    _wait_for_web(port, time.monotonic() + 60)
    bulk_id = _retrying(lambda: installation._query("SELECT MAX(id) FROM healthcode_bulksubmission"))[0][0]
    if bulk_id is None:  # the web server died before it recorded the run: the operator submits again
        answer = _http("POST", f"{api}/invoices/healthcode/bulk-submit", token, {"invoice_ids": ids})
        bulk_id = answer.json()["id"]
    sent_the_rest, recovered_at, last = 0, None, {}
    deadline = time.monotonic() + (600 if count <= 200 else 1800)
    while time.monotonic() < deadline:
        fleet.tend()
        status = _http("GET", f"{api}/invoices/healthcode/bulk/{bulk_id}", token, timeout=30)
        if isinstance(status, httpx.Response) and status.status_code == 200:
            last = status.json()
            if last["finished"]:
                recovered_at = time.monotonic()
                break
            if last["stopped"] and sent_the_rest < 5:
                _http("POST", f"{api}/invoices/healthcode/bulk/{bulk_id}/send-rest", token)
                sent_the_rest += 1
        time.sleep(1)

    remittance = _remittances(installation, sandbox) if recovered_at else {"error": "not recovered: no remittance"}
    bills = installation.bills_per_invoice()
    numbers = [
        row[0]
        for row in installation._query(
            f"SELECT i.number FROM healthcode_bulksubmissionitem b JOIN billing_invoice i ON i.id = b.invoice_id "
            f"WHERE b.bulk_id = {int(bulk_id)}"
        )
    ]
    states = installation.states()
    running_tasks = installation._query(
        "SELECT COUNT(*) FROM django_tasks_database_dbtaskresult WHERE status = 'RUNNING'"
    )
    return {
        "submitted_ok": submitted_ok,
        "events": events,
        "kills": fleet.kills,
        "starts": fleet.starts,
        "progress": last,
        "sent_the_rest": sent_the_rest,
        "recover_seconds": (recovered_at - faults_ended) if recovered_at else None,
        "lost": sum(1 for n in numbers if n not in bills) + (count - len(numbers)),
        "duplicated": sum(1 for n in numbers if len(bills.get(n, [])) > 1),
        "stuck": states.get("queued", 0)
        + states.get("sending", 0)
        + running_tasks[0][0]
        + int(last.get("never_queued", count)),
        "states": states,
        "remittance": remittance,
    }


def _remittances(installation: Installation, sandbox) -> dict:
    """Move the clearing house's clock two days on (bills collected, adjudicated, remitted), then
    import the same remittance in every form twice, in a child process of the installation."""
    import httpx

    httpx.post(
        f"{sandbox.url}/_sandbox/clock/advance",
        json={"seconds": 2 * 86400 + 7200},
        headers=sandbox.admin_headers,
        timeout=120,
    )
    try:
        return json.loads(installation.run("-m", "bench.reliability", "remit", timeout=900).strip().splitlines()[-1])
    except RuntimeError as exc:
        return {"error": str(exc)[-800:]}


def _rows(report: dict, count: int) -> list[dict]:
    remit = report.get("remittance", {})
    recover = report.get("recover_seconds")
    events = report.get("events", {})
    rows = [
        {
            "metric": f"faults: {count:,} invoices; web killed {events.get('web killed', 0)}, workers killed "
            f"{events.get('worker killed', 0)}, database cut {events.get('database cut', 0)}; "
            f"bulk request answered: {report.get('submitted_ok')}; Send the rest: {report.get('sent_the_rest')}",
            "value": float(count),
            "unit": "invoices",
        },
        {
            "metric": "lost (asked for, no bill at the clearing house)",
            "value": float(report.get("lost", count)),
            "unit": "invoices",
            "target": "= 0",
            "ok": report.get("lost") == 0,
        },
        {
            "metric": "duplicated (more than one bill for an invoice)",
            "value": float(report.get("duplicated", 0)),
            "unit": "invoices",
            "target": "= 0",
            "ok": report.get("duplicated") == 0,
        },
        {
            "metric": "stuck (not answered, tasks left running, never queued)",
            "value": float(report.get("stuck", count)),
            "unit": "items",
            "target": "= 0",
            "ok": report.get("stuck") == 0,
        },
        {
            "metric": "time to recover after the faults stopped",
            "value": float(recover if recover is not None else -1),
            "unit": "s",
            "target": "answered",
            "ok": recover is not None,
        },
    ]
    if "error" in remit:
        rows.append({"metric": f"remittance imports: {remit['error'][:300]}", "value": -1.0, "unit": "", "ok": False})
    else:
        for form, outcome in remit.get("imports", {}).items():
            rows.append({"metric": f"remittance as {form}, imported twice: {outcome}", "value": 0.0, "unit": ""})
        rows.append(
            {
                "metric": f"£ double-posted (posted £{remit.get('posted')} for £{remit.get('paid_once')} "
                f"remitted once; {remit.get('batches')} batches stored)",
                "value": float(remit.get("double_posted", 0)),
                "unit": "£",
                "target": "= 0",
                "ok": float(remit.get("double_posted", 0)) == 0,
            }
        )
        extra = int(remit.get("batches", 0)) - int(remit.get("remittances", 0))
        rows.append(
            {
                "metric": f"the same remittance stored again as a new batch ({remit.get('batches')} batches for "
                f"{remit.get('remittances')} remittances; {remit.get('lines_to_review')} lines sent to "
                "review as already paid)",
                "value": float(extra),
                "unit": "batches",
                "target": "= 0",
                "ok": extra == 0,
            }
        )
    return rows


# -- the child side: runs inside Django, in the installation's environment -----------------------
def _child(argv: list[str]) -> None:
    import django

    django.setup()
    from openpractice.home.management.commands.seed_demo import DEMO_PRACTICE
    from openpractice.practices.models import Practice

    practice = Practice.objects.get(name=DEMO_PRACTICE)
    if argv[0] == "token":
        from openpractice.accounts.models import User
        from openpractice.accounts.services import create_api_token

        _, raw = create_api_token(
            user=User.objects.get(email="billing@demo.openpractice.test"), practice=practice, name="fault suite"
        )
        print(raw)
    elif argv[0] == "remit":
        print(json.dumps(_import_every_form(practice)))


def _import_every_form(practice) -> dict:
    """The first remittance the clearing house has, fetched twice, then as a FHIR file twice, as
    CSV (LF) twice and as CSV (CRLF) twice. Returns what each import said and the money posted."""
    from decimal import Decimal

    from django.db.models import Sum

    from openpractice.remittances.errors import RemittanceError
    from openpractice.remittances.fetching import fetch_remittances
    from openpractice.remittances.models import Allocation, LineStatus, RemittanceBatch, RemittanceLine
    from openpractice.remittances.services import import_file

    imports: dict[str, str] = {}
    said = [fetch_remittances(practice=practice).message for _ in range(2)]
    imports["fetch"] = " / ".join(said)
    first = RemittanceBatch.objects.filter(practice=practice).order_by("pk").first()
    if first is None:
        return {"error": "the clearing house had no remittance to fetch: " + imports["fetch"]}
    total = first.payment_amount
    lines = list(first.lines.order_by("pk"))

    def attempt(form: str, content: bytes, kind: str, **extra) -> None:
        outcomes = []
        for _ in range(2):
            try:
                batch = import_file(practice=practice, content=content, kind=kind, **extra)
                outcomes.append(f"posted ({batch.status})")
            except RemittanceError as exc:
                outcomes.append(f"refused: {exc.message[:80]}")
        imports[form] = " / ".join(outcomes)

    attempt("FHIR file", first.raw_payload.encode(), "fhir")
    header = "Invoice,Paid,Invoiced,Shortfall,Reason,Membership,Patient,Bill"
    rows = [
        f"{line.invoice_number},{line.amount_paid},{line.amount_invoiced},{line.shortfall},"
        f"{line.shortfall_reason.replace(',', ' ')},{line.membership_number},{line.patient_name.replace(',', ' ')},"
        f"{line.bill_id}"
        for line in lines
    ]
    csv_options = {
        "mapping": {
            "invoice_number": "Invoice",
            "amount_paid": "Paid",
            "amount_invoiced": "Invoiced",
            "shortfall": "Shortfall",
            "shortfall_reason": "Reason",
            "membership_number": "Membership",
            "patient_name": "Patient",
            "bill_id": "Bill",
        },
        "insurer_identifier": first.insurer_identifier,
        "payment_reference": first.payment_reference,
        "payment_date": first.payment_date,
    }
    attempt("CSV (LF)", ("\n".join([header, *rows]) + "\n").encode(), "csv", **csv_options)
    attempt("CSV (CRLF)", ("\r\n".join([header, *rows]) + "\r\n").encode(), "csv", **csv_options)
    posted = Allocation.objects.filter(practice=practice, remittance_line__isnull=False).aggregate(s=Sum("amount"))[
        "s"
    ] or Decimal("0")
    # What the insurers paid, once: every remitted bill counted once, whatever forms it came in.
    owed_once = {}
    for batch in RemittanceBatch.objects.filter(practice=practice):
        for line in batch.lines.all():
            owed_once.setdefault(line.bill_id or line.invoice_number, line.amount_paid)
    once = sum(owed_once.values(), Decimal("0"))
    return {
        "imports": imports,
        "remittance_total": str(total),
        "posted": str(posted),
        "paid_once": str(once),
        "double_posted": str(max(Decimal("0"), posted - once)),
        "batches": RemittanceBatch.objects.filter(practice=practice).count(),
        "remittances": len(
            {(b.payment_reference, b.insurer_identifier) for b in RemittanceBatch.objects.filter(practice=practice)}
        ),
        "lines_to_review": RemittanceLine.objects.filter(practice=practice, status=LineStatus.REVIEW).count(),
    }


if __name__ == "__main__":
    _child(sys.argv[1:])
