"""Imports say where a module stands: at the top of the file. An import inside a function hides a
dependency (and often a cycle) from the reader and from import-linter's layers, so one of
openpractice's own modules is imported inside a function only with a comment, on that line or
the line above, saying why (a heavy optional module, or a registry filled at start-up)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "openpractice"


def _comment_above(lines: list[str], index: int) -> bool:
    """A comment on the line above, or above the group of imports this one belongs to."""
    index -= 1
    while index >= 0 and lines[index].strip().startswith(("from ", "import ")):
        index -= 1
    return index >= 0 and lines[index].strip().startswith("#")


def _function_imports(path: Path):
    source = path.read_text()
    lines = source.splitlines()
    tree = ast.parse(source)
    for function in ast.walk(tree):
        if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for node in ast.walk(function):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            if not any(name == "openpractice" or name.startswith("openpractice.") for name in names):
                continue
            here = lines[node.lineno - 1]
            if "#" in here or _comment_above(lines, node.lineno - 1):
                continue
            yield f"{path.relative_to(ROOT.parent)}:{node.lineno}: {here.strip()}"


def test_function_level_imports_say_why():
    unexplained = [
        found
        for path in sorted(ROOT.rglob("*.py"))
        if "migrations" not in path.parts
        for found in _function_imports(path)
    ]
    assert not unexplained, "Imports inside a function without a comment saying why:\n" + "\n".join(unexplained)
