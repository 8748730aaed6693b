"""Fault injection for reliability tests, set per run by CLI flags or the admin API.

Decisions come from one seeded random generator, so the same seed and the same sequence
of requests give the same faults. The configuration is kept in the database (so every
worker thread sees the same one) and replaced whenever the process starts with flags.
"""

from __future__ import annotations

import dataclasses
import json
import random
import sqlite3
import threading

from sandbox import db


@dataclasses.dataclass
class FaultConfig:
    latency_ms: int = 0  # added to every API answer
    error_rate: float = 0.0  # share of API calls answered 503
    timeout_rate: float = 0.0  # share of API calls that sleep timeout_seconds before answering
    timeout_seconds: float = 5.0
    drop_rate: float = 0.0  # share of API calls whose connection is closed without a reply
    expired_token_rate: float = 0.0  # share of API calls answered 401 "token expired"
    duplicate_remittances: bool = False  # deliver every remittance batch twice
    # Share of injected errors, timeouts and drops that strike after the request was
    # processed (the bill exists, the client never hears so): what makes retries need
    # idempotency.
    after_processing_rate: float = 0.5
    seed: int = 0
    # Not a fault but a test mode: when set, every bill is reported with this status word (one of
    # Healthcode's, or one it has not published yet), whatever its lifecycle says.
    reported_status: str = ""

    @classmethod
    def from_mapping(cls, values: dict[str, object]) -> FaultConfig:
        known = {field.name: field.type for field in dataclasses.fields(cls)}
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise ValueError(f"unknown fault setting(s): {', '.join(unknown)}")
        config = cls()
        for name, value in values.items():
            current = getattr(config, name)
            if isinstance(current, str):
                parsed = str(value).strip()[:40]
            elif isinstance(current, bool):
                parsed: object = value if isinstance(value, bool) else str(value).lower() in ("1", "true", "yes")
            elif isinstance(current, int):
                parsed = int(value)  # type: ignore[arg-type]
            else:
                parsed = float(value)  # type: ignore[arg-type]
            setattr(config, name, parsed)
        for rate in ("error_rate", "timeout_rate", "drop_rate", "expired_token_rate", "after_processing_rate"):
            if not 0.0 <= getattr(config, rate) <= 1.0:
                raise ValueError(f"{rate} must be between 0 and 1")
        if config.latency_ms < 0 or config.latency_ms > 60_000 or not 0 <= config.timeout_seconds <= 120:
            raise ValueError("latency_ms must be 0..60000 and timeout_seconds 0..120")
        return config

    def as_dict(self) -> dict[str, object]:
        return dataclasses.asdict(self)


def load(connection: sqlite3.Connection) -> FaultConfig:
    stored = db.get_setting(connection, "faults")
    return FaultConfig.from_mapping(json.loads(stored)) if stored else FaultConfig()


def save(connection: sqlite3.Connection, config: FaultConfig) -> None:
    db.put_setting(connection, "faults", json.dumps(config.as_dict()))


@dataclasses.dataclass(frozen=True)
class Decision:
    latency_ms: int = 0
    fault: str | None = None  # "error" | "timeout" | "drop" | "expired_token"
    sleep_seconds: float = 0.0
    after_processing: bool = False


class FaultInjector:
    """Draws one decision per API call from a generator seeded by the configuration."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._random = random.Random(0)
        self._seeded_with: str | None = None

    def decide(self, config: FaultConfig) -> Decision:
        with self._lock:
            fingerprint = json.dumps(config.as_dict(), sort_keys=True)
            if fingerprint != self._seeded_with:
                # A new configuration starts a new, reproducible sequence.
                self._random = random.Random(config.seed)
                self._seeded_with = fingerprint
            draw = self._random.random()
            after_processing = self._random.random() < config.after_processing_rate
        threshold = 0.0
        for fault, rate in (
            ("drop", config.drop_rate),
            ("timeout", config.timeout_rate),
            ("error", config.error_rate),
            ("expired_token", config.expired_token_rate),
        ):
            threshold += rate
            if draw < threshold:
                return Decision(
                    config.latency_ms,
                    fault,
                    config.timeout_seconds if fault == "timeout" else 0.0,
                    after_processing=after_processing and fault != "expired_token",
                )
        return Decision(config.latency_ms)
