"""Benchmarks: `python -m bench` (or `make bench`) runs every registered entry and prints a table.

An entry is a function returning a list of Result rows, registered with @register("name").
Entries take `quick: bool` (small sizes for CI-time runs)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

REGISTRY: dict[str, Callable[..., list["Result"]]] = {}


@dataclasses.dataclass
class Result:
    name: str
    value: float
    unit: str
    target: str = ""
    ok: bool | None = None
    detail: str = ""


def register(name: str):
    def wrap(function):
        REGISTRY[name] = function
        return function
    return wrap
