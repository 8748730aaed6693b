"""Run the stub in this process, on a thread, for tests:

from stripe_stub.testing import running_stub
with running_stub() as stub:          # stub.url, stub.app (the StripeStub: pay, send, accounts)
    ...
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
from collections.abc import Iterator
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from stripe_stub.app import StripeStub


@dataclasses.dataclass
class RunningStub:
    url: str
    app: StripeStub
    admin_token: str


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 -- the stdlib's name
        pass


@contextlib.contextmanager
def running_stub(
    *, admin_token: str = "stub-admin-test", deliver: bool = True, retry_delays: tuple[float, ...] = ()
) -> Iterator[RunningStub]:
    """`retry_delays`: none by default, so a test's failed delivery stays one delivery; give short
    ones to test the retries."""
    app = StripeStub(admin_token=admin_token, deliver=deliver, retry_delays=retry_delays)
    server = make_server("127.0.0.1", 0, app, server_class=_ThreadingServer, handler_class=_QuietHandler)
    app.base_url = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        yield RunningStub(app.base_url, app, admin_token)
    finally:
        app.stop_retries()
        server.shutdown()
        server.server_close()
        thread.join(5)
