"""Test files outside a package are imported by their bare name (pytest's default import mode), so
two of them with one name make the second an "import file mismatch" error: it is never run. A new
test file needs a name of its own."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_test_module_has_a_name_of_its_own():
    by_name = defaultdict(list)
    for folder in ("tests", "e2e"):
        for path in (ROOT / folder).rglob("test_*.py"):
            if not (path.parent / "__init__.py").exists():
                by_name[path.stem].append(str(path.relative_to(ROOT)))
    clashes = {name: paths for name, paths in by_name.items() if len(paths) > 1}
    assert not clashes, f"Test files sharing a module name (rename one): {clashes}"
