"""MicrosoftCalendar event writes against the Graph fake."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests

from calendar_sync.base import Attendee, EventSpec
from calendar_sync.microsoft import (
    KEY_PROPERTY_ID,
    MicrosoftCalendar,
    transaction_id_for,
)
from tests.fakes import loopback_session
from tests.fakes.microsoft_fake import Fault, MicrosoftFake
from tests.fakes.tls import TlsFiles, make_loopback_cert

OWNER = "mara@contoso.example"


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


def make_calendar(fake, session, **options) -> MicrosoftCalendar:
    token = fake.issue_tokens(OWNER)["access_token"]
    return MicrosoftCalendar(
        lambda: token, OWNER, graph_url=fake.graph_url, session=session, **options
    )


@pytest.fixture
def calendar(fake, session) -> MicrosoftCalendar:
    return make_calendar(fake, session, timeout=1.0)


def session_event(
    key: str = "series-7/session-1", summary: str = "Mentoring"
) -> EventSpec:
    return EventSpec(
        key=key,
        summary=summary,
        description="First of three sessions.",
        start=datetime(2026, 4, 14, 13, 0, tzinfo=UTC),
        end=datetime(2026, 4, 14, 14, 0, tzinfo=UTC),
        timezone="Europe/Berlin",
        organizer=Attendee("Mara Mentor", OWNER),
        attendees=(Attendee("Mina Mentee", "mina@contoso.example"),),
        location="Room 4",
    )


def events(fake: MicrosoftFake) -> list[dict]:
    return list(fake.mailboxes[OWNER].events.values())


def test_upsert_creates_event_with_key_property(fake, calendar):
    event_id = calendar.upsert_event(session_event())

    (stored,) = events(fake)
    assert stored["id"] == event_id
    assert stored["transactionId"] == transaction_id_for("series-7/session-1")
    assert stored["singleValueExtendedProperties"] == [
        {"id": KEY_PROPERTY_ID, "value": "series-7/session-1"}
    ]


def test_created_event_times_are_utc(fake, calendar):
    calendar.upsert_event(session_event())

    (stored,) = events(fake)
    assert stored["start"] == {"dateTime": "2026-04-14T13:00:00", "timeZone": "UTC"}
    assert stored["end"] == {"dateTime": "2026-04-14T14:00:00", "timeZone": "UTC"}


def test_attendees_not_invited_by_default(fake, calendar):
    calendar.upsert_event(session_event())

    (stored,) = events(fake)
    assert "attendees" not in stored
    assert "mina@contoso.example" in stored["body"]["content"]


def test_attendees_listed_when_inviting(fake, session):
    calendar = make_calendar(fake, session, invite_attendees=True)

    calendar.upsert_event(session_event())

    (stored,) = events(fake)
    assert stored["attendees"] == [
        {
            "emailAddress": {"address": "mina@contoso.example", "name": "Mina Mentee"},
            "type": "required",
        }
    ]


def test_second_upsert_patches_same_event(fake, calendar):
    first = calendar.upsert_event(session_event())

    second = calendar.upsert_event(session_event(summary="Mentoring, moved"))

    (stored,) = events(fake)
    assert second == first
    assert stored["subject"] == "Mentoring, moved"
    assert fake.count("patchEvent") == 1


def test_dropped_create_reply_leaves_one_event(fake, calendar):
    fake.inject(Fault("createEvent", drop=True, after=True))

    event_id = calendar.upsert_event(session_event())

    assert [event["id"] for event in events(fake)] == [event_id]
    assert fake.count("createEvent") == 1


def test_slow_create_reply_leaves_one_event(fake, calendar):
    fake.inject(
        Fault("createEvent", delay=1.5, after=True, status=201, retry_after=None)
    )

    calendar.upsert_event(session_event())

    assert len(events(fake)) == 1


def test_server_error_before_create_is_retried(fake, calendar):
    fake.inject(Fault("createEvent", status=503, retry_after=None))

    calendar.upsert_event(session_event())

    assert len(events(fake)) == 1
    assert fake.count("createEvent") == 2


def test_throttled_create_waits_and_creates_once(fake, session):
    sleeps: list[float] = []
    calendar = make_calendar(fake, session, sleep=sleeps.append)
    fake.inject(Fault("createEvent", retry_after="4"))

    calendar.upsert_event(session_event())

    assert sleeps == [4.0]
    assert len(events(fake)) == 1


def test_repeated_transaction_id_creates_one_event(fake, session):
    token = fake.issue_tokens(OWNER)["access_token"]
    body = {"subject": "x", "transactionId": "7E163156-7762-4BEB-A1C6-729EA81755A7"}
    headers = {"Authorization": f"Bearer {token}"}

    for _ in range(2):
        session.post(
            f"{fake.graph_url}/me/events", json=body, headers=headers, timeout=5
        )

    assert len(events(fake)) == 1


def test_cancel_deletes_event(fake, calendar):
    calendar.upsert_event(session_event())

    calendar.cancel_event(session_event())

    assert events(fake) == []


def test_cancel_of_missing_event_is_not_an_error(fake, calendar):
    calendar.cancel_event(session_event())

    assert fake.count("deleteEvent") == 0


def test_key_with_quote_found_again(fake, calendar):
    key = "series-'7'/session-1"
    first = calendar.upsert_event(session_event(key=key))

    second = calendar.upsert_event(session_event(key=key))

    assert second == first
    assert len(events(fake)) == 1
