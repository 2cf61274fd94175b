"""The server behaviours recorded in calendar_sync.quirks, checked on the servers.

If one of these starts failing after a server upgrade, the record in
quirks.py (and the reading strategy it chooses) needs a second look.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from calendar_sync.caldav_source import CalDAVSource
from calendar_sync.quirks import quirks_for

from .cases import CALENDARS, NEW_YORK, block, utc
from .servers import CalDAVServer
from .uploads import new_calendar, session_for, upload_fixture


def source_with(server: CalDAVServer, fixture: str, options=NEW_YORK) -> CalDAVSource:
    url = new_calendar(server, "quirk")
    assert upload_fixture(server, url, CALENDARS / fixture) == []
    return CalDAVSource(
        url, server.username, server.password, options, quirks=quirks_for(server.name)
    )


@pytest.mark.parametrize("name", ["radicale", "xandikos"])
def test_free_busy_query_reads_floating_as_utc(
    request: pytest.FixtureRequest, name: str
) -> None:
    source = source_with(request.getfixturevalue(name), "floating_time.ics")

    report = source.read_free_busy_query(
        utc("2026-03-10 00:00"), utc("2026-03-11 00:00")
    )

    # The owner is in New York, so the right interval is 13:00-14:00 UTC.
    assert [(i.start, i.end, i.kind) for i in report.intervals] == [
        block("2026-03-10 09:00", "2026-03-10 10:00")
    ]


def test_radicale_free_busy_expands_weekly_series_in_utc(
    radicale: CalDAVServer,
) -> None:
    source = source_with(radicale, "dst_weekly.ics")

    report = source.read_free_busy_query(
        utc("2026-07-07 00:00"), utc("2026-07-08 00:00")
    )

    # 15:00 New York time in July is 19:00 UTC; 20:00 is January's offset.
    assert [(i.start, i.end, i.kind) for i in report.intervals] == [
        block("2026-07-07 20:00", "2026-07-07 21:00")
    ]


def test_xandikos_free_busy_omits_rdate_only_event(xandikos: CalDAVServer) -> None:
    source = source_with(xandikos, "rdate_plain.ics")

    report = source.read_free_busy_query(
        utc("2024-09-13 00:00"), utc("2024-09-17 00:00")
    )

    assert report.intervals == []


def test_xandikos_time_range_filter_misses_rdate(xandikos: CalDAVServer) -> None:
    source = source_with(xandikos, "rdate_plain.ics")
    source.quirks = replace(
        source.quirks, time_range_misses_rdate=False, time_range_margin=timedelta(0)
    )

    events = source.fetch_events(utc("2024-09-13 00:00"), utc("2024-09-17 00:00"))

    assert events == ""


@pytest.mark.parametrize("name", ["radicale", "xandikos"])
def test_free_busy_query_ignores_owner_partstat(
    request: pytest.FixtureRequest, name: str
) -> None:
    source = source_with(request.getfixturevalue(name), "invitations.ics")

    report = source.read_free_busy_query(
        utc("2026-02-10 00:00"), utc("2026-02-11 00:00")
    )

    # The declined invitation (09:00) and the Outlook "free" event (15:00)
    # come back busy.
    starts = [i.start for i in report.intervals]
    assert utc("2026-02-10 09:00") in starts
    assert utc("2026-02-10 15:00") in starts


def test_xandikos_propfind_on_missing_collection_is_multistatus(
    xandikos: CalDAVServer,
) -> None:
    response = session_for(xandikos).request(
        "PROPFIND",
        f"{xandikos.home_url}no-such-calendar/",
        headers={"Depth": "0"},
        timeout=10,
    )

    # caldav_source reads this bare 404 inside the 207 as NotFoundError.
    assert response.status_code == 207
    assert "404 Not Found" in response.text
