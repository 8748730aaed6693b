"""A tiny WSGI toolkit: request parsing, FHIR error answers, and a router."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

from sandbox import fhir

MAX_BODY_BYTES = 1024 * 1024

STATUS_TEXT = {
    200: "OK",
    201: "Created",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    411: "Length Required",
    413: "Payload Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Entity",
    500: "Internal Server Error",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


class HttpError(Exception):
    """An answer with a FHIR OperationOutcome naming the problem."""

    def __init__(
        self,
        status: int,
        code: str,
        diagnostics: str,
        expression: str | None = None,
        headers: dict[str, str] | None = None,
        issues: list[tuple[str, str, str | None]] | None = None,
    ):
        super().__init__(diagnostics)
        self.status = status
        self.issues = issues or [(code, diagnostics, expression)]
        self.headers = headers or {}


@dataclasses.dataclass
class Response:
    status: int
    body: bytes
    content_type: str = fhir.FHIR_JSON
    headers: dict[str, str] = dataclasses.field(default_factory=dict)


def fhir_response(resource: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(status, fhir.dumps(resource), fhir.FHIR_JSON, headers or {})


def json_response(document: Any, status: int = 200) -> Response:
    return Response(status, fhir.dumps(document), "application/json")


def error_response(error: HttpError) -> Response:
    return fhir_response(fhir.operation_outcome(error.issues), error.status, error.headers)


class Request:
    def __init__(self, environ: dict[str, Any]):
        self.environ = environ
        self.method = environ.get("REQUEST_METHOD", "GET").upper()
        self.path = environ.get("PATH_INFO", "/") or "/"
        self.path_params: dict[str, str] = {}
        self.context: dict[str, Any] = {}
        self._body: bytes | None = None

    def header(self, name: str) -> str | None:
        key = "HTTP_" + name.upper().replace("-", "_")
        if name.lower() == "content-type":
            key = "CONTENT_TYPE"
        value = self.environ.get(key)
        return value.strip() if isinstance(value, str) and value.strip() else None

    @property
    def base_url(self) -> str:
        scheme = self.environ.get("wsgi.url_scheme", "http")
        host = self.environ.get("HTTP_HOST") or f"{self.environ.get('SERVER_NAME')}:{self.environ.get('SERVER_PORT')}"
        return f"{scheme}://{host}{self.environ.get('SCRIPT_NAME', '')}"

    @property
    def media_type(self) -> str:
        return (self.header("content-type") or "").split(";")[0].strip().lower()

    def body(self) -> bytes:
        if self._body is None:
            declared = self.environ.get("CONTENT_LENGTH") or ""
            try:
                length = int(declared) if declared.strip() else None
            except ValueError:
                raise HttpError(400, "invalid", "Content-Length is not a number") from None
            if length is not None and length > MAX_BODY_BYTES:
                raise HttpError(413, "too-long", f"Request body is {length} bytes; the limit is {MAX_BODY_BYTES}")
            stream = self.environ["wsgi.input"]
            # Read one byte past the limit so a body without Content-Length is caught too.
            data = stream.read(length if length is not None else MAX_BODY_BYTES + 1)
            if len(data) > MAX_BODY_BYTES:
                raise HttpError(413, "too-long", f"Request body is larger than {MAX_BODY_BYTES} bytes")
            self._body = data
        return self._body

    def form(self) -> dict[str, str]:
        """A search body: application/x-www-form-urlencoded (query string parameters also count)."""
        has_body = self.method == "POST" and bool(self.body())
        if has_body and self.media_type != "application/x-www-form-urlencoded":
            raise HttpError(
                415, "not-supported", "Search requests must be POST with Content-Type application/x-www-form-urlencoded"
            )
        try:
            text = self.body().decode("utf-8") if has_body else ""
        except UnicodeDecodeError:
            raise HttpError(400, "invalid", "Form body is not UTF-8") from None
        values = {key: items[-1] for key, items in parse_qs(self.environ.get("QUERY_STRING", "")).items()}
        values.update({key: items[-1] for key, items in parse_qs(text, keep_blank_values=False).items()})
        return values

    def json(self, expected_types: tuple[str, ...] = ("application/fhir+json", "application/json")) -> Any:
        if self.media_type not in expected_types:
            raise HttpError(
                415,
                "not-supported",
                f"Content-Type must be one of {', '.join(expected_types)}, not '{self.media_type or 'none'}'",
            )
        raw = self.body()
        try:
            return fhir.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise HttpError(400, "structure", f"Body is not valid JSON: {exc}") from None


Handler = Callable[[Request], Response]


class Router:
    def __init__(self) -> None:
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []

    def add(self, method: str, pattern: str, handler: Handler) -> None:
        regex = re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern) + "$")
        self._routes.append((method, regex, handler))

    def resolve(self, request: Request) -> Handler:
        allowed = []
        for method, regex, handler in self._routes:
            match = regex.match(request.path)
            if match:
                if method == request.method:
                    request.path_params = match.groupdict()
                    return handler
                allowed.append(method)
        if allowed:
            raise HttpError(
                405,
                "not-supported",
                f"{request.method} is not allowed on {request.path}; use {', '.join(allowed)}",
                headers={"Allow": ", ".join(allowed)},
            )
        raise HttpError(404, "not-found", f"No endpoint at {request.path}")


def paging(values: dict[str, str], default_count: int = 20, max_count: int = 100) -> tuple[int, int]:
    try:
        page = int(values.get("page", "1"))
        count = int(values.get("count", str(default_count)))
    except ValueError:
        raise HttpError(400, "invalid", "page and count must be whole numbers") from None
    if page < 1 or not 1 <= count <= max_count:
        raise HttpError(400, "invalid", f"page must be at least 1 and count between 1 and {max_count}")
    return page, count
