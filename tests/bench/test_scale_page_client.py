"""bench.scale.PageClient: the thin client the scale benchmark times pages with."""

from __future__ import annotations

import http.server
import threading

import pytest

from bench.scale import PageClient, floor_ms


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    seen_cookies: list[str | None] = []

    def do_GET(self):  # noqa: N802 (http.server's name)
        type(self).seen_cookies.append(self.headers.get("Cookie"))
        body = b"gone" if self.path == "/close" else b"hello"
        self.send_response(404 if self.path == "/missing" else 200)
        self.send_header("Content-Length", str(len(body)))
        if self.path == "/close":
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    _Handler.seen_cookies = []
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_get_sends_the_session_cookies_and_returns_status_and_body(server):
    client = PageClient(server, {"sessionid": "abc", "csrftoken": "xyz"})
    elapsed, status, body = client.get_ms("/page")
    assert (status, body) == (200, b"hello")
    assert elapsed > 0
    assert _Handler.seen_cookies == ["sessionid=abc; csrftoken=xyz"]
    assert client.get_ms("/missing")[1] == 404
    client.close()


def test_a_connection_the_server_closes_is_opened_again(server):
    client = PageClient(server, {})
    assert client.get_ms("/close")[1:] == (200, b"gone")
    assert client.connection is None
    assert client.get_ms("/page")[1:] == (200, b"hello")
    client.close()


def test_floor_is_the_median_of_static_gets(server):
    assert 0 < floor_ms(server, "/static/x.svg", rounds=5) < 1000
