#!/usr/bin/env python
"""Start OpenPractice for a person to use: the web app, the sandbox clearing house and a task
worker, in one terminal. Ctrl-C stops them all."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
HOST = os.environ.get("OPENPRACTICE_HOST", "127.0.0.1")
PORT = os.environ.get("OPENPRACTICE_PORT", "8000")
SANDBOX_PORT = os.environ.get("SANDBOX_PORT", "8100")
# Lets a demo advance the sandbox's clock and inject faults (docs/sandbox.md); local only.
SANDBOX_ADMIN_TOKEN = os.environ.get("SANDBOX_ADMIN_TOKEN", "sandbox-admin-demo")


def main() -> int:
    data_dir = Path(os.environ.get("OPENPRACTICE_DATA_DIR", ROOT / "data"))
    processes: dict[str, subprocess.Popen] = {}
    if (ROOT / "sandbox" / "__main__.py").exists():
        processes["sandbox"] = subprocess.Popen(
            [PY, "-m", "sandbox", "--host", "127.0.0.1", "--port", SANDBOX_PORT, "--data-dir", str(data_dir / "sandbox"),
             "--admin-token", SANDBOX_ADMIN_TOKEN],
            cwd=ROOT,
        )
        # The clearing house takes calls only from credentials that passed "Test connection": the
        # demo practice's are tested once the sandbox is up (nothing happens once they have passed).
        subprocess.run([PY, "manage.py", "seed_demo", "--test-connection"], cwd=ROOT)
    processes["worker"] = subprocess.Popen([PY, "manage.py", "db_worker", "--queue-name", "*"], cwd=ROOT)
    # The schedule: follow open bills at Healthcode and re-send what a crash left behind.
    processes["healthcode-sync"] = subprocess.Popen([PY, "manage.py", "sync_healthcode", "--loop", "60"], cwd=ROOT)
    processes["web"] = subprocess.Popen([PY, "manage.py", "serve", "--host", HOST, "--port", PORT], cwd=ROOT)
    print(f"\nOpenPractice: http://{HOST}:{PORT}  (demo logins in README.md)", flush=True)
    if "sandbox" in processes:
        print(f"Sandbox clearing house: http://127.0.0.1:{SANDBOX_PORT}  (admin token: {SANDBOX_ADMIN_TOKEN})", flush=True)

    def stop(*_):
        for proc in processes.values():
            if proc.poll() is None:
                proc.terminate()
        deadline = time.monotonic() + 10
        for proc in processes.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()

    signal.signal(signal.SIGTERM, lambda *a: (stop(), sys.exit(0)))
    try:
        while True:
            for name, proc in processes.items():
                if proc.poll() is not None:
                    print(f"{name} stopped with exit code {proc.returncode}; stopping the rest.", file=sys.stderr)
                    stop()
                    return proc.returncode or 1
            time.sleep(0.5)
    except KeyboardInterrupt:
        stop()
        return 0


if __name__ == "__main__":
    sys.exit(main())
