"""Command line: ``python -m stripe_stub --host 127.0.0.1 --port 8200 --admin-token TOKEN``."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from stripe_stub.app import StripeStub


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stripe_stub", description="A local Stripe stub for OpenPractice")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8200)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument(
        "--admin-token",
        default=os.environ.get("STRIPE_STUB_ADMIN_TOKEN"),
        help="enables the /_stub test hooks (default: $STRIPE_STUB_ADMIN_TOKEN)",
    )
    parser.add_argument("--data-dir", type=Path, default=None, help="keep the stub's state here across restarts")
    arguments = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    import waitress

    state = arguments.data_dir / "stripe-stub.json" if arguments.data_dir else None
    application = StripeStub(admin_token=arguments.admin_token, state_file=state)
    print(f"Stripe stub on http://{arguments.host}:{arguments.port}", flush=True)
    waitress.serve(
        application, host=arguments.host, port=arguments.port, threads=arguments.threads, ident="stripe-stub"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
