"""CalDAV failures mapped to calendar_sync.errors, each sent to the server once."""

from __future__ import annotations

import pytest

from calendar_sync.base import Attendee, EventSpec, ReadOptions
from calendar_sync.caldav_source import CalDAVSource, discover_calendars
from calendar_sync.errors import (
    AuthError,
    CalendarError,
    InvalidDataError,
    NotFoundError,
    ProviderTimeoutError,
    RateLimitedError,
    ServerError,
)

from .cases import utc
from .http_server import FeedServer
from .servers import CalDAVServer, free_port

MAY_4 = (utc("2026-05-04 00:00"), utc("2026-05-05 00:00"))
SESSION = EventSpec(
    key="program-1/series-2/session-1",
    summary="Mentoring",
    description="",
    start=utc("2026-05-04 08:00"),
    end=utc("2026-05-04 09:00"),
    timezone="UTC",
    organizer=Attendee("Torace", "sessions@torace.example.org"),
    attendees=(Attendee("Mia Mentor", "mentor@example.org"),),
)


def source_at(
    feed_server: FeedServer, path: str, timeout: float = 10.0
) -> CalDAVSource:
    return CalDAVSource(f"{feed_server.url}{path}", "u", "p", ReadOptions(), timeout)


def requests_to(feed_server: FeedServer, path: str) -> int:
    return sum(1 for _, seen, _ in feed_server.requests if seen.rstrip("/") == path)


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (401, AuthError),
        (403, AuthError),
        (404, NotFoundError),
        (410, NotFoundError),
        (500, ServerError),
        (502, ServerError),
        (400, CalendarError),
    ],
)
def test_status_maps_to_error(
    feed_server: FeedServer, status: int, error: type[CalendarError]
) -> None:
    source = source_at(feed_server, f"status/{status}")

    with pytest.raises(error, match=f"HTTP {status}"):
        source.read_busy(*MAY_4)


def test_too_many_requests_carries_retry_after(feed_server: FeedServer) -> None:
    source = source_at(feed_server, "status/429")

    with pytest.raises(RateLimitedError) as caught:
        source.read_busy(*MAY_4)

    # The loopback server sends Retry-After: 120 with 429 and 503.
    assert caught.value.retry_after == 120.0


def test_unavailable_with_retry_after_is_rate_limit(feed_server: FeedServer) -> None:
    source = source_at(feed_server, "status/503")

    with pytest.raises(RateLimitedError) as caught:
        source.changed_since(None)

    assert caught.value.retry_after == 120.0


def test_rate_limit_is_not_retried(feed_server: FeedServer) -> None:
    before = requests_to(feed_server, "/status/429")

    with pytest.raises(RateLimitedError):
        source_at(feed_server, "status/429").read_busy(*MAY_4)

    assert requests_to(feed_server, "/status/429") == before + 1


def test_server_error_is_not_retried(feed_server: FeedServer) -> None:
    before = requests_to(feed_server, "/status/500")

    with pytest.raises(ServerError):
        source_at(feed_server, "status/500").read_busy(*MAY_4)

    assert requests_to(feed_server, "/status/500") == before + 1


def test_calendar_data_without_multistatus_is_invalid(
    feed_server: FeedServer,
) -> None:
    # /plain-calendar serves a bare .ics body to every method.
    source = source_at(feed_server, "plain-calendar")

    with pytest.raises(InvalidDataError, match="multistatus"):
        source.read_busy(*MAY_4)


def test_login_page_is_invalid_not_empty(feed_server: FeedServer) -> None:
    source = source_at(feed_server, "html")

    with pytest.raises(InvalidDataError, match="multistatus"):
        source.fetch_events(*MAY_4)


def test_discovery_of_login_page_is_invalid(feed_server: FeedServer) -> None:
    with pytest.raises(InvalidDataError):
        discover_calendars(f"{feed_server.url}html", "u", "p")


def test_changed_since_on_html_is_invalid(feed_server: FeedServer) -> None:
    with pytest.raises(InvalidDataError):
        source_at(feed_server, "html").changed_since(None)


def test_discovery_on_server_error(feed_server: FeedServer) -> None:
    with pytest.raises(ServerError, match="HTTP 500"):
        discover_calendars(f"{feed_server.url}status/500", "u", "p")


def test_discovery_of_hanging_server_times_out(feed_server: FeedServer) -> None:
    with pytest.raises(ProviderTimeoutError):
        discover_calendars(f"{feed_server.url}hang", "u", "p", timeout=0.3)


def test_upsert_rejected_by_server_raises(feed_server: FeedServer) -> None:
    # The loopback server has no PUT handler, so it responds 501 Not Implemented.
    source = source_at(feed_server, "calendars/")

    with pytest.raises(ServerError, match="HTTP 501"):
        source.upsert_event(SESSION)


def test_refused_connection_is_server_error() -> None:
    source = CalDAVSource(
        f"http://127.0.0.1:{free_port()}/cal/", "u", "p", ReadOptions(), 2.0
    )

    with pytest.raises(ServerError, match="failed"):
        source.read_busy(*MAY_4)


@pytest.mark.parametrize("url", ["example.org/cal/", "ftp://127.0.0.1/cal/"])
def test_url_without_http_scheme_is_rejected(url: str) -> None:
    with pytest.raises(CalendarError, match="not an http"):
        CalDAVSource(url, "u", "p", ReadOptions())


@pytest.mark.parametrize("name", ["radicale", "xandikos"])
def test_changed_since_on_missing_calendar(
    request: pytest.FixtureRequest, name: str
) -> None:
    server: CalDAVServer = request.getfixturevalue(name)
    source = CalDAVSource(
        f"{server.home_url}no-such-calendar/",
        server.username,
        server.password,
        ReadOptions(),
    )

    with pytest.raises(NotFoundError):
        source.changed_since(None)


@pytest.mark.parametrize("name", ["radicale", "xandikos"])
def test_read_busy_on_missing_calendar(
    request: pytest.FixtureRequest, name: str
) -> None:
    server: CalDAVServer = request.getfixturevalue(name)
    source = CalDAVSource(
        f"{server.home_url}no-such-calendar/",
        server.username,
        server.password,
        ReadOptions(),
    )

    with pytest.raises(NotFoundError):
        source.read_busy(*MAY_4)
