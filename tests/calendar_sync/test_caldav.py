"""CalDAV discovery, event writes, change checks and failures."""

from __future__ import annotations

from dataclasses import replace

import pytest

from calendar_sync.base import Attendee, EventSpec, ReadOptions
from calendar_sync.caldav_source import (
    CalDAVSource,
    discover_calendars,
    resource_name,
)
from calendar_sync.errors import AuthError, ProviderTimeoutError, ServerError
from calendar_sync.sources import read_busy_or_unknown

from .cases import utc
from .http_server import FeedServer
from .servers import CalDAVServer
from .uploads import new_calendar, session_for

SERVERS = ["radicale", "xandikos"]

SESSION = EventSpec(
    key="program-3/series-7/session-1",
    summary="Mentoring: feedback conversations",
    description="First of three sessions.",
    start=utc("2026-05-04 08:00"),
    end=utc("2026-05-04 09:00"),
    timezone="Europe/Berlin",
    organizer=Attendee("Torace", "sessions@torace.example.org"),
    attendees=(
        Attendee("Mia Mentor", "mentor@example.org"),
        Attendee("Eli Mentee", "mentee@example.org"),
    ),
    sequence=0,
)
MAY_4 = (utc("2026-05-04 00:00"), utc("2026-05-05 00:00"))


@pytest.fixture(params=SERVERS)
def server(request: pytest.FixtureRequest) -> CalDAVServer:
    return request.getfixturevalue(request.param)


@pytest.fixture
def source(server: CalDAVServer) -> CalDAVSource:
    url = new_calendar(server, "sessions")
    return CalDAVSource(url, server.username, server.password, ReadOptions())


def stored_uids(server: CalDAVServer, source: CalDAVSource) -> list[str]:
    text = source.fetch_events(*MAY_4)
    return [
        line.split(":", 1)[1] for line in text.splitlines() if line.startswith("UID:")
    ]


def test_discovery_from_server_root(server: CalDAVServer) -> None:
    calendar_url = new_calendar(server, "discover-root")

    found = discover_calendars(server.root_url, server.username, server.password)

    assert calendar_url in [info.url for info in found]


def test_discovery_from_principal(server: CalDAVServer) -> None:
    calendar_url = new_calendar(server, "discover-principal")

    found = discover_calendars(server.principal_url, server.username, server.password)

    assert calendar_url in [info.url for info in found]


def test_discovered_calendar_supports_events(server: CalDAVServer) -> None:
    calendar_url = new_calendar(server, "discover-events")

    found = discover_calendars(server.root_url, server.username, server.password)

    info = next(info for info in found if info.url == calendar_url)
    assert info.supports_events


def test_discovery_from_calendar_url_returns_it(server: CalDAVServer) -> None:
    calendar_url = new_calendar(server, "discover-self")

    found = discover_calendars(calendar_url, server.username, server.password)

    assert [info.url for info in found] == [calendar_url]


def test_upsert_twice_stores_one_event(
    server: CalDAVServer, source: CalDAVSource
) -> None:
    source.upsert_event(SESSION)
    source.upsert_event(SESSION)

    assert stored_uids(server, source) == [SESSION.key]


def test_upserted_event_blocks_its_time(source: CalDAVSource) -> None:
    source.upsert_event(SESSION)

    report = source.read_busy(*MAY_4)

    assert [(i.start, i.end) for i in report.intervals] == [
        (SESSION.start, SESSION.end)
    ]


def test_upsert_with_new_time_moves_event(source: CalDAVSource) -> None:
    source.upsert_event(SESSION)
    moved = replace(
        SESSION, start=utc("2026-05-04 12:00"), end=utc("2026-05-04 13:00"), sequence=1
    )

    source.upsert_event(moved)

    report = source.read_busy(*MAY_4)
    assert [(i.start, i.end) for i in report.intervals] == [(moved.start, moved.end)]


def test_upserted_event_carries_organizer_attendees_sequence(
    server: CalDAVServer, source: CalDAVSource
) -> None:
    url = source.upsert_event(replace(SESSION, sequence=2))

    text = session_for(server).get(url, timeout=10).text.replace("\r\n ", "")

    assert "SEQUENCE:2" in text
    assert "mailto:sessions@torace.example.org" in text
    assert "mailto:mentor@example.org" in text
    assert "mailto:mentee@example.org" in text


def test_cancel_removes_event(server: CalDAVServer, source: CalDAVSource) -> None:
    source.upsert_event(SESSION)

    source.cancel_event(SESSION)

    assert stored_uids(server, source) == []


def test_cancel_of_missing_event_is_fine(source: CalDAVSource) -> None:
    source.cancel_event(SESSION)


def test_changed_since_first_call_reports_change(source: CalDAVSource) -> None:
    changed, state = source.changed_since(None)

    assert changed
    assert state is not None


def test_changed_since_unchanged_calendar(source: CalDAVSource) -> None:
    _, state = source.changed_since(None)

    changed, _ = source.changed_since(state)

    assert not changed


def test_changed_since_after_upsert(source: CalDAVSource) -> None:
    _, state = source.changed_since(None)
    source.upsert_event(SESSION)

    changed, new_state = source.changed_since(state)

    assert changed
    assert new_state != state


def test_server_error_raises_from_read_busy(feed_server: FeedServer) -> None:
    source = CalDAVSource(f"{feed_server.url}status/500", "u", "p", ReadOptions())

    with pytest.raises(ServerError):
        source.read_busy(*MAY_4)


def test_server_error_gives_unknown_range(feed_server: FeedServer) -> None:
    source = CalDAVSource(f"{feed_server.url}status/500", "u", "p", ReadOptions())

    report = read_busy_or_unknown(source, *MAY_4)

    assert [(i.start, i.end, i.kind) for i in report.intervals] == [(*MAY_4, "unknown")]
    assert "HTTP 500" in report.warnings[0].message


def test_hanging_server_times_out(feed_server: FeedServer) -> None:
    source = CalDAVSource(f"{feed_server.url}hang", "u", "p", ReadOptions(), 0.3)

    with pytest.raises(ProviderTimeoutError):
        source.read_busy(*MAY_4)


def test_hanging_server_gives_unknown_range(feed_server: FeedServer) -> None:
    source = CalDAVSource(f"{feed_server.url}hang", "u", "p", ReadOptions(), 0.3)

    report = read_busy_or_unknown(source, *MAY_4)

    assert [(i.start, i.end, i.kind) for i in report.intervals] == [(*MAY_4, "unknown")]


def test_rejected_credentials_raise_auth_error(feed_server: FeedServer) -> None:
    source = CalDAVSource(f"{feed_server.url}status/401", "u", "p", ReadOptions())

    with pytest.raises(AuthError):
        source.read_busy(*MAY_4)


def test_resource_name_is_stable_per_key() -> None:
    assert resource_name("a") == resource_name("a")
    assert resource_name("a") != resource_name("b")


def test_caldav_ignores_proxy_environment(
    monkeypatch: pytest.MonkeyPatch, feed_server: FeedServer
) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    source = CalDAVSource(f"{feed_server.url}status/500", "u", "p", ReadOptions())

    # Through the proxy the request would fail to connect instead.
    with pytest.raises(ServerError, match="HTTP 500"):
        source.read_busy(*MAY_4)
