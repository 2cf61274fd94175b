"""Opening calendars from a spec: a file path, a CalDAV URL or a feed URL."""

from __future__ import annotations

from pathlib import Path

import pytest

from calendar_sync.base import ReadOptions
from calendar_sync.caldav_source import CalDAVSource
from calendar_sync.errors import CalendarError, NotFoundError
from calendar_sync.feed import IcsFeedSource, IcsFileSource
from calendar_sync.sources import open_source, read_busy_or_unknown

from .cases import CALENDARS, utc
from .http_server import FeedServer
from .servers import CalDAVServer
from .uploads import new_calendar

OPTIONS = ReadOptions()


def test_relative_path_opens_file_under_base_dir() -> None:
    source = open_source("floating_time.ics", base_dir=CALENDARS, options=OPTIONS)

    assert isinstance(source, IcsFileSource)
    assert source.path == CALENDARS / "floating_time.ics"


def test_absolute_path_ignores_base_dir(tmp_path: Path) -> None:
    path = CALENDARS / "floating_time.ics"

    source = open_source(str(path), base_dir=tmp_path, options=OPTIONS)

    assert isinstance(source, IcsFileSource)
    assert source.path == path


@pytest.mark.parametrize("name", ["radicale", "xandikos"])
def test_caldav_url_opens_caldav_source(
    request: pytest.FixtureRequest, name: str
) -> None:
    server: CalDAVServer = request.getfixturevalue(name)
    url = new_calendar(server, "open")

    source = open_source(
        url,
        base_dir=None,
        options=OPTIONS,
        username=server.username,
        password=server.password,
    )

    assert isinstance(source, CalDAVSource)


def test_feed_url_with_calendar_type_opens_feed(feed_server: FeedServer) -> None:
    url = feed_server.feed_url("floating_time.ics")

    source = open_source(url, base_dir=None, options=OPTIONS)

    assert isinstance(source, IcsFeedSource)


def test_feed_url_recognised_by_body(feed_server: FeedServer) -> None:
    url = f"{feed_server.url}plain-calendar"

    source = open_source(url, base_dir=None, options=OPTIONS)

    assert isinstance(source, IcsFeedSource)


def test_html_page_rejected_with_url_and_type(feed_server: FeedServer) -> None:
    url = f"{feed_server.url}html"

    with pytest.raises(CalendarError, match=r"neither a CalDAV.*text/html"):
        open_source(url, base_dir=None, options=OPTIONS)


def test_missing_url_raises_not_found(feed_server: FeedServer) -> None:
    with pytest.raises(NotFoundError):
        open_source(f"{feed_server.url}nothing-here", base_dir=None, options=OPTIONS)


def test_missing_file_read_gives_unknown(tmp_path: Path) -> None:
    source = open_source("gone.ics", base_dir=tmp_path, options=OPTIONS)
    start, end = utc("2026-01-01 00:00"), utc("2026-01-02 00:00")

    report = read_busy_or_unknown(source, start, end)

    assert [(i.start, i.end, i.kind) for i in report.intervals] == [
        (start, end, "unknown")
    ]
    assert report.warnings[0].calendar == source.calendar
