"""Reading iCalendar feeds over HTTP and .ics files from disk."""

from __future__ import annotations

from pathlib import Path

import pytest

from calendar_sync.base import Attendee, EventSpec, ReadOptions
from calendar_sync.errors import (
    AuthError,
    CalendarError,
    InvalidDataError,
    NotFoundError,
    ProviderTimeoutError,
    RateLimitedError,
    ServerError,
)
from calendar_sync.feed import IcsFeedSource, IcsFileSource, MemoryFeedCache

from .cases import CASE_IDS, CASES, Case, utc
from .http_server import FeedServer

START, END = utc("2026-03-09 00:00"), utc("2026-03-12 00:00")

EVENT = EventSpec(
    key="session-1",
    summary="Mentoring",
    description="",
    start=utc("2026-03-10 09:00"),
    end=utc("2026-03-10 10:00"),
    timezone="UTC",
    organizer=Attendee("Torace", "torace@example.org"),
    attendees=(),
)


def as_tuples(report_intervals: list) -> list:
    return [(i.start, i.end, i.kind) for i in report_intervals]


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_feed_case(feed_server: FeedServer, case: Case) -> None:
    source = IcsFeedSource(feed_server.feed_url(case.fixture), case.options)

    report = source.read_busy(case.start, case.end)

    assert as_tuples(report.intervals) == case.expected


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_file_case(case: Case) -> None:
    source = IcsFileSource(case.path, case.options)

    report = source.read_busy(case.start, case.end)

    assert as_tuples(report.intervals) == case.expected


def test_feed_revalidates_with_etag(feed_server: FeedServer) -> None:
    url = feed_server.feed_url("floating_time.ics")
    source = IcsFeedSource(url, ReadOptions(), cache=MemoryFeedCache())

    source.read_busy(START, END)
    source.read_busy(START, END)

    gets = [
        r
        for r in feed_server.requests
        if r[0] == "GET" and r[1].endswith("floating_time.ics")
    ]
    assert "If-None-Match" not in gets[-2][2]
    assert gets[-1][2]["If-None-Match"].startswith('"')


def test_feed_304_reuses_cached_body(feed_server: FeedServer) -> None:
    url = feed_server.feed_url("floating_time.ics")
    cache = MemoryFeedCache()
    options = ReadOptions(owner_timezone="America/New_York")
    first = IcsFeedSource(url, options, cache=cache).read_busy(START, END)

    second = IcsFeedSource(url, options, cache=cache).read_busy(START, END)

    assert second.intervals == first.intervals
    assert len(second.intervals) == 1


def test_feed_larger_than_limit_rejected(feed_server: FeedServer) -> None:
    source = IcsFeedSource(
        feed_server.feed_url("windows_zone_with_vtimezone.ics"),
        ReadOptions(),
        max_bytes=100,
    )

    with pytest.raises(InvalidDataError, match="larger than 100 bytes"):
        source.read_busy(START, END)


def test_endless_feed_stopped_at_limit(feed_server: FeedServer) -> None:
    source = IcsFeedSource(f"{feed_server.url}endless", ReadOptions(), max_bytes=50_000)

    with pytest.raises(InvalidDataError, match="larger than 50000 bytes"):
        source.read_busy(START, END)


def test_feed_that_hangs_times_out(feed_server: FeedServer) -> None:
    source = IcsFeedSource(f"{feed_server.url}hang", ReadOptions(), timeout=0.3)

    with pytest.raises(ProviderTimeoutError):
        source.read_busy(START, END)


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (401, AuthError),
        (403, AuthError),
        (404, NotFoundError),
        (429, RateLimitedError),
        (500, ServerError),
        (503, RateLimitedError),
        (400, CalendarError),
    ],
)
def test_feed_http_status_mapped(
    feed_server: FeedServer, status: int, error: type
) -> None:
    source = IcsFeedSource(f"{feed_server.url}status/{status}", ReadOptions())

    with pytest.raises(error):
        source.read_busy(START, END)


def test_feed_rate_limit_carries_retry_after(feed_server: FeedServer) -> None:
    source = IcsFeedSource(f"{feed_server.url}status/429", ReadOptions())

    with pytest.raises(RateLimitedError) as caught:
        source.read_busy(START, END)

    assert caught.value.retry_after == 120.0


def test_feed_refused_connection_is_server_error(feed_server: FeedServer) -> None:
    from .servers import free_port

    source = IcsFeedSource(
        f"http://127.0.0.1:{free_port()}/x.ics", ReadOptions(), timeout=1
    )

    with pytest.raises(ServerError, match="cannot connect"):
        source.read_busy(START, END)


def test_feed_calendar_name_hides_token() -> None:
    source = IcsFeedSource(
        "https://user:pw@cal.test/feed.ics?token=secret", ReadOptions()
    )

    assert source.calendar == "https://cal.test/feed.ics"


def test_feed_rejects_non_http_url() -> None:
    with pytest.raises(ValueError, match="https://"):
        IcsFeedSource("file:///etc/passwd", ReadOptions())


@pytest.mark.parametrize("method", ["upsert_event", "cancel_event"])
def test_feed_is_read_only(feed_server: FeedServer, method: str) -> None:
    source = IcsFeedSource(feed_server.feed_url("floating_time.ics"), ReadOptions())

    with pytest.raises(CalendarError, match="read-only"):
        getattr(source, method)(EVENT)


@pytest.mark.parametrize("method", ["upsert_event", "cancel_event"])
def test_file_is_read_only(tmp_path: Path, method: str) -> None:
    source = IcsFileSource(tmp_path / "a.ics", ReadOptions())

    with pytest.raises(CalendarError, match="read-only"):
        getattr(source, method)(EVENT)


def test_missing_file_not_found(tmp_path: Path) -> None:
    source = IcsFileSource(tmp_path / "missing.ics", ReadOptions())

    with pytest.raises(NotFoundError):
        source.read_busy(START, END)
