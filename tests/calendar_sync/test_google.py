"""GoogleCalendar busy time against the loopback Google fake."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from calendar_sync.base import BusyInterval
from calendar_sync.errors import (
    AuthError,
    ProviderTimeoutError,
    RateLimitedError,
    ServerError,
)
from calendar_sync.google import SCOPES, GoogleCalendar
from tests.fakes import loopback_session
from tests.fakes.google_fake import Fault, GoogleFake
from tests.fakes.tls import TlsFiles, make_loopback_cert


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_loopback_cert(Path(tmp_path_factory.mktemp("tls")))


@pytest.fixture
def fake(tls: TlsFiles) -> Iterator[GoogleFake]:
    with GoogleFake(tls) as running:
        running.add_calendar("primary")
        yield running


@pytest.fixture
def token_info(fake: GoogleFake) -> dict[str, Any]:
    grant = fake.grant()
    expiry = datetime.now(UTC) + timedelta(hours=1)
    return {**grant, "expiry": expiry.isoformat(), "scopes": list(SCOPES)}


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def calendar(
    fake: GoogleFake, token_info: dict[str, Any], tls: TlsFiles, sleeps: list[float]
) -> GoogleCalendar:
    return GoogleCalendar(
        token_info,
        fake.client_config(),
        "primary",
        api_endpoint=fake.api_endpoint,
        ca_certs=str(tls.cert),
        sleep=sleeps.append,
    )


def weekly_monday_series() -> dict[str, Any]:
    return {
        "summary": "Team sync",
        "start": {"dateTime": "2026-01-05T10:00:00Z", "timeZone": "UTC"},
        "end": {"dateTime": "2026-01-05T11:00:00Z", "timeZone": "UTC"},
        "recurrence": ["RRULE:FREQ=WEEKLY;BYDAY=MO"],
    }


def test_weekly_series_blocks_next_four_mondays(fake, calendar):
    fake.add_event("primary", weekly_monday_series())

    report = calendar.read_busy(utc(2026, 1, 5), utc(2026, 2, 2))

    mondays = [utc(2026, 1, 5, 10), utc(2026, 1, 12, 10), utc(2026, 1, 19, 10)]
    mondays.append(utc(2026, 1, 26, 10))
    expected = [BusyInterval(m, m + timedelta(hours=1), "busy") for m in mondays]
    assert report.intervals == expected
    assert report.warnings == []


def test_transparent_event_is_not_busy(fake, calendar):
    fake.add_event(
        "primary",
        {
            "start": {"date": "2021-10-27"},
            "end": {"date": "2021-11-08"},
            "transparency": "transparent",
        },
    )

    report = calendar.read_busy(utc(2021, 10, 26), utc(2021, 11, 9))

    assert report.intervals == []


def test_cancelled_event_is_not_busy(fake, calendar):
    fake.add_event(
        "primary",
        {
            "status": "cancelled",
            "start": {"dateTime": "2026-03-10T09:00:00Z"},
            "end": {"dateTime": "2026-03-10T10:00:00Z"},
        },
    )

    report = calendar.read_busy(utc(2026, 3, 10), utc(2026, 3, 11))

    assert report.intervals == []


def test_cancelled_occurrence_leaves_gap(fake, calendar):
    master = fake.add_event(
        "primary",
        {
            "start": {"dateTime": "2016-12-12T10:15:00", "timeZone": "Europe/Berlin"},
            "end": {"dateTime": "2016-12-12T11:45:00", "timeZone": "Europe/Berlin"},
            "recurrence": ["RRULE:FREQ=WEEKLY;BYDAY=MO;COUNT=4"],
        },
    )
    fake.add_event(
        "primary",
        {
            "status": "cancelled",
            "recurringEventId": master,
            "originalStartTime": {"dateTime": "2016-12-26T09:15:00Z"},
            "start": {"dateTime": "2016-12-26T09:15:00Z"},
            "end": {"dateTime": "2016-12-26T10:45:00Z"},
        },
    )

    report = calendar.read_busy(utc(2016, 12, 1), utc(2017, 1, 31))

    days = [utc(2016, 12, 12, 9, 15), utc(2016, 12, 19, 9, 15), utc(2017, 1, 2, 9, 15)]
    expected = [BusyInterval(d, d + timedelta(minutes=90)) for d in days]
    assert report.intervals == expected


def test_moved_occurrence_busy_only_at_new_time(fake, calendar):
    master = fake.add_event(
        "primary",
        {
            "start": {"dateTime": "2021-07-05T14:00:00", "timeZone": "Europe/Berlin"},
            "end": {"dateTime": "2021-07-05T14:30:00", "timeZone": "Europe/Berlin"},
            "recurrence": ["RRULE:FREQ=DAILY"],
        },
    )
    fake.add_event(
        "primary",
        {
            "recurringEventId": master,
            "originalStartTime": {
                "dateTime": "2021-07-08T14:00:00",
                "timeZone": "Europe/Berlin",
            },
            "start": {"dateTime": "2021-07-08T14:15:00+02:00"},
            "end": {"dateTime": "2021-07-08T14:45:00+02:00"},
        },
    )

    report = calendar.read_busy(utc(2021, 7, 8), utc(2021, 7, 9))

    assert report.intervals == [
        BusyInterval(utc(2021, 7, 8, 12, 15), utc(2021, 7, 8, 12, 45))
    ]


def test_weekly_series_keeps_local_time_across_dst(fake, calendar):
    fake.add_event(
        "primary",
        {
            "start": {
                "dateTime": "2026-01-06T15:00:00",
                "timeZone": "America/New_York",
            },
            "end": {"dateTime": "2026-01-06T16:00:00", "timeZone": "America/New_York"},
            "recurrence": ["RRULE:FREQ=WEEKLY"],
        },
    )

    january = calendar.read_busy(utc(2026, 1, 6), utc(2026, 1, 7))
    july = calendar.read_busy(utc(2026, 7, 7), utc(2026, 7, 8))

    assert january.intervals == [BusyInterval(utc(2026, 1, 6, 20), utc(2026, 1, 6, 21))]
    assert july.intervals == [BusyInterval(utc(2026, 7, 7, 19), utc(2026, 7, 7, 20))]


def test_all_day_event_covers_owner_local_day(fake, calendar):
    fake.calendars["primary"].timezone = "Europe/Berlin"
    fake.add_event(
        "primary", {"start": {"date": "2026-07-01"}, "end": {"date": "2026-07-02"}}
    )

    report = calendar.read_busy(utc(2026, 6, 29), utc(2026, 7, 3))

    assert report.intervals == [BusyInterval(utc(2026, 6, 30, 22), utc(2026, 7, 1, 22))]


def test_not_found_calendar_is_unknown_with_warning(fake, calendar):
    fake.add_calendar("colleague@example.com")
    fake.add_event(
        "colleague@example.com",
        {
            "start": {"dateTime": "2026-02-02T09:00:00Z"},
            "end": {"dateTime": "2026-02-02T10:00:00Z"},
        },
    )
    start, end = utc(2026, 2, 2), utc(2026, 2, 3)

    reports = calendar.read_busy_many(
        ["missing@example.com", "colleague@example.com"], start, end
    )

    missing = reports["missing@example.com"]
    assert missing.intervals == [BusyInterval(start, end, "unknown")]
    assert len(missing.warnings) == 1
    assert "notFound" in missing.warnings[0].message
    readable = reports["colleague@example.com"]
    assert readable.intervals == [BusyInterval(utc(2026, 2, 2, 9), utc(2026, 2, 2, 10))]


def test_configured_calendar_error_is_unknown(fake, calendar):
    fake.calendars["primary"].error_reason = "internalError"
    start, end = utc(2026, 2, 2), utc(2026, 2, 3)

    report = calendar.read_busy(start, end)

    assert report.intervals == [BusyInterval(start, end, "unknown")]
    assert "internalError" in report.warnings[0].message


def test_long_range_split_into_sixty_day_queries(fake, calendar):
    start, end = utc(2026, 1, 1), utc(2026, 7, 1)

    calendar.read_busy(start, end)

    expected_calls = math.ceil((end - start) / timedelta(days=60))
    assert fake.count("freeBusy") == expected_calls


def test_every_query_spans_at_most_sixty_days(fake, calendar):
    calendar.read_busy(utc(2026, 1, 1), utc(2026, 12, 31))

    for _, request in fake.calls:
        body = request.json()
        span = datetime.fromisoformat(body["timeMax"]) - datetime.fromisoformat(
            body["timeMin"]
        )
        assert span <= timedelta(days=60)


def test_busy_time_across_chunk_boundary_is_one_interval(fake, calendar):
    start = utc(2026, 1, 1)
    boundary = start + timedelta(days=60)
    fake.add_event(
        "primary",
        {
            "start": {"dateTime": (boundary - timedelta(hours=1)).isoformat()},
            "end": {"dateTime": (boundary + timedelta(hours=1)).isoformat()},
        },
    )

    report = calendar.read_busy(start, start + timedelta(days=90))

    assert report.intervals == [
        BusyInterval(boundary - timedelta(hours=1), boundary + timedelta(hours=1))
    ]


def test_many_calendars_batched_fifty_per_query(fake, calendar):
    ids = [f"mentor{n}@example.com" for n in range(120)]
    for calendar_id in ids:
        fake.add_calendar(calendar_id)

    reports = calendar.read_busy_many(ids, utc(2026, 3, 1), utc(2026, 3, 31))

    assert fake.count("freeBusy") == math.ceil(120 / 50)
    assert all(len(request.json()["items"]) <= 50 for _, request in fake.calls)
    assert all(report.warnings == [] for report in reports.values())


def test_rate_limit_retry_after_is_honoured(fake, calendar, sleeps):
    fake.inject(Fault("freeBusy", 429, "rateLimitExceeded", retry_after="3"))

    report = calendar.read_busy(utc(2026, 3, 1), utc(2026, 3, 2))

    assert sleeps == [3.0]
    assert report.warnings == []
    assert fake.count("freeBusy") == 2


def test_persistent_rate_limit_raises_with_wait(fake, calendar, sleeps):
    fake.inject(Fault("freeBusy", 403, "userRateLimitExceeded", times=10))

    with pytest.raises(RateLimitedError) as raised:
        calendar.read_busy(utc(2026, 3, 1), utc(2026, 3, 2))

    assert raised.value.retry_after > 0
    assert len(sleeps) == 2


def test_server_error_raises_server_error(fake, calendar):
    fake.inject(Fault("freeBusy", 500, "backendError", domain="global"))

    with pytest.raises(ServerError):
        calendar.read_busy(utc(2026, 3, 1), utc(2026, 3, 2))


def test_slow_reply_raises_timeout(fake, token_info, tls):
    fake.inject(Fault("freeBusy", delay=1.5, drop=True))
    slow = GoogleCalendar(
        token_info,
        fake.client_config(),
        api_endpoint=fake.api_endpoint,
        ca_certs=str(tls.cert),
        timeout=0.3,
    )

    with pytest.raises(ProviderTimeoutError):
        slow.read_busy(utc(2026, 3, 1), utc(2026, 3, 2))


def test_expired_access_token_is_refreshed(fake, token_info, tls):
    stale = {
        **token_info,
        "expiry": (datetime.now(UTC) - timedelta(minutes=5)).isoformat(),
    }
    calendar = GoogleCalendar(
        stale,
        fake.client_config(),
        api_endpoint=fake.api_endpoint,
        ca_certs=str(tls.cert),
    )

    calendar.read_busy(utc(2026, 3, 1), utc(2026, 3, 2))

    assert fake.count("token") == 1
    assert calendar.token_info_changed
    assert calendar.token_info["access_token"] != token_info["access_token"]
    assert calendar.token_info["refresh_token"] == token_info["refresh_token"]


def test_rejected_access_token_is_refreshed_and_retried(fake, calendar):
    fake.expire_access_tokens()

    report = calendar.read_busy(utc(2026, 3, 1), utc(2026, 3, 2))

    assert report.warnings == []
    assert fake.count("token") == 1
    assert fake.count("freeBusy") == 2


def test_revoked_refresh_token_raises_auth_error(fake, calendar, token_info):
    fake.revoke(token_info["refresh_token"])

    with pytest.raises(AuthError, match="reconnect"):
        calendar.read_busy(utc(2026, 3, 1), utc(2026, 3, 2))


def test_naive_range_rejected(calendar):
    with pytest.raises(ValueError, match="naive"):
        calendar.read_busy(datetime(2026, 3, 1), datetime(2026, 3, 2))


def test_quota_exceeded_raises_without_retry(fake, calendar, sleeps):
    fake.inject(Fault("freeBusy", 403, "quotaExceeded"))

    with pytest.raises(RateLimitedError):
        calendar.read_busy(utc(2026, 3, 1), utc(2026, 3, 2))

    assert sleeps == []


def post_free_busy(fake, session, token, body):
    return session.post(
        f"{fake.api_endpoint}freeBusy",
        json=body,
        headers={"Authorization": f"Bearer {token}"},
        timeout=5,
    )


@pytest.fixture
def session(tls):
    with loopback_session(tls) as opened:
        yield opened


def test_fake_rejects_empty_range_with_documented_body(fake, session, token_info):
    body = {"timeMin": "2026-03-02T00:00:00Z", "timeMax": "2026-03-02T00:00:00Z"}

    reply = post_free_busy(fake, session, token_info["access_token"], body)

    assert reply.status_code == 400
    assert reply.json() == {
        "error": {
            "errors": [
                {
                    "domain": "calendar",
                    "reason": "timeRangeEmpty",
                    "message": "The specified time range is empty.",
                    "locationType": "parameter",
                    "location": "timeMax",
                }
            ],
            "code": 400,
            "message": "The specified time range is empty.",
        }
    }


def test_fake_rejects_too_long_range(fake, session, token_info):
    body = {"timeMin": "2026-01-01T00:00:00Z", "timeMax": "2026-03-03T00:00:00Z"}

    reply = post_free_busy(fake, session, token_info["access_token"], body)

    assert reply.status_code == 400
    assert reply.json()["error"]["errors"][0]["reason"] == "timeRangeTooLong"


def test_fake_flags_calendars_past_fifty(fake, session, token_info):
    items = [{"id": "primary"} for _ in range(50)] + [{"id": "extra@example.com"}]
    fake.add_calendar("extra@example.com")
    body = {
        "timeMin": "2026-03-02T00:00:00Z",
        "timeMax": "2026-03-03T00:00:00Z",
        "items": items,
    }

    reply = post_free_busy(fake, session, token_info["access_token"], body)

    calendars = reply.json()["calendars"]
    assert calendars["extra@example.com"]["errors"][0]["reason"] == (
        "tooManyCalendarsRequested"
    )
    assert "errors" not in calendars["primary"]
