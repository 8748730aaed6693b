"""A tiny threaded HTTP server on 127.0.0.1 for tests that need a misbehaving clearing house (one that
drips, floods, redirects or answers HTML): `with local_server(handle) as url:`, where
`handle(request)` writes the whole answer; `url.hits` lists the paths asked for."""

from __future__ import annotations

import contextlib
import http.server
import threading


class ServerUrl(str):
    hits: list[str]


@contextlib.contextmanager
def local_server(handle, *, http10: bool = False):
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0" if http10 else "HTTP/1.1"

        def _any(self):
            hits.append(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            self.body = self.rfile.read(length) if length else b""
            try:
                handle(self)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client hung up: what the tests want it to do

        do_GET = do_POST = _any

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = ServerUrl(f"http://127.0.0.1:{server.server_address[1]}")
    url.hits = hits
    try:
        yield url
    finally:
        server.shutdown()
        server.server_close()


def send(request, status: int, body: bytes | str = b"", content_type: str = "application/json", **headers) -> None:
    data = body.encode() if isinstance(body, str) else body
    request.send_response(status)
    request.send_header("Content-Type", content_type)
    headers = {name.replace("_", "-"): value for name, value in headers.items()}
    headers.setdefault("Content-Length", str(len(data)))
    for name, value in headers.items():
        request.send_header(name, value)
    request.end_headers()
    request.wfile.write(data)
