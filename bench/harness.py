"""A whole OpenPractice installation in a folder, driven from outside: its own file-based SQLite
database, real `manage.py db_worker` processes, and the sandbox clearing house. Used by the
reliability tests (tests/healthcode/test_reliability.py) and the submission benchmark.

The parent process never imports Django settings: every step that needs Django runs in a child
(`python -m bench.harness <command>`), and progress is read straight from the SQLite files.

    harness = Installation(tmp_path, sandbox)
    harness.prepare(count=80)          # migrate, demo practice, 80 insurer invoices
    harness.submit_all()               # "Submit selected" for all of them (bulk)
    worker = harness.start_worker()    # manage.py db_worker
    harness.wait_until_settled(...)    # recovery (sync_healthcode) while waiting
    harness.bills_per_invoice()        # from the sandbox's own database
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


class Installation:
    def __init__(
        self,
        folder: Path,
        sandbox,
        *,
        timeout_seconds: float = 1.5,
        retries: int = 3,
        backoff_ms: int = 20,
        threads: int = 8,
        database_url: str = "",
    ):
        # database_url: a fresh, empty PostgreSQL database for this installation (else SQLite in the folder)
        self.database_url = database_url
        self.folder = Path(folder)
        self.data = self.folder / "data"
        self.data.mkdir(parents=True, exist_ok=True)
        self.sandbox = sandbox
        self.env = {
            **{k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")},
            "DJANGO_SETTINGS_MODULE": "openpractice.settings",
            "OPENPRACTICE_DATA_DIR": str(self.data),
            "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""),
            "SANDBOX_URL": sandbox.url,  # the clearing-house client calls only configured addresses
            "HEALTHCODE_TIMEOUT_SECONDS": str(max(1, int(timeout_seconds))),
            "HEALTHCODE_RETRIES": str(retries),
            "HEALTHCODE_BACKOFF_MS": str(backoff_ms),
            "HEALTHCODE_DELIVERY_THREADS": str(threads),
            # The fault runs inject 30-40% failures on purpose: the per-practice circuit breaker
            # opens often, and its production pause (60 s) would only make them wait. A short
            # pause keeps the breaker in play without turning the runs into waiting.
            "HEALTHCODE_BREAKER_COOLOFF_SECONDS": "2",
            "LOG_LEVEL": "WARNING",
            **({"DATABASE_URL": database_url} if database_url else {}),
        }
        self.workers: list[subprocess.Popen] = []

    @property
    def database(self) -> Path:
        return self.data / "openpractice.sqlite3"

    # -- children -----------------------------------------------------------------------------
    def run(self, *args: str, timeout: float = 900) -> str:
        done = subprocess.run(
            [sys.executable, *args], cwd=REPO, env=self.env, capture_output=True, text=True, timeout=timeout
        )
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-5000:]}")
        return done.stdout

    def manage(self, *args: str, timeout: float = 900) -> str:
        return self.run("manage.py", *args, timeout=timeout)

    def prepare(self, *, count: int) -> dict:
        self.manage("migrate", "--noinput", timeout=600)
        return json.loads(
            self.run(
                "-m",
                "bench.harness",
                "prepare",
                "--count",
                str(count),
                "--discovery",
                f"{self.sandbox.url}/.well-known/discovery-document.json",
                "--site",
                self.sandbox.site_id,
                "--key-id",
                self.sandbox.client_id,
                "--key",
                self.sandbox.client_secret,
            )
            .strip()
            .splitlines()[-1]
        )

    def run_child(self, *args: str) -> dict:
        return json.loads(self.run("-m", "bench.harness", *args).strip().splitlines()[-1])

    def submit_all(self) -> dict:
        return json.loads(self.run("-m", "bench.harness", "submit").strip().splitlines()[-1])

    def start_worker(self, log_name: str = "worker") -> subprocess.Popen:
        log = open(self.folder / f"{log_name}-{len(self.workers)}.log", "ab")
        worker = subprocess.Popen(
            [
                sys.executable,
                "manage.py",
                "db_worker",
                "--queue-name",
                "healthcode",
                "--interval",
                "0.05",
                "--no-startup-delay",
                "--worker-id",
                f"{log_name}-{len(self.workers)}",
            ],
            cwd=REPO,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.workers.append(worker)
        return worker

    def kill(self, worker: subprocess.Popen) -> None:
        """SIGKILL: no chance to tidy up, as when a machine dies."""
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(10)

    def stop_workers(self) -> None:
        for worker in self.workers:
            if worker.poll() is None:
                os.killpg(worker.pid, signal.SIGTERM)
                try:
                    worker.wait(15)
                except subprocess.TimeoutExpired:
                    self.kill(worker)

    def recover(self, stale_after: int = 3) -> str:
        return self.manage("sync_healthcode", "--recover-only", "--stale-after", str(stale_after), timeout=300)

    # -- reading progress straight from the files ---------------------------------------------
    def _query(self, sql: str, database: Path | None = None) -> list[tuple]:
        if database is None and self.database_url:
            import psycopg

            with psycopg.connect(self.database_url, autocommit=True) as pg:
                return pg.execute(sql).fetchall()
        connection = sqlite3.connect(f"file:{database or self.database}?mode=ro", uri=True, timeout=30)
        try:
            return connection.execute(sql).fetchall()
        finally:
            connection.close()

    def states(self) -> dict[str, int]:
        return dict(self._query("SELECT state, COUNT(*) FROM healthcode_submission GROUP BY state"))

    def wait_until_settled(
        self, *, expected: int, timeout: float, recover_every: float = 8.0, on_progress=None
    ) -> dict[str, int]:
        """Until every submission is accepted or refused; meanwhile run the schedule's recovery
        now and then (re-sends what a crash or exhausted retries left queued/sending)."""
        deadline = time.monotonic() + timeout
        next_recovery = time.monotonic() + recover_every
        while time.monotonic() < deadline:
            states = self.states()
            if on_progress:
                on_progress(states)
            if states.get("accepted", 0) + states.get("rejected", 0) >= expected:
                return states
            if time.monotonic() >= next_recovery:
                self.recover()
                next_recovery = time.monotonic() + recover_every
            time.sleep(0.25)
        raise TimeoutError(f"not settled after {timeout}s: {self.states()}")

    def our_bills(self) -> dict[str, str]:
        """invoice number -> the bill id OpenPractice recorded."""
        return dict(
            self._query(
                "SELECT i.number, s.bill_id FROM healthcode_submission s JOIN billing_invoice i ON i.id = s.invoice_id "
                "WHERE s.state = 'accepted'"
            )
        )

    def invoice_numbers(self) -> list[str]:
        return [row[0] for row in self._query("SELECT number FROM billing_invoice WHERE bill_to = 'insurer'")]

    def bills_per_invoice(self) -> dict[str, list[str]]:
        """From the clearing house's own database: invoice number -> every bill made for it."""
        found: dict[str, list[str]] = {}
        for number, bill_id in self._query(
            "SELECT invoice_number, bill_id FROM bills", database=Path(self.sandbox.data_dir) / "sandbox.sqlite3"
        ):
            found.setdefault(number, []).append(bill_id)
        return found


# -- the child side: runs inside Django --------------------------------------------------------
def _child(argv: list[str]) -> None:
    import argparse

    import django

    django.setup()
    from django.core.management import call_command

    from openpractice.healthcode.services import test_connection
    from openpractice.home.management.commands.seed_demo import DEMO_PRACTICE
    from openpractice.practices.models import Practice

    parser = argparse.ArgumentParser()
    parser.add_argument("command", choices=["prepare", "submit"])
    parser.add_argument("--count", type=int, default=0)
    parser.add_argument("--discovery", default="")
    parser.add_argument("--site", default="")
    parser.add_argument("--key-id", default="")
    parser.add_argument("--key", default="")
    args = parser.parse_args(argv)
    if args.command == "prepare":
        from openpractice.healthcode.credentials import save_healthcode_credentials

        call_command("seed_demo", "--quiet-if-exists", "--no-history")  # the set-up alone: figures stay comparable
        practice = Practice.objects.get(name=DEMO_PRACTICE)
        save_healthcode_credentials(
            practice=practice,
            environment="sandbox",
            discovery_url=args.discovery,
            site_id=args.site,
            api_key_id=args.key_id,
            api_key=args.key,
        )
        assert test_connection(practice=practice).ok  # calls need credentials that passed the test
        started = time.perf_counter()
        ids = make_invoices(practice=practice, count=args.count)
        print(json.dumps({"invoices": len(ids), "seconds": round(time.perf_counter() - started, 2)}))
    else:
        from openpractice.billing.models import Invoice
        from openpractice.healthcode.submission import submit_many

        practice = Practice.objects.get(name=DEMO_PRACTICE)
        ids = list(Invoice.objects.for_practice(practice).filter(bill_to="insurer").values_list("pk", flat=True))
        started = time.perf_counter()
        bulk = submit_many(practice=practice, invoice_ids=ids)
        import resource

        print(
            json.dumps(
                {
                    "bulk": bulk.pk,
                    "queued": len(ids) - len(bulk.skipped),
                    "skipped": bulk.skipped[:5],
                    "seconds": round(time.perf_counter() - started, 2),
                    "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                }
            )
        )


def make_invoices(*, practice, count: int) -> list[int]:
    """`count` valid insurer invoices, spread over the demo patients whose membership matches."""
    import datetime as dt

    from django.db import transaction

    from openpractice.billing import services
    from openpractice.patients.models import Patient
    from openpractice.practices.models import Membership
    from openpractice.products.models import Product

    today = dt.date.today()
    doctor = Membership.objects.get(practice=practice, user__email="dr.patel@demo.openpractice.test")
    product = Product.objects.get(practice=practice, name="Initial consultation")
    patients = []
    for last_name in ("Bennett", "Clarke", "Patel", "Robinson"):  # Bupa, Bupa, Aviva, Vitality
        patient = Patient.objects.get(practice=practice, last_name=last_name)
        patients.append((patient, patient.relationships.get(relationship_type="insurance")))
    ids = []
    for start in range(0, count, 500):
        with transaction.atomic():
            for n in range(start, min(count, start + 500)):
                patient, insurance = patients[n % len(patients)]
                invoice = services.create_invoice(
                    practice=practice,
                    data={
                        "bill_to": "insurer",
                        "patient": patient,
                        "insurance": insurance,
                        "practitioner": doctor,
                        "invoice_date": today,
                        "primary_diagnosis": "M17.1",
                        "service_setting": "outpatient",
                    },
                    lines=[{"product": product, "service_date": today - dt.timedelta(days=n % 20), "quantity": 1}],
                )
                ids.append(invoice.pk)
    return ids


if __name__ == "__main__":
    _child(sys.argv[1:])
