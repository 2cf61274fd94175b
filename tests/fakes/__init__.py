"""Loopback fakes of outside services, served by a small threaded HTTP server."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
from dateutil.rrule import rrulestr
from requests import PreparedRequest, Response
from requests.adapters import HTTPAdapter

from tests.fakes.tls import TlsFiles


@dataclass
class FakeRequest:
    """One HTTP request as a fake received it."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """Decode the body as JSON."""
        return json.loads(self.body or b"null")

    def form(self) -> dict[str, str]:
        """Decode an ``application/x-www-form-urlencoded`` body."""
        fields = parse_qs(self.body.decode(), keep_blank_values=True)
        return {name: values[0] for name, values in fields.items()}

    def arg(self, name: str) -> str | None:
        """Return the first value of a query parameter, or None."""
        values = self.query.get(name)
        return values[0] if values else None


@dataclass
class FakeResponse:
    """A reply; ``body`` is JSON-encoded unless it is already bytes."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[FakeRequest], FakeResponse | None]
"""Turns a request into a reply; None drops the connection without one."""


class LoopbackServer:
    """A threaded HTTP(S) server on 127.0.0.1 and a free port."""

    def __init__(self, handler: Handler, tls: TlsFiles | None = None) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(handler))
        self._server.daemon_threads = True
        self.scheme = "http"
        if tls is not None:
            context = tls.server_context()
            self._server.socket = context.wrap_socket(
                self._server.socket, server_side=True
            )
            self.scheme = "https"
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )

    @property
    def base_url(self) -> str:
        """The root URL, without a trailing slash."""
        port = self._server.server_address[1]
        return f"{self.scheme}://127.0.0.1:{port}"

    def start(self) -> None:
        """Serve requests on a background thread."""
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and close the listening socket."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def _make_handler(handler: Handler) -> type[BaseHTTPRequestHandler]:
    class _RequestHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            parts = urlsplit(self.path)
            request = FakeRequest(
                method=self.command,
                path=parts.path,
                query=parse_qs(parts.query, keep_blank_values=True),
                headers={name.lower(): value for name, value in self.headers.items()},
                body=body,
            )
            response = handler(request)
            if response is None:
                self.close_connection = True
                return
            self._write(response)

        def _write(self, response: FakeResponse) -> None:
            if response.body is None:
                payload = b""
            elif isinstance(response.body, bytes):
                payload = response.body
            else:
                payload = json.dumps(response.body).encode()
            self.send_response(response.status)
            headers = {"Content-Type": "application/json; charset=UTF-8"}
            headers.update(response.headers)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = _serve

        def log_message(self, format: str, *args: object) -> None:
            """Keep test output quiet."""

    return _RequestHandler


def expand_occurrences(
    start: datetime,
    duration: timedelta,
    rules: list[str],
    window_start: datetime,
    window_end: datetime,
    excluded: frozenset[datetime] = frozenset(),
) -> list[datetime]:
    """Expand RRULE and RDATE lines from a zoned ``start``; return UTC starts.

    ``excluded`` contains UTC instants to leave out (EXDATEs).

    Occurrences keep their wall-clock time in ``start``'s zone across DST
    changes, the way calendar servers expand a zoned series.
    """
    zone = start.tzinfo
    assert zone is not None, "expand_occurrences needs a zoned start"
    naive_start = start.replace(tzinfo=None)
    ruleset = rrulestr("\n".join(rules), dtstart=naive_start, forceset=True)

    # Search a day beyond the window in local terms, then filter on instants.
    local_from = (window_start - duration).astimezone(zone).replace(tzinfo=None)
    local_to = window_end.astimezone(zone).replace(tzinfo=None)
    candidates = ruleset.between(
        local_from - timedelta(days=1), local_to + timedelta(days=1), inc=True
    )
    starts = []
    for local in candidates:
        instant = local.replace(tzinfo=zone).astimezone(UTC)
        if instant in excluded:
            continue
        if instant < window_end and instant + duration > window_start:
            starts.append(instant)
    return starts


class _LoopbackOnlyAdapter(HTTPAdapter):
    """Fail any request to a host other than 127.0.0.1."""

    def send(self, request: PreparedRequest, *args: Any, **kwargs: Any) -> Response:
        host = urlsplit(request.url or "").hostname
        if host != "127.0.0.1":
            raise AssertionError(
                f"a test tried to reach {host}; only loopback is allowed"
            )
        return super().send(request, *args, **kwargs)


def loopback_session(tls: TlsFiles) -> requests.Session:
    """Build a requests session that trusts the fakes' certificate, loopback only.

    ``trust_env`` is off so that a ``REQUESTS_CA_BUNDLE`` in the environment
    cannot replace ``verify``.
    """
    session = requests.Session()
    session.trust_env = False
    session.verify = str(tls.cert)
    adapter = _LoopbackOnlyAdapter()
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session
