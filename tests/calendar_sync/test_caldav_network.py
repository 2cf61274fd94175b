"""The CalDAV adapter sends requests only to the host of the URL it was given.

A guard patches name lookups and socket connects, so anything aimed off
loopback is recorded and rejected. A loopback fake server responds to
discovery with hrefs and redirects that point at another host.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from calendar_sync.base import ReadOptions
from calendar_sync.caldav_source import CalDAVSource, discover_calendars
from calendar_sync.errors import CalendarError

from .cases import utc
from .servers import CalDAVServer
from .test_caldav import SESSION
from .uploads import new_calendar

# RFC 2606 reserves .invalid: the name can never resolve.
ELSEWHERE = "http://calendar.invalid"

MULTISTATUS = """<?xml version="1.0" encoding="utf-8"?>
<d:multistatus xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"
    xmlns:cs="http://calendarserver.org/ns/">
  <d:response>
    <d:href>{href}</d:href>
    <d:propstat>
      <d:prop>{props}</d:prop>
      <d:status>HTTP/1.1 200 OK</d:status>
    </d:propstat>
  </d:response>
</d:multistatus>"""

COLLECTION = "<d:resourcetype><d:collection/></d:resourcetype>"


def multistatus(href: str, props: str) -> bytes:
    return MULTISTATUS.format(href=href, props=props).encode("utf-8")


# Path -> (status, extra headers, body) of the fake server's PROPFIND responses.
ANSWERS: dict[str, tuple[int, dict[str, str], bytes]] = {
    "/principal-elsewhere/": (
        207,
        {},
        multistatus(
            "/principal-elsewhere/",
            COLLECTION
            + f"<d:current-user-principal><d:href>{ELSEWHERE}/principals/mentor/"
            "</d:href></d:current-user-principal>",
        ),
    ),
    "/home-elsewhere/": (
        207,
        {},
        multistatus(
            "/home-elsewhere/",
            COLLECTION + f"<c:calendar-home-set><d:href>{ELSEWHERE}/calendars/mentor/"
            "</d:href></c:calendar-home-set>",
        ),
    ),
    "/moved-elsewhere/": (301, {"Location": f"{ELSEWHERE}/calendar/"}, b""),
    "/moved-here/": (301, {"Location": "/calendar/"}, b""),
    "/calendar/": (
        207,
        {},
        multistatus("/calendar/", "<cs:getctag>ctag-1</cs:getctag>"),
    ),
}


@dataclass
class FakeDAVServer:
    """A loopback server with canned PROPFIND responses and the paths requested."""

    url: str = ""
    paths: list[str] = field(default_factory=list)


def _handler(record: FakeDAVServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            """Keep the test output quiet."""

        def do_PROPFIND(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            record.paths.append(self.path)
            status, headers, body = ANSWERS.get(self.path, (404, {}, b""))
            self.send_response(status)
            self.send_header("Content-Type", "application/xml; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

    return Handler


@pytest.fixture
def fake_dav() -> Iterator[FakeDAVServer]:
    """A fake DAV server on a free loopback port."""
    record = FakeDAVServer()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(record))
    server.daemon_threads = True
    record.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield record
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def _is_loopback(host: object) -> bool:
    if host in ("localhost", None):
        return True
    try:
        return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
    except ValueError:
        return False


@pytest.fixture
def off_loopback(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record and reject every name lookup and connect that is not loopback."""
    attempts: list[str] = []
    real_getaddrinfo = socket.getaddrinfo
    real_connect = socket.socket.connect
    real_sendto = socket.socket.sendto

    def getaddrinfo(host, *args, **kwargs):  # type: ignore[no-untyped-def]
        if not _is_loopback(host):
            attempts.append(f"lookup {host}")
            raise socket.gaierror(socket.EAI_NONAME, "off-loopback lookup rejected")
        return real_getaddrinfo(host, *args, **kwargs)

    def connect(self, address):  # type: ignore[no-untyped-def]
        if isinstance(address, tuple) and not _is_loopback(address[0]):
            attempts.append(f"connect {address[0]}")
            raise ConnectionRefusedError("off-loopback connect rejected")
        return real_connect(self, address)

    def sendto(self, data, *args):  # type: ignore[no-untyped-def]
        address = args[-1]
        if isinstance(address, tuple) and not _is_loopback(address[0]):
            attempts.append(f"sendto {address[0]}")
            raise ConnectionRefusedError("off-loopback datagram rejected")
        return real_sendto(self, data, *args)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "sendto", sendto)
    return attempts


@pytest.fixture(params=["radicale", "xandikos"])
def server(request: pytest.FixtureRequest) -> CalDAVServer:
    return request.getfixturevalue(request.param)


def test_guard_catches_off_loopback_lookup(off_loopback: list[str]) -> None:
    with pytest.raises(OSError):
        socket.getaddrinfo("calendar.invalid", 80)

    assert off_loopback == ["lookup calendar.invalid"]


def test_discovery_from_root_stays_on_host(
    server: CalDAVServer, off_loopback: list[str]
) -> None:
    calendar_url = new_calendar(server, "pinned-root")

    found = discover_calendars(server.root_url, server.username, server.password)

    assert calendar_url in [info.url for info in found]
    assert off_loopback == []


def test_reads_and_writes_stay_on_host(
    server: CalDAVServer, off_loopback: list[str]
) -> None:
    url = new_calendar(server, "pinned-writes")
    source = CalDAVSource(url, server.username, server.password, ReadOptions())

    source.upsert_event(SESSION)
    source.read_busy(utc("2026-05-04 00:00"), utc("2026-05-05 00:00"))
    source.read_free_busy_query(utc("2026-05-04 00:00"), utc("2026-05-05 00:00"))
    source.changed_since(None)
    source.cancel_event(SESSION)

    assert off_loopback == []


def test_principal_on_other_host_is_rejected(
    fake_dav: FakeDAVServer, off_loopback: list[str]
) -> None:
    with pytest.raises(CalendarError, match="calendar.invalid"):
        discover_calendars(f"{fake_dav.url}/principal-elsewhere/", "u", "p")

    assert fake_dav.paths == ["/principal-elsewhere/"]
    assert off_loopback == []


def test_home_set_on_other_host_is_rejected(
    fake_dav: FakeDAVServer, off_loopback: list[str]
) -> None:
    with pytest.raises(CalendarError, match="calendar.invalid"):
        discover_calendars(f"{fake_dav.url}/home-elsewhere/", "u", "p")

    assert fake_dav.paths == ["/home-elsewhere/"]
    assert off_loopback == []


def test_redirect_to_other_host_is_rejected(
    fake_dav: FakeDAVServer, off_loopback: list[str]
) -> None:
    source = CalDAVSource(f"{fake_dav.url}/moved-elsewhere/", "u", "p", ReadOptions())

    with pytest.raises(CalendarError, match="calendar.invalid"):
        source.changed_since(None)

    assert fake_dav.paths == ["/moved-elsewhere/"]
    assert off_loopback == []


def test_redirect_on_same_host_is_followed(fake_dav: FakeDAVServer) -> None:
    source = CalDAVSource(f"{fake_dav.url}/moved-here/", "u", "p", ReadOptions())

    _, state = source.changed_since(None)

    assert state == "cs:getctag=ctag-1"
    assert fake_dav.paths == ["/moved-here/", "/calendar/"]


def test_proxy_environment_is_ignored_in_discovery(
    monkeypatch: pytest.MonkeyPatch, fake_dav: FakeDAVServer
) -> None:
    # Through the proxy the request would never reach the fake server.
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("ALL_PROXY", "http://127.0.0.1:9")

    with pytest.raises(CalendarError, match="calendar.invalid"):
        discover_calendars(f"{fake_dav.url}/principal-elsewhere/", "u", "p")

    assert fake_dav.paths == ["/principal-elsewhere/"]
