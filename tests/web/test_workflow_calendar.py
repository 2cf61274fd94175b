"""Approved sessions reach the mentor's CalDAV calendar exactly once.

The mentor's calendar is a real Radicale collection on loopback. Events are
counted by listing the collection over WebDAV, independently of Torace's
own CalDAV code.
"""

from __future__ import annotations

from datetime import UTC, datetime
from xml.etree import ElementTree

import icalendar
import pytest
from flask import Flask

from tests.calendar_sync.conftest import radicale  # noqa: F401 (fixture)
from tests.calendar_sync.servers import CalDAVServer, free_port
from tests.calendar_sync.uploads import new_calendar, session_for
from tests.web.factories import booked_series
from web.booking import approve, cancel_session
from web.calendar_writes import write_pending
from web.crypto import secret_box
from web.extensions import db
from web.models import CalendarConnection, MentoringSession, Series
from web.overrides import change_slot
from web.rescheduling import other_times

DAV = "{DAV:}"


def stored_events(server: CalDAVServer, url: str) -> list[icalendar.Event]:
    """Every VEVENT in the collection at ``url``, read with PROPFIND and GET."""
    session = session_for(server)
    listing = session.request("PROPFIND", url, headers={"Depth": "1"}, timeout=10)
    listing.raise_for_status()
    hrefs = [
        element.text
        for element in ElementTree.fromstring(listing.content).iter(f"{DAV}href")
        if element.text and element.text.endswith(".ics")
    ]
    root = url.split("/", 3)[:3]
    events = []
    for href in hrefs:
        body = session.get("/".join(root) + href, timeout=10)
        body.raise_for_status()
        events += icalendar.Calendar.from_ical(body.content).walk("VEVENT")
    return events


def connect(series: Series, url: str, status: str = "ok") -> None:
    series.mentor.calendars.append(
        CalendarConnection(
            kind="caldav",
            url=url,
            username="mentor",
            secret=secret_box().encrypt("any"),
            status=status,
        )
    )
    db.session.commit()


@pytest.fixture
def calendar(radicale: CalDAVServer) -> str:  # noqa: F811
    return new_calendar(radicale, "mentor")


def reload(session: MentoringSession) -> MentoringSession:
    db.session.expire_all()
    return db.session.get(MentoringSession, session.id)


def test_approval_writes_one_event_per_session(
    app: Flask,
    radicale: CalDAVServer,  # noqa: F811
    calendar: str,
) -> None:
    series = booked_series(sessions=2)
    connect(series, calendar)

    approve([series], "admin")

    events = stored_events(radicale, calendar)
    assert sorted(str(e["UID"]) for e in events) == sorted(
        s.uid for s in series.sessions
    )
    assert {reload(s).calendar_write for s in series.sessions} == {"done"}


def test_retried_write_keeps_one_event(
    app: Flask,
    radicale: CalDAVServer,  # noqa: F811
    calendar: str,
) -> None:
    series = booked_series(sessions=1)
    connect(series, calendar)
    approve([series], "admin")
    session = reload(series.sessions[0])

    # As after a write whose answer was lost: the same write runs again.
    session.calendar_write = "pending"
    db.session.commit()
    write_pending()
    write_pending()

    events = stored_events(radicale, calendar)
    assert [str(e["UID"]) for e in events] == [session.uid]


def test_moved_session_updates_the_same_event(
    app: Flask,
    radicale: CalDAVServer,  # noqa: F811
    calendar: str,
) -> None:
    series = booked_series(sessions=1)
    connect(series, calendar)
    approve([series], "admin")
    session = reload(series.sessions[0])
    new_start = other_times(session, datetime.now(UTC))[0].start

    change_slot(session, new_start, "admin:lead@example.org", datetime.now(UTC))
    write_pending()

    (event,) = stored_events(radicale, calendar)
    assert str(event["UID"]) == session.uid
    assert event.decoded("DTSTART").astimezone(UTC) == new_start
    assert int(event["SEQUENCE"]) == 1


def test_cancelled_session_removes_the_event(
    app: Flask,
    radicale: CalDAVServer,  # noqa: F811
    calendar: str,
) -> None:
    series = booked_series(sessions=1)
    connect(series, calendar)
    approve([series], "admin")
    session = reload(series.sessions[0])

    cancel_session(session, session.series.mentee)
    write_pending()
    write_pending()

    assert stored_events(radicale, calendar) == []
    assert reload(session).calendar_write == "done"


def test_failing_provider_leaves_approval_and_pending_write(
    app: Flask,
    calendar: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    series = booked_series(sessions=1)
    connect(series, calendar)
    # Approve while the calendar answers, then let it fail before the write.
    monkeypatch.setattr("web.booking.queue_follow_up", lambda: None)
    approve([series], "admin")
    connection = series.mentor.calendars[0]
    connection.url = f"http://127.0.0.1:{free_port()}/mentor/cal/"
    db.session.commit()

    counts = write_pending()

    session = reload(series.sessions[0])
    assert counts["failed"] == 1
    assert session.series.status == "invited"
    assert session.calendar_write == "pending"
    assert session.series.mentor.calendars[0].last_error
