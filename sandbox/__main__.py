"""Command line: ``python -m sandbox --host 127.0.0.1 --port 8100 --data-dir var/sandbox``."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from sandbox import clock, faults
from sandbox.app import create_app


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m sandbox", description="Healthcode-compatible sandbox clearing house"
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8100)
    parser.add_argument("--data-dir", type=Path, default=Path("var/sandbox"))
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument(
        "--admin-token",
        default=os.environ.get("SANDBOX_ADMIN_TOKEN"),
        help="enables /_sandbox admin endpoints (default: $SANDBOX_ADMIN_TOKEN)",
    )
    parser.add_argument("--token-lifetime", type=int, default=3600, help="bearer token lifetime in seconds")
    parser.add_argument(
        "--clock",
        choices=(clock.RUNNING, clock.FROZEN),
        default=clock.RUNNING,
        help="clock mode on first start (kept across restarts)",
    )
    parser.add_argument("--clock-start", default=None, help="ISO instant the clock starts at on first start")
    faults_group = parser.add_argument_group("fault injection (for this run)")
    faults_group.add_argument("--latency-ms", type=int, default=0)
    faults_group.add_argument("--error-rate", type=float, default=0.0, help="share of API calls answered 503")
    faults_group.add_argument("--timeout-rate", type=float, default=0.0)
    faults_group.add_argument("--timeout-seconds", type=float, default=5.0)
    faults_group.add_argument("--drop-rate", type=float, default=0.0)
    faults_group.add_argument("--expired-token-rate", type=float, default=0.0)
    faults_group.add_argument("--duplicate-remittances", action="store_true")
    faults_group.add_argument(
        "--after-processing-rate",
        type=float,
        default=0.5,
        help="share of injected errors/timeouts/drops that strike after the request was processed",
    )
    faults_group.add_argument("--fault-seed", type=int, default=0)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        fault_config = faults.FaultConfig.from_mapping(
            {
                "latency_ms": arguments.latency_ms,
                "error_rate": arguments.error_rate,
                "timeout_rate": arguments.timeout_rate,
                "timeout_seconds": arguments.timeout_seconds,
                "drop_rate": arguments.drop_rate,
                "expired_token_rate": arguments.expired_token_rate,
                "duplicate_remittances": arguments.duplicate_remittances,
                "seed": arguments.fault_seed,
                "after_processing_rate": arguments.after_processing_rate,
            }
        )
        clock_start = clock.parse_instant(arguments.clock_start) if arguments.clock_start else None
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    application = create_app(
        arguments.data_dir,
        admin_token=arguments.admin_token,
        token_lifetime_seconds=arguments.token_lifetime,
        clock_mode=arguments.clock,
        clock_start=clock_start,
        fault_config=fault_config,
    )
    import waitress

    print(f"Healthcode sandbox on http://{arguments.host}:{arguments.port} (data in {arguments.data_dir})", flush=True)
    waitress.serve(
        application,
        host=arguments.host,
        port=arguments.port,
        threads=arguments.threads,
        # Bodies over 1 MB get a FHIR 413 from the app; waitress only stops absurd ones.
        max_request_body_size=16 * 1024 * 1024,
        expose_tracebacks=False,
        ident="healthcode-sandbox",
        channel_timeout=60,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
