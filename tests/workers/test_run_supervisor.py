"""`make run` (scripts/run.py): a child that exits is started again, with backoff, and the console
says so; stopping ends every child and restarts none."""

from __future__ import annotations

import importlib.util
import io
import sys
import threading
import time
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent.parent.parent / "scripts" / "run.py"


def _run_module():
    spec = importlib.util.spec_from_file_location("openpractice_run_script", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_an_exited_child_is_restarted_with_backoff_and_the_console_says_so(tmp_path):
    run = _run_module()
    crashing = run.Child("worker", [sys.executable, "-c", "import sys; sys.exit(3)"])
    steady = run.Child("web", [sys.executable, "-c", "import time; time.sleep(60)"])
    stop, out = threading.Event(), io.StringIO()
    thread = threading.Thread(
        target=run.supervise,
        args=([crashing, steady],),
        kwargs={"stop": stop, "poll": 0.02, "backoff_base": 0.05, "backoff_cap": 0.2, "out": out, "cwd": tmp_path},
    )
    thread.start()
    deadline = time.monotonic() + 30
    while crashing.restarts < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    thread.join(10)
    try:
        assert crashing.restarts >= 3
        assert steady.restarts == 0 and steady.process.poll() is None  # the others carry on
        assert "worker exited with code 3" in out.getvalue() and "restarting it in" in out.getvalue()
        assert crashing.failures_in_a_row >= 3  # the wait grows while it keeps failing
    finally:
        run.stop_all([crashing, steady], grace=5)
    assert steady.process.poll() is not None  # stopping ends everything
    restarts = crashing.restarts
    time.sleep(0.3)
    assert crashing.restarts == restarts  # and nothing is started again after the stop
