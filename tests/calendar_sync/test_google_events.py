"""GoogleCalendar event writes and incremental sync against the Google fake."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from calendar_sync.base import Attendee, EventSpec
from calendar_sync.errors import CalendarError
from calendar_sync.google import SCOPES, GoogleCalendar, event_id_for
from tests.fakes.google_fake import Fault, GoogleFake
from tests.fakes.tls import TlsFiles, make_loopback_cert


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_loopback_cert(Path(tmp_path_factory.mktemp("tls")))


@pytest.fixture
def fake(tls: TlsFiles) -> Iterator[GoogleFake]:
    with GoogleFake(tls) as running:
        running.add_calendar("primary")
        yield running


@pytest.fixture
def calendar(fake: GoogleFake, tls: TlsFiles) -> GoogleCalendar:
    grant = fake.grant()
    expiry = datetime.now(UTC) + timedelta(hours=1)
    token_info = {**grant, "expiry": expiry.isoformat(), "scopes": list(SCOPES)}
    return GoogleCalendar(
        token_info,
        fake.client_config(),
        api_endpoint=fake.api_endpoint,
        ca_certs=str(tls.cert),
        sleep=lambda seconds: None,
    )


def session(summary: str = "Mentoring: feedback conversations") -> EventSpec:
    return EventSpec(
        key="series-7/session-1",
        summary=summary,
        description="First of three sessions.",
        start=datetime(2026, 4, 14, 13, 0, tzinfo=UTC),
        end=datetime(2026, 4, 14, 14, 0, tzinfo=UTC),
        timezone="Europe/Berlin",
        organizer=Attendee("Mara Mentor", "mara@example.com"),
        attendees=(Attendee("Mina Mentee", "mina@example.com"),),
    )


def stored(fake: GoogleFake) -> list[dict[str, Any]]:
    return fake.live_events("primary")


def test_event_id_is_valid_base32hex():
    event_id = event_id_for("series-7/session-1")

    assert re.fullmatch(r"[a-v0-9]{5,1024}", event_id)


def test_event_id_is_stable_per_key():
    assert event_id_for("a") == event_id_for("a")
    assert event_id_for("a") != event_id_for("b")


def test_upsert_inserts_event_with_derived_id(fake, calendar):
    event_id = calendar.upsert_event(session())

    events = stored(fake)
    assert event_id == event_id_for("series-7/session-1")
    assert [event["id"] for event in events] == [event_id]
    assert events[0]["start"] == {
        "dateTime": "2026-04-14T15:00:00+02:00",
        "timeZone": "Europe/Berlin",
    }
    assert events[0]["attendees"] == [
        {"email": "mina@example.com", "displayName": "Mina Mentee"}
    ]


def test_upsert_sends_no_google_invitations(fake, calendar):
    calendar.upsert_event(session())

    (insert,) = [request for kind, request in fake.calls if kind == "insert"]
    assert insert.arg("sendUpdates") == "none"


def test_second_upsert_patches_same_event(fake, calendar):
    calendar.upsert_event(session())

    calendar.upsert_event(session(summary="Mentoring: moved"))

    events = stored(fake)
    assert len(events) == 1
    assert events[0]["summary"] == "Mentoring: moved"
    assert fake.count("patch") == 1


def test_dropped_insert_response_leaves_one_event(fake, calendar):
    fake.inject(Fault("insert", drop=True, after=True))

    calendar.upsert_event(session())

    assert len(stored(fake)) == 1
    assert fake.count("insert") == 2


def test_server_error_on_insert_is_retried_once(fake, calendar):
    fake.inject(Fault("insert", 503, "backendError", domain="global", after=True))

    calendar.upsert_event(session())

    assert len(stored(fake)) == 1


def test_upsert_of_deleted_event_raises(fake, calendar):
    calendar.upsert_event(session())
    calendar.cancel_event(session())

    with pytest.raises(CalendarError, match="deleted"):
        calendar.upsert_event(session())


def test_cancel_deletes_event(fake, calendar):
    calendar.upsert_event(session())

    calendar.cancel_event(session())

    assert stored(fake) == []
    assert fake.count("delete") == 1


def test_second_cancel_is_not_an_error(fake, calendar):
    calendar.upsert_event(session())
    calendar.cancel_event(session())

    calendar.cancel_event(session())

    assert fake.count("delete") == 2


def test_cancel_of_missing_event_is_not_an_error(fake, calendar):
    calendar.cancel_event(session())

    assert fake.count("delete") == 1


def test_first_sync_reports_change_and_token(fake, calendar):
    changed, token = calendar.events_changed(None)

    assert changed
    assert token


def test_sync_without_changes_reports_none(fake, calendar):
    _, token = calendar.events_changed(None)

    changed, _ = calendar.events_changed(token)

    assert not changed


def test_sync_sees_new_event(fake, calendar):
    _, token = calendar.events_changed(None)
    fake.add_event(
        "primary",
        {
            "start": {"dateTime": "2026-05-04T09:00:00Z"},
            "end": {"dateTime": "2026-05-04T10:00:00Z"},
        },
    )

    changed, next_token = calendar.events_changed(token)

    assert changed
    assert next_token != token


def test_sync_sees_deleted_event(fake, calendar):
    calendar.upsert_event(session())
    _, token = calendar.events_changed(None)
    calendar.cancel_event(session())

    changed, _ = calendar.events_changed(token)

    assert changed


def test_expired_sync_token_runs_full_sync(fake, calendar):
    _, token = calendar.events_changed(None)
    fake.expire_sync_tokens()

    changed, next_token = calendar.events_changed(token)

    assert changed
    listings = [request for kind, request in fake.calls if kind == "list"]
    assert listings[-2].arg("syncToken") == token
    assert listings[-1].arg("syncToken") is None
    assert next_token != token


def test_sync_follows_every_page(fake, calendar):
    fake.page_size = 2
    for day in range(1, 6):
        fake.add_event(
            "primary",
            {
                "start": {"dateTime": f"2026-05-0{day}T09:00:00Z"},
                "end": {"dateTime": f"2026-05-0{day}T10:00:00Z"},
            },
        )

    calendar.events_changed(None)

    assert fake.count("list") == 3
