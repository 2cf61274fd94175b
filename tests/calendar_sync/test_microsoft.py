"""MicrosoftCalendar getSchedule reads against the loopback Graph fake."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from calendar_sync.base import BusyInterval, ReadOptions
from calendar_sync.errors import AuthError, RateLimitedError, ServerError
from calendar_sync.microsoft import MicrosoftCalendar
from tests.fakes import loopback_session
from tests.fakes.microsoft_fake import Fault, MicrosoftFake
from tests.fakes.tls import TlsFiles, make_loopback_cert

OWNER = "mara@contoso.example"


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


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def calendar(fake, session, sleeps) -> MicrosoftCalendar:
    token = fake.issue_tokens(OWNER)["access_token"]
    return MicrosoftCalendar(
        lambda: token,
        OWNER,
        graph_url=fake.graph_url,
        session=session,
        sleep=sleeps.append,
    )


def weekly_monday_series(show_as: str = "busy") -> dict[str, Any]:
    return {
        "subject": "Team sync",
        "showAs": show_as,
        "start": {"dateTime": "2026-01-05T10:00:00.0000000", "timeZone": "UTC"},
        "end": {"dateTime": "2026-01-05T11:00:00.0000000", "timeZone": "UTC"},
        "recurrence": {
            "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["monday"]},
            "range": {"type": "noEnd", "startDate": "2026-01-05"},
        },
    }


def one_hour(day: datetime, show_as: str) -> dict[str, Any]:
    end = day + timedelta(hours=1)
    return {
        "showAs": show_as,
        "start": {"dateTime": day.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"},
        "end": {"dateTime": end.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"},
    }


def test_weekly_series_blocks_next_four_mondays(fake, calendar):
    fake.add_event(OWNER, weekly_monday_series())

    report = calendar.read_busy(utc(2026, 1, 5), utc(2026, 2, 2))

    mondays = [utc(2026, 1, d, 10) for d in (5, 12, 19, 26)]
    assert report.intervals == [
        BusyInterval(m, m + timedelta(hours=1)) for m in mondays
    ]
    assert report.warnings == []


@pytest.mark.parametrize(
    ("show_as", "kind"),
    [
        ("free", None),
        ("workingElsewhere", None),
        ("tentative", "tentative"),
        ("busy", "busy"),
        ("oof", "unavailable"),
        ("unknown", "busy"),
        ("Busy", "busy"),
        ("Tentative", "tentative"),
    ],
)
def test_schedule_status_maps_to_kind(fake, calendar, show_as, kind):
    fake.add_event(OWNER, one_hour(utc(2026, 3, 2, 9), show_as))

    report = calendar.read_busy(utc(2026, 3, 2), utc(2026, 3, 3))

    expected = (
        []
        if kind is None
        else [BusyInterval(utc(2026, 3, 2, 9), utc(2026, 3, 2, 10), kind)]
    )
    assert report.intervals == expected


def test_tentative_free_when_option_off(fake, session):
    token = fake.issue_tokens(OWNER)["access_token"]
    calendar = MicrosoftCalendar(
        lambda: token,
        OWNER,
        graph_url=fake.graph_url,
        options=ReadOptions(tentative_blocks=False),
        session=session,
    )
    fake.add_event(OWNER, one_hour(utc(2026, 3, 2, 9), "tentative"))

    report = calendar.read_busy(utc(2026, 3, 2), utc(2026, 3, 3))

    assert report.intervals == []


def test_schedule_error_is_unknown_with_warning(fake, calendar):
    fake.add_mailbox("locked@contoso.example", error_code="ErrorAccessDenied")
    start, end = utc(2026, 3, 2), utc(2026, 3, 3)

    reports = calendar.read_busy_many(["locked@contoso.example", OWNER], start, end)

    locked = reports["locked@contoso.example"]
    assert locked.intervals == [BusyInterval(start, end, "unknown")]
    assert "ErrorAccessDenied" in locked.warnings[0].message
    assert reports[OWNER].warnings == []


def test_unknown_recipient_is_unknown(fake, calendar):
    start, end = utc(2026, 3, 2), utc(2026, 3, 3)

    report = calendar.read_busy_many(["nobody@contoso.example"], start, end)

    assert report["nobody@contoso.example"].intervals == [
        BusyInterval(start, end, "unknown")
    ]


def test_windows_zone_in_reply_converted(fake, calendar):
    fake.reply_timezone = "W. Europe Standard Time"
    fake.add_event(OWNER, one_hour(utc(2026, 1, 23, 10), "busy"))

    report = calendar.read_busy(utc(2026, 1, 23), utc(2026, 1, 24))

    assert report.intervals == [
        BusyInterval(utc(2026, 1, 23, 10), utc(2026, 1, 23, 11))
    ]


def test_weekly_series_keeps_local_time_across_dst(fake, calendar):
    fake.add_event(
        OWNER,
        {
            "start": {
                "dateTime": "2026-01-06T15:00:00",
                "timeZone": "Eastern Standard Time",
            },
            "end": {
                "dateTime": "2026-01-06T16:00:00",
                "timeZone": "Eastern Standard Time",
            },
            "recurrence": {
                "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["tuesday"]},
                "range": {"type": "noEnd", "startDate": "2026-01-06"},
            },
        },
    )

    january = calendar.read_busy(utc(2026, 1, 6), utc(2026, 1, 7))
    july = calendar.read_busy(utc(2026, 7, 7), utc(2026, 7, 8))

    assert january.intervals == [BusyInterval(utc(2026, 1, 6, 20), utc(2026, 1, 6, 21))]
    assert july.intervals == [BusyInterval(utc(2026, 7, 7, 19), utc(2026, 7, 7, 20))]


def test_cancelled_occurrence_leaves_gap(fake, calendar):
    master = fake.add_event(
        OWNER,
        {
            "start": {
                "dateTime": "2016-12-12T10:15:00",
                "timeZone": "W. Europe Standard Time",
            },
            "end": {
                "dateTime": "2016-12-12T11:45:00",
                "timeZone": "W. Europe Standard Time",
            },
            "recurrence": {
                "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["monday"]},
                "range": {
                    "type": "numbered",
                    "numberOfOccurrences": 4,
                    "startDate": "2016-12-12",
                },
            },
        },
    )
    fake.add_event(
        OWNER,
        {
            "type": "exception",
            "seriesMasterId": master,
            "isCancelled": True,
            "originalStart": {"dateTime": "2016-12-26T09:15:00", "timeZone": "UTC"},
            "start": {"dateTime": "2016-12-26T09:15:00", "timeZone": "UTC"},
            "end": {"dateTime": "2016-12-26T10:45:00", "timeZone": "UTC"},
        },
    )

    report = calendar.read_busy(utc(2016, 12, 1), utc(2017, 1, 31))

    days = [utc(2016, 12, 12, 9, 15), utc(2016, 12, 19, 9, 15), utc(2017, 1, 2, 9, 15)]
    assert report.intervals == [
        BusyInterval(d, d + timedelta(minutes=90)) for d in days
    ]


def test_long_range_split_into_sixty_day_calls(fake, calendar):
    start, end = utc(2026, 1, 1), utc(2026, 7, 1)

    calendar.read_busy(start, end)

    assert fake.count("getSchedule") == math.ceil((end - start) / timedelta(days=60))
    for request in fake.requests_of("getSchedule"):
        body = request.json()
        span = datetime.fromisoformat(
            body["endTime"]["dateTime"]
        ) - datetime.fromisoformat(body["startTime"]["dateTime"])
        assert span <= timedelta(days=60)


def test_request_asks_for_utc_replies(fake, calendar):
    calendar.read_busy(utc(2026, 3, 2), utc(2026, 3, 3))

    (request,) = fake.requests_of("getSchedule")
    assert request.headers["prefer"] == 'outlook.timezone="UTC"'
    assert request.path == f"/v1.0/users/{OWNER}/calendar/getSchedule"


def test_many_mailboxes_batched_twenty_per_call(fake, calendar):
    mailboxes = [f"mentor{n}@contoso.example" for n in range(45)]
    for mailbox in mailboxes:
        fake.add_mailbox(mailbox)

    reports = calendar.read_busy_many(mailboxes, utc(2026, 3, 1), utc(2026, 3, 31))

    assert fake.count("getSchedule") == math.ceil(45 / 20)
    assert all(
        len(r.json()["schedules"]) <= 20 for r in fake.requests_of("getSchedule")
    )
    assert all(report.warnings == [] for report in reports.values())


def test_throttled_call_waits_retry_after(fake, calendar, sleeps):
    fake.inject(Fault("getSchedule", retry_after="7"))

    report = calendar.read_busy(utc(2026, 3, 2), utc(2026, 3, 3))

    assert sleeps == [7.0]
    assert report.warnings == []
    assert fake.count("getSchedule") == 2


def test_persistent_throttling_raises_rate_limited(fake, calendar, sleeps):
    fake.inject(Fault("getSchedule", retry_after="7", times=10))

    with pytest.raises(RateLimitedError) as raised:
        calendar.read_busy(utc(2026, 3, 2), utc(2026, 3, 3))

    assert raised.value.retry_after == 7.0
    assert fake.count("getSchedule") == 4
    assert sleeps == [7.0, 7.0, 7.0]


def test_server_error_raises(fake, calendar):
    fake.inject(Fault("getSchedule", status=503, retry_after=None))

    with pytest.raises(ServerError):
        calendar.read_busy(utc(2026, 3, 2), utc(2026, 3, 3))


def test_rejected_token_raises_auth_error(fake, calendar):
    fake.expire_access_tokens()

    with pytest.raises(AuthError):
        calendar.read_busy(utc(2026, 3, 2), utc(2026, 3, 3))


def fake_schedule_call(fake, session, token, schedules, days):
    body = {
        "schedules": schedules,
        "startTime": {"dateTime": "2026-01-01T00:00:00", "timeZone": "UTC"},
        "endTime": {
            "dateTime": (datetime(2026, 1, 1) + timedelta(days=days)).isoformat(),
            "timeZone": "UTC",
        },
        "availabilityViewInterval": 30,
    }
    return session.post(
        f"{fake.graph_url}/me/calendar/getSchedule",
        json=body,
        headers={"Authorization": f"Bearer {token}"},
        timeout=5,
    )


def test_fake_rejects_more_than_100_schedules(fake, session):
    token = fake.issue_tokens(OWNER)["access_token"]
    schedules = [f"m{n}@contoso.example" for n in range(101)]

    reply = fake_schedule_call(fake, session, token, schedules, 1)

    assert reply.status_code == 400
    assert reply.json()["error"]["code"] == "ErrorMailboxDataArrayTooBig"


def test_fake_rejects_62_day_range(fake, session):
    token = fake.issue_tokens(OWNER)["access_token"]

    reply = fake_schedule_call(fake, session, token, [OWNER], 62)

    assert reply.status_code == 400
    assert reply.json()["error"]["code"] == "ErrorTimeIntervalTooBig"


def test_fake_writes_seven_fraction_digits(fake, session):
    token = fake.issue_tokens(OWNER)["access_token"]
    fake.add_event(OWNER, one_hour(utc(2026, 1, 1, 9), "busy"))

    reply = fake_schedule_call(fake, session, token, [OWNER], 1)

    item = reply.json()["value"][0]["scheduleItems"][0]
    assert item["start"] == {
        "dateTime": "2026-01-01T09:00:00.0000000",
        "timeZone": "UTC",
    }


def test_throttling_without_retry_after_backs_off(fake, calendar, sleeps):
    fake.inject(Fault("getSchedule", retry_after=None, times=2))

    calendar.read_busy(utc(2026, 3, 2), utc(2026, 3, 3))

    assert sleeps == [1.0, 2.0]
