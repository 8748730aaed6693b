"""FHIR JSON helpers: encoding with exact decimals, OperationOutcome, paged Bundles."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from sandbox import NAMESPACE

FHIR_JSON = "application/fhir+json"
SYSTEM_PAGING_TAG = f"{NAMESPACE}/CodeSystem/paging"
EXTENSION_BASE = f"{NAMESPACE}/StructureDefinition"
_DECIMAL_MARK = "\u0000decimal:"
_DECIMAL_PLACEHOLDER = re.compile(r'"\\u0000decimal:(-?[0-9.]+)"')


def _encode_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        # JSON numbers must keep every digit: emit a placeholder string, then unquote it.
        return f"{_DECIMAL_MARK}{value}"
    raise TypeError(f"cannot encode {type(value).__name__}")


def dumps(document: Any, indent: int | None = None) -> bytes:
    separators = (",", ": ") if indent else (",", ":")
    text = json.dumps(document, default=_encode_default, ensure_ascii=True, separators=separators, indent=indent)
    return _DECIMAL_PLACEHOLDER.sub(r"\1", text).encode()


def loads(body: bytes) -> Any:
    return json.loads(body, parse_float=Decimal)


def money(amount: Decimal) -> dict[str, Any]:
    return {"value": amount.quantize(Decimal("0.01")), "currency": "GBP"}


def extension(name: str, **value: Any) -> dict[str, Any]:
    return {"url": f"{EXTENSION_BASE}/{name}", **value}


def operation_outcome(issues: Iterable[tuple[str, str, str | None]], severity: str = "error") -> dict[str, Any]:
    """issues: (FHIR issue type code, diagnostics, FHIRPath expression or None)."""
    rendered = []
    for code, diagnostics, expression in issues:
        issue: dict[str, Any] = {"severity": severity, "code": code, "diagnostics": diagnostics}
        if expression:
            issue["expression"] = [expression]
        rendered.append(issue)
    return {"resourceType": "OperationOutcome", "id": str(uuid.uuid4()), "issue": rendered}


def paging_tags(count: int, page: int, max_count: int) -> list[dict[str, str]]:
    return [
        {"system": SYSTEM_PAGING_TAG, "code": "count", "display": str(count)},
        {"system": SYSTEM_PAGING_TAG, "code": "page", "display": str(page)},
        {"system": SYSTEM_PAGING_TAG, "code": "maxCount", "display": str(max_count)},
    ]


def searchset(
    resources: list[dict[str, Any]],
    *,
    page: int,
    max_count: int,
    base_url: str,
    outcome: dict[str, Any] | None = None,
) -> dict[str, Any]:
    entries = [
        {
            "fullUrl": f"{base_url}/{resource['resourceType']}/{resource['id']}",
            "resource": resource,
            "search": {"mode": "match"},
        }
        for resource in resources
    ]
    if outcome is not None:
        entries.append({"fullUrl": f"urn:uuid:{outcome['id']}", "resource": outcome, "search": {"mode": "outcome"}})
    return {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "meta": {"tag": paging_tags(len(resources), page, max_count)},
        "type": "searchset",
        "total": max_count,
        "entry": entries,
    }
