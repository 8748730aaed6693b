"""Stripe's request bodies: application/x-www-form-urlencoded with bracketed keys
(`line_items[0][price_data][unit_amount]=1000`, `metadata[patient]=5`), made nested again."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

_PART = re.compile(r"\[([^\]]*)\]")


def parse_form(body: str) -> dict[str, Any]:
    root: dict[str, Any] = {}
    for key, value in parse_qsl(body, keep_blank_values=True):
        head, _, rest = key.partition("[")
        parts = [head, *_PART.findall("[" + rest)] if rest else [head]
        node: Any = root
        for here, following in zip(parts, parts[1:] + [None]):
            slot: Any = int(here) if isinstance(node, list) and here.isdigit() else here
            if following is None:
                _put(node, slot, value)
                break
            child = _get(node, slot)
            if child is None:
                child = [] if following.isdigit() or following == "" else {}
                _put(node, slot, child)
            node = child
    return root


def _get(node, slot):
    if isinstance(node, list):
        return node[slot] if isinstance(slot, int) and slot < len(node) else None
    return node.get(slot)


def _put(node, slot, value) -> None:
    if isinstance(node, list):
        if slot == "" or not isinstance(slot, int):
            node.append(value)
            return
        while len(node) <= slot:
            node.append(None)
        node[slot] = value
    else:
        node[slot] = value
