"""MicrosoftCalendar on a personal account: calendarView with paging."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from calendar_sync.base import BusyInterval, ReadOptions
from calendar_sync.errors import CalendarError
from calendar_sync.microsoft import MicrosoftCalendar
from tests.fakes import loopback_session
from tests.fakes.microsoft_fake import MicrosoftFake
from tests.fakes.tls import TlsFiles, make_loopback_cert

OWNER = "mara@outlook.example"


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_loopback_cert(Path(tmp_path_factory.mktemp("tls")))


@pytest.fixture
def fake(tls: TlsFiles) -> Iterator[MicrosoftFake]:
    with MicrosoftFake(tls) as running:
        running.add_mailbox(OWNER)
        yield running


@pytest.fixture
def session(tls: TlsFiles) -> Iterator[requests.Session]:
    with loopback_session(tls) as opened:
        yield opened


def personal_calendar(fake, session, **options: Any) -> MicrosoftCalendar:
    token = fake.issue_tokens(OWNER)["access_token"]
    return MicrosoftCalendar(
        lambda: token,
        OWNER,
        graph_url=fake.graph_url,
        personal=True,
        options=ReadOptions(**options),
        session=session,
    )


@pytest.fixture
def calendar(fake, session) -> MicrosoftCalendar:
    return personal_calendar(fake, session)


def one_hour(start: datetime, **fields: Any) -> dict[str, Any]:
    end = start + timedelta(hours=1)
    return {
        "start": {"dateTime": start.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"},
        "end": {"dateTime": end.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"},
        **fields,
    }


def test_weekly_series_read_as_instances(fake, calendar):
    fake.add_event(
        OWNER,
        {
            "showAs": "busy",
            "start": {"dateTime": "2026-01-05T10:00:00", "timeZone": "UTC"},
            "end": {"dateTime": "2026-01-05T11:00:00", "timeZone": "UTC"},
            "recurrence": {
                "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["monday"]},
                "range": {"type": "noEnd", "startDate": "2026-01-05"},
            },
        },
    )

    report = calendar.read_busy(utc(2026, 1, 5), utc(2026, 2, 2))

    mondays = [utc(2026, 1, d, 10) for d in (5, 12, 19, 26)]
    assert report.intervals == [
        BusyInterval(m, m + timedelta(hours=1)) for m in mondays
    ]
    assert fake.count("getSchedule") == 0


def test_every_page_is_read(fake, calendar):
    starts = [utc(2026, 3, 1, 9) + timedelta(days=n) for n in range(25)]
    for start in starts:
        fake.add_event(OWNER, one_hour(start))

    report = calendar.read_busy(utc(2026, 3, 1), utc(2026, 4, 1))

    assert report.intervals == [BusyInterval(s, s + timedelta(hours=1)) for s in starts]
    assert fake.count("calendarView") == 3


@pytest.mark.parametrize(
    ("show_as", "kind"),
    [
        ("free", None),
        ("workingElsewhere", None),
        ("tentative", "tentative"),
        ("busy", "busy"),
        ("oof", "unavailable"),
        ("unknown", "busy"),
    ],
)
def test_show_as_maps_to_kind(fake, calendar, show_as, kind):
    fake.add_event(OWNER, one_hour(utc(2026, 3, 2, 9), showAs=show_as))

    report = calendar.read_busy(utc(2026, 3, 2), utc(2026, 3, 3))

    expected = (
        []
        if kind is None
        else [BusyInterval(utc(2026, 3, 2, 9), utc(2026, 3, 2, 10), kind)]
    )
    assert report.intervals == expected


def test_cancelled_event_is_free(fake, calendar):
    fake.add_event(OWNER, one_hour(utc(2026, 3, 2, 9), isCancelled=True))

    report = calendar.read_busy(utc(2026, 3, 2), utc(2026, 3, 3))

    assert report.intervals == []


def test_declined_invitation_is_free(fake, calendar):
    declined = {"response": "declined", "time": "2026-02-20T08:00:00Z"}
    fake.add_event(OWNER, one_hour(utc(2026, 3, 2, 9), responseStatus=declined))

    report = calendar.read_busy(utc(2026, 3, 2), utc(2026, 3, 3))

    assert report.intervals == []


def test_unanswered_invitation_follows_option(fake, session):
    unanswered = {"response": "notResponded", "time": "0001-01-01T00:00:00Z"}
    fake.add_event(OWNER, one_hour(utc(2026, 3, 2, 9), responseStatus=unanswered))
    blocking = personal_calendar(fake, session, needs_action_blocks=True)
    lenient = personal_calendar(fake, session, needs_action_blocks=False)
    start, end = utc(2026, 3, 2), utc(2026, 3, 3)

    assert blocking.read_busy(start, end).intervals == [
        BusyInterval(utc(2026, 3, 2, 9), utc(2026, 3, 2, 10))
    ]
    assert lenient.read_busy(start, end).intervals == []


def test_all_day_event_covers_owner_local_day(fake, session):
    calendar = personal_calendar(fake, session, owner_timezone="Europe/Berlin")
    fake.add_event(
        OWNER,
        {
            "isAllDay": True,
            "start": {
                "dateTime": "2026-07-01T00:00:00",
                "timeZone": "W. Europe Standard Time",
            },
            "end": {
                "dateTime": "2026-07-02T00:00:00",
                "timeZone": "W. Europe Standard Time",
            },
        },
    )

    report = calendar.read_busy(utc(2026, 6, 29), utc(2026, 7, 3))

    assert report.intervals == [BusyInterval(utc(2026, 6, 30, 22), utc(2026, 7, 1, 22))]


def test_free_all_day_event_is_absent(fake, calendar):
    fake.add_event(
        OWNER,
        {
            "isAllDay": True,
            "showAs": "free",
            "start": {"dateTime": "2021-10-27T00:00:00", "timeZone": "UTC"},
            "end": {"dateTime": "2021-11-08T00:00:00", "timeZone": "UTC"},
        },
    )

    report = calendar.read_busy(utc(2021, 10, 26), utc(2021, 11, 9))

    assert report.intervals == []


def test_view_times_sent_as_utc(fake, calendar):
    calendar.read_busy(utc(2026, 3, 2), utc(2026, 3, 3))

    (request,) = fake.requests_of("calendarView")
    assert request.arg("startDateTime") == "2026-03-02T00:00:00Z"
    assert request.arg("endDateTime") == "2026-03-03T00:00:00Z"


def test_personal_account_cannot_read_others(calendar):
    with pytest.raises(CalendarError, match="personal"):
        calendar.read_busy_many(
            ["someone@outlook.example"], utc(2026, 3, 2), utc(2026, 3, 3)
        )
