"""Fixtures for the sandbox contract tests: real subprocesses, real HTTP, no Django, no db."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox.testing import SandboxApi, SandboxProcess, start_sandbox

# A fixed start for the shared sandbox's frozen clock, so dates in tests are deterministic.
CLOCK_START = "2026-06-15T09:00:00Z"
START_DAY = dt.date(2026, 6, 15)


@pytest.fixture()
def today(api: SandboxApi) -> dt.date:
    """The shared sandbox's current date (its clock is frozen and only moved by tests)."""
    return api.today()


@pytest.fixture(scope="session")
def shared_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxProcess]:
    process = start_sandbox(tmp_path_factory.mktemp("sandbox"), clock_start=CLOCK_START)
    yield process
    process.stop()


@pytest.fixture(scope="session")
def api(shared_sandbox: SandboxProcess) -> Iterator[SandboxApi]:
    client = SandboxApi(shared_sandbox)
    yield client
    client.close()


@pytest.fixture()
def fresh_sandbox(tmp_path: Path) -> Iterator[SandboxProcess]:
    """A sandbox of its own, for tests that restart it or change its faults."""
    process = start_sandbox(tmp_path, clock_start=CLOCK_START)
    yield process
    process.stop()
