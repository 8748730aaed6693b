"""The `imports` benchmark (bench/imports.py), tiny: it runs end to end on the test database, every
row it generates passes the import's checks, and its second import adds nothing."""

from __future__ import annotations

import pytest


@pytest.mark.django_db
def test_the_imports_benchmark_runs_tiny(monkeypatch):
    import bench.imports as imports

    monkeypatch.setenv("BENCH_QUICK", "1")
    monkeypatch.setattr(imports, "QUICK_PATIENTS", 150)
    monkeypatch.setattr(imports, "QUICK_EXISTING", 20)
    rows = {row["metric"]: row for row in imports.patient_import()}
    created = next(r for m, r in rows.items() if m.endswith("created"))
    assert 140 <= created["value"] <= 150  # a few may share a name and birthday with the 20 already there
    rate = next(r for m, r in rows.items() if "post" in m)
    assert rate["unit"] == "rows/s" and rate["value"] > 0 and "ok" not in rate


def test_the_generated_file_is_what_another_system_exports():
    from bench.imports import HEADER, patients_csv

    text = patients_csv(5).decode()
    lines = text.splitlines()
    assert lines[0] == HEADER and len(lines) == 6
    assert patients_csv(5) == patients_csv(5)  # the same file every run: importing it twice is the test
