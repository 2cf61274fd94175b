"""A loopback HTTP server that serves calendar fixtures the way feeds do."""

from __future__ import annotations

import hashlib
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

HANG_SECONDS = 2.0  # seconds /hang waits before it responds


@dataclass
class FeedServer:
    """The base URL of a running server and the requests it received."""

    url: str
    requests: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)

    def feed_url(self, name: str) -> str:
        return f"{self.url}calendars/{name}"


def _handler_class(folder: Path, record: FeedServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            """Keep the test output quiet."""

        def do_OPTIONS(self) -> None:
            record.requests.append(("OPTIONS", self.path, dict(self.headers)))
            self.send_response(200)
            self.send_header("Allow", "GET, HEAD, OPTIONS")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_GET(self) -> None:
            record.requests.append((self.command, self.path, dict(self.headers)))
            path = self.path.rstrip("/")
            if self.path.startswith("/calendars/"):
                self._send_file(folder / self.path.removeprefix("/calendars/"))
            elif path.startswith("/status/"):
                self._send_status(int(path.removeprefix("/status/")))
            elif path == "/hang":
                time.sleep(HANG_SECONDS)
                self._send_status(200)
            elif path == "/endless":
                self._send_endless()
            elif path == "/plain-calendar":
                body = (folder / "rdate_plain.ics").read_bytes()
                self._send(200, body, "application/octet-stream")
            elif path == "/html":
                self._send(200, b"<html><body>Sign in</body></html>", "text/html")
            else:
                self._send_status(404)

        # CalDAV clients pointed at this server get the same responses.
        do_PROPFIND = do_GET
        do_REPORT = do_GET

        def _send_file(self, path: Path) -> None:
            if not path.is_file():
                self._send_status(404)
                return
            body = path.read_bytes()
            etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
            if self.headers.get("If-None-Match") == etag:
                self.send_response(304)
                self.send_header("ETag", etag)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            content_type = "text/calendar" if path.suffix == ".ics" else "text/plain"
            self._send(200, body, content_type, {"ETag": etag})

        def _send_status(self, status: int) -> None:
            extra = {"Retry-After": "120"} if status in (429, 503) else {}
            self._send(status, b"status page", "text/plain", extra)

        def _send_endless(self) -> None:
            # No Content-Length: the client only learns the size by reading.
            self.send_response(200)
            self.send_header("Content-Type", "text/calendar")
            self.send_header("Connection", "close")
            self.end_headers()
            chunk = b"X-FILLER:" + b"x" * 1000 + b"\r\n"
            try:
                for _ in range(5000):
                    self.wfile.write(chunk)
            except (BrokenPipeError, ConnectionResetError):
                return

        def _send(
            self,
            status: int,
            body: bytes,
            content_type: str,
            headers: dict[str, str] | None = None,
        ) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

    return Handler


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def handle_error(self, request: object, client_address: object) -> None:
        """Ignore clients that hung up, as the timeout and size tests do."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


@contextmanager
def serve_folder(folder: Path) -> Iterator[FeedServer]:
    """Serve ``folder`` under /calendars/ on a free loopback port."""
    record = FeedServer(url="")
    server = _QuietServer(("127.0.0.1", 0), _handler_class(folder, record))
    record.url = f"http://127.0.0.1:{server.server_address[1]}/"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield record
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
