"""Start the sandbox as a subprocess for tests (this project's and OpenPractice's).

    from sandbox.testing import start_sandbox
    sandbox = start_sandbox(tmp_path)          # free port, frozen clock, admin token set
    ... httpx calls to sandbox.url ...
    sandbox.stop()

Also ``example_claim()``: a Claim for a demo member that passes validation, built with
the mapping in docs/sandbox.md, for tests to adjust.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from sandbox import fhir, seed
from sandbox.claim_mapping import (
    SYSTEM_BILL_ID,
    SYSTEM_CCSD,
    SYSTEM_HEALTHCODE_IDENTIFIER,
    SYSTEM_ICD10,
    SYSTEM_INSURER,
    SYSTEM_INVOICE_NUMBER,
    SYSTEM_INVOICE_VERSION,
    SYSTEM_ISC,
    SYSTEM_LOCATION_600,
    SYSTEM_MEMBERSHIP_NUMBER,
    SYSTEM_RELATED_CLAIM,
    SYSTEM_SETTING,
)

PACKAGE_ROOT = Path(__file__).resolve().parent.parent

_FAULT_FLAGS = {
    "latency_ms": "--latency-ms",
    "error_rate": "--error-rate",
    "timeout_rate": "--timeout-rate",
    "timeout_seconds": "--timeout-seconds",
    "drop_rate": "--drop-rate",
    "expired_token_rate": "--expired-token-rate",
    "fault_seed": "--fault-seed",
    "after_processing_rate": "--after-processing-rate",
}


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


@dataclasses.dataclass
class SandboxProcess:
    url: str
    admin_token: str
    data_dir: Path
    process: subprocess.Popen
    arguments: list[str]
    log_path: Path
    site_id: str = seed.DEMO_SITE_ID
    client_id: str = seed.DEMO_CLIENT_ID
    client_secret: str = seed.DEMO_CLIENT_SECRET

    @property
    def admin_headers(self) -> dict[str, str]:
        return {"X-Sandbox-Admin-Token": self.admin_token}

    def stop(self, timeout: float = 10.0) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)

    def restart(self, timeout: float = 20.0) -> SandboxProcess:
        """Stop and start again with the same arguments and data (same port)."""
        self.stop()
        self.process = _launch(self.arguments, self.log_path)
        _wait_until_ready(self.url, self.process, self.log_path, timeout)
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def start_sandbox(
    tmp_dir: Path | str,
    port: int | None = None,
    *,
    admin_token: str | None = None,
    clock_mode: str = "frozen",
    clock_start: str | None = None,
    token_lifetime: int = 3600,
    duplicate_remittances: bool = False,
    timeout: float = 20.0,
    **faults: Any,
) -> SandboxProcess:
    """Start ``python -m sandbox`` on 127.0.0.1 with its data in ``tmp_dir`` and wait for it.

    ``faults`` are latency_ms, error_rate, timeout_rate, timeout_seconds, drop_rate,
    expired_token_rate and fault_seed; they apply to this run only.
    """
    unknown = set(faults) - set(_FAULT_FLAGS)
    if unknown:
        raise TypeError(f"unknown fault option(s): {', '.join(sorted(unknown))}")
    data_dir = Path(tmp_dir) / "sandbox-data"
    admin_token = admin_token or secrets.token_hex(16)
    # "--option=value" so a value starting with "-" is not read as an option.
    options = [
        "--data-dir",
        str(data_dir),
        f"--admin-token={admin_token}",
        "--clock",
        clock_mode,
        "--token-lifetime",
        str(token_lifetime),
        "--threads",
        "8",
    ]
    if clock_start:
        options += ["--clock-start", clock_start]
    if duplicate_remittances:
        options.append("--duplicate-remittances")
    for name, value in faults.items():
        options += [_FAULT_FLAGS[name], str(value)]
    # A free port can be taken by another process before the sandbox binds it: try again
    # on a new port (only when the caller did not ask for a particular one).
    attempts = 1 if port else 3
    for attempt in range(attempts):
        chosen_port = port or free_port()
        arguments = [sys.executable, "-m", "sandbox", "--host", "127.0.0.1", "--port", str(chosen_port), *options]
        log_path = Path(tmp_dir) / f"sandbox-{chosen_port}.log"
        process = _launch(arguments, log_path)
        url = f"http://127.0.0.1:{chosen_port}"
        try:
            _wait_until_ready(url, process, log_path, timeout)
        except RuntimeError:
            if attempt + 1 == attempts or "address already in use" not in log_path.read_text(errors="replace").lower():
                raise
            continue
        return SandboxProcess(url, admin_token, data_dir, process, arguments, log_path)
    raise AssertionError("unreachable")


def _launch(arguments: list[str], log_path: Path) -> subprocess.Popen:
    environment = dict(os.environ)
    environment["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PACKAGE_ROOT), environment.get("PYTHONPATH")]))
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log_file:
        return subprocess.Popen(
            arguments,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            cwd=PACKAGE_ROOT,
            env=environment,
            stdin=subprocess.DEVNULL,
        )


def _wait_until_ready(url: str, process: subprocess.Popen, log_path: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"sandbox exited with {process.returncode}: {log_path.read_text(errors='replace')}")
        try:
            with urllib.request.urlopen(f"{url}/.well-known/discovery-document.json", timeout=1) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.05)
    process.terminate()
    raise RuntimeError(f"sandbox did not start within {timeout} s: {log_path.read_text(errors='replace')}")


_invoice_numbers = itertools.count(1)


def unique_invoice(prefix: str = "T") -> str:
    """Short (AXA allows 10 characters) and unique within this process."""
    return f"{prefix}{next(_invoice_numbers):06d}"


class SandboxApi:
    """A minimal client: discovery, client-credentials token, SU-SiteId and HC-API-Version on every call."""

    def __init__(self, sandbox: SandboxProcess, timeout: float = 10.0):
        self.sandbox = sandbox
        self.http = httpx.Client(base_url=sandbox.url, timeout=timeout)
        self.endpoints = self.http.get("/.well-known/discovery-document.json").json()
        self.token = self.fetch_token()

    def fetch_token(self, client_id: str | None = None, client_secret: str | None = None) -> str:
        answer = self.http.post(
            self.endpoints["token_endpoint"],
            data={
                "grant_type": "client_credentials",
                "client_id": client_id or self.sandbox.client_id,
                "client_secret": client_secret or self.sandbox.client_secret,
            },
        )
        assert answer.status_code == 200, answer.text
        return answer.json()["access_token"]

    def headers(self, **extra: str) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self.token}",
            "SU-SiteId": self.sandbox.site_id,
            "HC-API-Version": "1",
            **extra,
        }

    def search(self, endpoint_key: str, **form: Any) -> httpx.Response:
        return self.http.post(
            self.endpoints[endpoint_key], data={k: str(v) for k, v in form.items()}, headers=self.headers()
        )

    def submit(self, claim: dict[str, Any], idempotency_key: str | None = None) -> httpx.Response:
        extra = {"Content-Type": "application/fhir+json"}
        if idempotency_key:
            extra["Idempotency-Key"] = idempotency_key
        return self.http.post(
            self.endpoints["submit_claim_endpoint"], content=fhir.dumps(claim), headers=self.headers(**extra)
        )

    def bill(self, bill_id: str) -> dict[str, Any]:
        answer = self.search("claim_status_endpoint", billId=bill_id)
        assert answer.status_code == 200, answer.text
        entries = answer.json()["entry"]
        assert len(entries) == 1
        return entries[0]["resource"]

    def advance(self, seconds: float) -> str:
        answer = self.http.post(
            "/_sandbox/clock/advance", json={"seconds": seconds}, headers=self.sandbox.admin_headers
        )
        assert answer.status_code == 200, answer.text
        return answer.json()["now"]

    def today(self) -> dt.date:
        answer = self.http.get("/_sandbox/clock", headers=self.sandbox.admin_headers)
        return dt.date.fromisoformat(answer.json()["now"][:10])

    def close(self) -> None:
        self.http.close()


def bill_status(bill: dict[str, Any]) -> str:
    return next(e["valueString"] for e in bill["extension"] if e["url"].endswith("/bill-status"))


def errors_of(bill: dict[str, Any]) -> list[dict[str, Any]]:
    """Field / Error / Suggestion triples (plus rule id and line) from a ClaimResponse."""
    found = []
    for entry in bill.get("error", []):
        by_name = {
            e["url"].rsplit("/", 1)[-1]: next(v for k, v in e.items() if k.startswith("value"))
            for e in entry["extension"]
        }
        found.append(
            {
                "rule": entry["code"]["coding"][0]["code"],
                "error": entry["code"]["text"],
                "field": by_name["error-field"],
                "suggestion": by_name["error-suggestion"],
                "level": by_name["error-level"],
                "line": entry.get("itemSequence"),
            }
        )
    return found


def assert_operation_outcome(answer: httpx.Response, status: int, mentions: str) -> None:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/fhir+json")
    outcome = answer.json()
    assert outcome["resourceType"] == "OperationOutcome"
    text = " ".join(
        issue.get("diagnostics", "") + " " + " ".join(issue.get("expression", [])) for issue in outcome["issue"]
    )
    assert mentions.lower() in text.lower(), text
    assert "Traceback" not in answer.text


def example_claim(
    *,
    invoice_number: str = "INV1001",
    invoice_version: str | None = None,
    insurer: str = "bup",
    membership_number: str = "10000001",
    first_name: str = "Oliver",
    last_name: str = "Bennett",
    birth_date: str = "1980-04-12",
    postcode: str = "SW1A 1AA",
    service_date: dt.date | str | None = None,
    provider: str = "0651978",
    location: str | None = "600123456",
    setting: str = "O",
    diagnosis: str | None = "M17.1",
    auth_code: str | None = None,
    payee: str | None = None,
    replaces: str | None = None,
    lines: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A Claim for a demo member that passes validation (by default, Bupa, one consultation).

    Amounts are Decimal: send it with ``sandbox.fhir.dumps`` so they stay exact JSON numbers."""
    day = str(service_date or dt.date.today())
    lines = lines or [{"isc": "SCON1", "ccsd": "20300", "unit_price": "180.00", "quantity": 1}]
    items = []
    for index, line in enumerate(lines, start=1):
        coding = []
        if line.get("isc"):
            coding.append({"system": SYSTEM_ISC, "code": line["isc"]})
        if line.get("ccsd"):
            coding.append({"system": SYSTEM_CCSD, "code": line["ccsd"]})
        quantity = int(line.get("quantity", 1))
        unit_price = Decimal(str(line["unit_price"]))
        net = Decimal(str(line["net"])) if "net" in line else (unit_price * quantity).quantize(Decimal("0.01"))
        items.append(
            {
                "sequence": index,
                "productOrService": {"coding": coding},
                "servicedDate": str(line.get("date") or day),
                "quantity": {"value": quantity},
                "unitPrice": {"value": unit_price, "currency": "GBP"},
                "net": {"value": net, "currency": "GBP"},
            }
        )
    identifiers = [{"system": SYSTEM_INVOICE_NUMBER, "value": invoice_number}]
    if invoice_version:
        identifiers.append({"system": SYSTEM_INVOICE_VERSION, "value": invoice_version})
    claim: dict[str, Any] = {
        "resourceType": "Claim",
        "contained": [
            {
                "resourceType": "Patient",
                "id": "patient",
                "name": [{"family": last_name, "given": [first_name]}],
                "birthDate": birth_date,
                "address": [{"postalCode": postcode}],
            }
        ],
        "identifier": identifiers,
        "status": "active",
        "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/claim-type", "code": "professional"}]},
        "subType": {"coding": [{"system": SYSTEM_SETTING, "code": setting}]},
        "use": "claim",
        "patient": {"reference": "#patient"},
        "billablePeriod": {"start": day},
        "created": day,
        "insurer": {"identifier": {"system": SYSTEM_INSURER, "value": insurer}},
        "provider": {"identifier": {"system": SYSTEM_HEALTHCODE_IDENTIFIER, "value": provider}},
        "priority": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/processpriority", "code": "normal"}]},
        "payee": {
            "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/payeetype", "code": "provider"}]},
            "party": {"identifier": {"system": SYSTEM_HEALTHCODE_IDENTIFIER, "value": provider}},
        },
        "insurance": [
            {
                "sequence": 1,
                "focal": True,
                "coverage": {"identifier": {"system": SYSTEM_MEMBERSHIP_NUMBER, "value": membership_number}},
            }
        ],
        "item": items,
        "total": {"value": sum((item["net"]["value"] for item in items), Decimal("0.00")), "currency": "GBP"},
    }
    if auth_code:
        claim["insurance"][0]["preAuthRef"] = [auth_code]
    if payee:
        system = SYSTEM_LOCATION_600 if payee.startswith("600") else SYSTEM_HEALTHCODE_IDENTIFIER
        claim["payee"]["party"] = {"identifier": {"system": system, "value": payee}}
    if replaces:
        claim["related"] = [
            {
                "claim": {"identifier": {"system": SYSTEM_BILL_ID, "value": replaces}},
                "relationship": {"coding": [{"system": SYSTEM_RELATED_CLAIM, "code": "prior"}]},
            }
        ]
    if location:
        claim["facility"] = {"identifier": {"system": SYSTEM_LOCATION_600, "value": location}}
    if diagnosis:
        claim["diagnosis"] = [
            {"sequence": 1, "diagnosisCodeableConcept": {"coding": [{"system": SYSTEM_ICD10, "code": diagnosis}]}}
        ]
    return claim
