#!/usr/bin/env python
"""Start OpenPractice for a person to use: the web app (`manage.py serve`: gunicorn, one process per
core and one more), the sandbox clearing house, a task worker and the schedule, in one terminal. A
process that exits unexpectedly is started again (waiting a little longer each time it keeps
failing) and the console says so; Ctrl-C stops them all.

In production use a process supervisor instead (docs/deployment.md)."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
HOST = os.environ.get("OPENPRACTICE_HOST", "127.0.0.1")
PORT = os.environ.get("OPENPRACTICE_PORT", "8000")
SANDBOX_PORT = os.environ.get("SANDBOX_PORT", "8100")
# Lets a demo advance the sandbox's clock and inject faults (docs/sandbox.md); local only.
SANDBOX_ADMIN_TOKEN = os.environ.get("SANDBOX_ADMIN_TOKEN", "sandbox-admin-demo")
# The local Stripe stub (docs/stripe_stub.md): card payments online without a Stripe account.
STRIPE_STUB_PORT = os.environ.get("STRIPE_STUB_PORT", "8200")
STRIPE_STUB_ADMIN_TOKEN = os.environ.get("STRIPE_STUB_ADMIN_TOKEN", "stripe-stub-admin-demo")
DEMO_PRACTICE = "Harley Street Demo Clinic"  # home/management/commands/seed_demo.py
HEALTHY_AFTER_SECONDS = 60  # a child that ran this long before exiting starts again at once


@dataclasses.dataclass
class Child:
    name: str
    command: list[str]
    process: subprocess.Popen | None = None
    restarts: int = 0
    failures_in_a_row: int = 0
    started_at: float = 0.0
    next_start: float = 0.0


def supervise(
    children: list[Child],
    *,
    stop: threading.Event,
    poll: float = 0.5,
    backoff_base: float = 1.0,
    backoff_cap: float = 30.0,
    out=sys.stderr,
    cwd: Path = ROOT,
) -> None:
    """Keep every child running until `stop` is set: start the missing ones, and when one exits
    say so and start it again after 1, 2, 4 ... s (capped; back to 1 s after a healthy run).
    Returns with the children still running: `stop_all` ends them."""
    while not stop.is_set():
        now = time.monotonic()
        for child in children:
            if child.process is not None and child.process.poll() is not None:
                code = child.process.returncode
                child.process = None
                if stop.is_set():
                    break
                ran = now - child.started_at
                child.failures_in_a_row = 0 if ran >= HEALTHY_AFTER_SECONDS else child.failures_in_a_row + 1
                delay = min(backoff_cap, backoff_base * 2 ** max(0, child.failures_in_a_row - 1))
                child.next_start = now + delay
                print(
                    f"{child.name} exited with code {code} after {ran:.0f} s; restarting it in {delay:.0f} s "
                    f"(restart {child.restarts + 1}).",
                    file=out,
                    flush=True,
                )
            if child.process is None and now >= child.next_start and not stop.is_set():
                if child.started_at:
                    child.restarts += 1
                child.process = subprocess.Popen(child.command, cwd=cwd)
                child.started_at = time.monotonic()
        stop.wait(poll)


def stop_all(children: list[Child], *, grace: float = 10.0) -> None:
    for child in children:
        if child.process is not None and child.process.poll() is None:
            child.process.terminate()
    deadline = time.monotonic() + grace
    for child in children:
        if child.process is None:
            continue
        try:
            child.process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.process.kill()
            child.process.wait(5)


def stub_url() -> str:
    return f"http://127.0.0.1:{STRIPE_STUB_PORT}"


def use_stripe_stub() -> None:
    """Card payments go to the local stub unless STRIPE_API_BASE says otherwise (set it to an empty
    value for Stripe itself); the pay links name this server. Every child inherits both."""
    os.environ.setdefault("STRIPE_API_BASE", stub_url())
    browse = "127.0.0.1" if HOST in ("0.0.0.0", "::", "") else HOST
    os.environ.setdefault("OPENPRACTICE_PUBLIC_URL", f"http://{browse}:{PORT}")


def children() -> list[Child]:
    data_dir = Path(os.environ.get("OPENPRACTICE_DATA_DIR", ROOT / "data"))
    found = []
    if (ROOT / "sandbox" / "__main__.py").exists():
        found.append(
            Child(
                "sandbox",
                [
                    PY,
                    "-m",
                    "sandbox",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    SANDBOX_PORT,
                    "--data-dir",
                    str(data_dir / "sandbox"),
                    "--admin-token",
                    SANDBOX_ADMIN_TOKEN,
                ],
            )
        )
    if (ROOT / "stripe_stub" / "__main__.py").exists() and os.environ.get("STRIPE_API_BASE") == stub_url():
        found.append(
            Child(
                "stripe-stub",
                [
                    PY,
                    "-m",
                    "stripe_stub",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    STRIPE_STUB_PORT,
                    f"--admin-token={STRIPE_STUB_ADMIN_TOKEN}",
                    "--data-dir",
                    str(data_dir / "stripe-stub"),
                ],
            )
        )
    found.append(Child("worker", [PY, "manage.py", "run_worker", "--queue-name", "*"]))
    # The schedule: follow open bills at Healthcode and re-send what a crash left behind; and the
    # jobs cron would run elsewhere (the daily chase run, the monthly consultant reports), each once
    # per day or month however often it restarts (openpractice/workers/scheduler.py).
    found.append(Child("healthcode-sync", [PY, "manage.py", "sync_healthcode", "--loop", "60"]))
    found.append(Child("schedule", [PY, "manage.py", "run_schedule", "--loop", "60"]))
    found.append(Child("web", [PY, "manage.py", "serve", "--host", HOST, "--port", PORT]))
    return found


def main() -> int:
    use_stripe_stub()
    everything = children()
    stop = threading.Event()
    # Ctrl-C reaches the children too (same process group): stop first, so none is restarted.
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    if any(c.name == "sandbox" for c in everything):
        # The clearing house takes calls only from credentials that passed "Test connection": the
        # demo practice's are tested once the sandbox is up (nothing happens once they have passed).
        threading.Thread(
            target=subprocess.run,
            args=([PY, "manage.py", "seed_demo", "--test-connection"],),
            kwargs={"cwd": ROOT},
            daemon=True,
        ).start()
    if any(c.name == "stripe-stub" for c in everything):
        # The demo practice gets test keys, and its webhook endpoint is registered with the stub.
        threading.Thread(
            target=subprocess.run,
            args=([PY, "manage.py", "connect_stripe_stub", "--practice-name", DEMO_PRACTICE],),
            kwargs={"cwd": ROOT},
            daemon=True,
        ).start()
    browse = "127.0.0.1" if HOST in ("0.0.0.0", "::", "") else HOST  # every interface: this machine's own
    print(f"\nOpenPractice: http://{browse}:{PORT}  (demo logins in README.md)", flush=True)
    if any(c.name == "sandbox" for c in everything):
        print(
            f"Sandbox clearing house: http://127.0.0.1:{SANDBOX_PORT}  (admin token: {SANDBOX_ADMIN_TOKEN})", flush=True
        )
    if any(c.name == "stripe-stub" for c in everything):
        print(f"Stripe stub: {stub_url()}  (test card 4242 4242 4242 4242)", flush=True)
    try:
        supervise(everything, stop=stop)
    finally:
        print("Stopping OpenPractice…", file=sys.stderr, flush=True)
        stop_all(everything)
    return 0


if __name__ == "__main__":
    sys.exit(main())
