"""The edge: security headers on every answer, and bodies over the size limit refused from the
Content-Length alone (413 naming the limit), with the test client and over a real socket."""

from __future__ import annotations

import json
import socket
import time
from urllib.parse import urlsplit

import pytest
from django.test import Client

from openpractice.edge_middleware import human_size

STRICT = (
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "object-src 'none'",
    "frame-ancestors 'none'",
    "base-uri 'self'",
    "form-action 'self'",
)


@pytest.mark.parametrize(
    "url",
    [
        "/accounts/login/",
        "/",
        "/patients/",
        "/reports/aged-debt/",
        "/api/v1/me",
        "/api/v1/openapi.json",
        "/no-such-page/",
    ],
)
def test_every_answer_carries_the_security_headers(owner_client, url):
    response = owner_client.get(url)
    policy = response["Content-Security-Policy"]
    for directive in STRICT:
        assert directive in policy, (url, directive)
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert "camera=()" in response["Permissions-Policy"]


def test_allowed_hosts_has_no_test_only_names_by_default():
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "ALLOWED_HOSTS"}
    out = subprocess.run(
        [sys.executable, "-c", "import openpractice.settings as s; print(s.ALLOWED_HOSTS)"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    assert "testserver" not in out and "localhost" in out


def test_a_body_over_the_limit_is_refused_before_it_is_read(owner_client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 4096
    answer = owner_client.post("/patients/new/", {"first_name": "x" * 5000})
    assert answer.status_code == 413
    assert "at most 4 KB" in answer.content.decode()
    api = Client(raise_request_exception=False)
    answer = api.post("/api/v1/locations", json.dumps({"name": "x" * 5000}), content_type="application/json")
    assert answer.status_code == 413 and answer["Content-Type"].startswith("application/json")
    assert answer.json()["detail"][0] == {
        "loc": ["body"],
        "type": "too_large",
        "msg": answer.json()["detail"][0]["msg"],
    }
    assert "at most 4 KB" in answer.json()["detail"][0]["msg"]


def test_uploads_have_their_own_limit(owner, practice, client_for, api_token_for, settings):
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 4096
    settings.UPLOAD_MAX_BYTES = 64 * 1024
    client = client_for(owner)
    # Over the general limit but under the upload limit: the import page reads it and answers.
    small = client.post("/remittances/import/", {"kind": "csv", "file": SimpleUploadedFile("r.csv", b"x" * 10_000)})
    assert small.status_code == 200
    big = client.post("/remittances/import/", {"kind": "csv", "file": SimpleUploadedFile("r.csv", b"x" * 70_000)})
    assert big.status_code == 413 and "at most 64 KB" in big.content.decode()
    big = client.post("/settings/coding/imports/new/", {"file": SimpleUploadedFile("c.csv", b"x" * 70_000)})
    assert big.status_code == 413
    # The API's base64 import: a JSON body over Django's own 4 KB limit but within the upload limit is
    # read (and answered on its merits), not refused by Django as "too big" later.
    headers = api_token_for(owner, practice)
    api = Client(raise_request_exception=False)
    body = json.dumps({"kind": "csv", "content_base64": "eA==" * 3000, "preview": True})
    answer = api.post("/api/v1/remittances/import", body, content_type="application/json", **headers)
    assert answer.status_code in (200, 422), answer.content[:300]
    body = json.dumps({"kind": "csv", "content_base64": "eA==" * 20_000, "preview": True})
    answer = api.post("/api/v1/remittances/import", body, content_type="application/json", **headers)
    assert answer.status_code == 413


def test_human_size_names_the_limit():
    assert human_size(25 * 1024 * 1024) == "25 MB" and human_size(2_621_440) == "2.5 MB"
    assert human_size(4096) == "4 KB" and human_size(10) == "10 bytes"


def _raw(live_server, request: bytes) -> tuple[bytes, float]:
    """One HTTP/1.1 exchange over a socket; the body announced is never (fully) sent."""
    host, port = urlsplit(live_server.url).hostname, urlsplit(live_server.url).port
    started = time.monotonic()
    with socket.create_connection((host, port), timeout=20) as sock:
        sock.sendall(request)
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
    return answer, time.monotonic() - started


def test_a_real_http_upload_over_the_limit_is_refused_from_its_headers(live_server):
    """Content-Length says 2 GB and only 1 KB follows: were the server reading the body it would
    wait for the rest (and time out); the answer is an immediate 413."""
    head = (
        f"POST /remittances/import/ HTTP/1.1\r\nHost: {urlsplit(live_server.url).netloc}\r\n"
        "Content-Type: multipart/form-data; boundary=xyz\r\nContent-Length: 2000000000\r\n"
        "Connection: close\r\n\r\n"
    ).encode()
    answer, seconds = _raw(live_server, head + b"x" * 1024)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert seconds < 10
    head = (
        f"POST /api/v1/locations HTTP/1.1\r\nHost: {urlsplit(live_server.url).netloc}\r\n"
        "Content-Type: application/json\r\nContent-Length: 50000000\r\nConnection: close\r\n\r\n"
    ).encode()
    answer, _ = _raw(live_server, head + b"{")
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]


def test_a_chunked_body_without_a_length_is_refused(live_server):
    head = (
        f"POST /api/v1/locations HTTP/1.1\r\nHost: {urlsplit(live_server.url).netloc}\r\n"
        "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        '5\r\n{"a":\r\n'
    ).encode()
    answer, seconds = _raw(live_server, head)
    assert answer.startswith(b"HTTP/1.1 411"), answer[:200]
    assert seconds < 10
