"""The iTIP REQUEST and CANCEL calendars, checked by parsing the bytes back."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest
from icalendar import Calendar, Event, Timezone

from calendar_sync.base import Attendee, EventSpec
from mail.itip import build_itip
from tests.mail.conftest import (
    MENTEE,
    MENTOR,
    SESSION_START_UTC,
    SESSION_UID,
)


def build(event: EventSpec, method: str = "REQUEST", sequence: int = 0) -> bytes:
    return build_itip(
        method,  # type: ignore[arg-type]
        event,
        uid=SESSION_UID,
        sequence=sequence,
        recipient=MENTEE,
    )


def only_event(data: bytes) -> Event:
    events = Calendar.from_ical(data).events
    assert len(events) == 1
    return events[0]


def test_request_has_method_request(session_event: EventSpec) -> None:
    calendar = Calendar.from_ical(build(session_event, "REQUEST"))

    assert calendar["METHOD"] == "REQUEST"


def test_request_event_is_confirmed(session_event: EventSpec) -> None:
    event = only_event(build(session_event, "REQUEST"))

    assert event["STATUS"] == "CONFIRMED"


def test_cancel_has_method_cancel(session_event: EventSpec) -> None:
    calendar = Calendar.from_ical(build(session_event, "CANCEL", sequence=1))

    assert calendar["METHOD"] == "CANCEL"


def test_cancel_event_is_cancelled(session_event: EventSpec) -> None:
    event = only_event(build(session_event, "CANCEL", sequence=1))

    assert event["STATUS"] == "CANCELLED"


def test_uid_is_same_for_request_and_cancel(session_event: EventSpec) -> None:
    request = only_event(build(session_event, "REQUEST"))
    cancel = only_event(build(session_event, "CANCEL", sequence=1))

    assert request["UID"] == SESSION_UID
    assert cancel["UID"] == SESSION_UID


@pytest.mark.parametrize("sequence", [0, 1, 7])
def test_sequence_is_written_as_given(session_event: EventSpec, sequence: int) -> None:
    event = only_event(build(session_event, sequence=sequence))

    assert event["SEQUENCE"] == sequence


def test_dtstart_is_the_event_start_instant(session_event: EventSpec) -> None:
    event = only_event(build(session_event))

    # 09:00 CEST on 31 March 2025 is 07:00 UTC.
    assert event.start == datetime(2025, 3, 31, 7, 0, tzinfo=UTC)
    assert event.end == datetime(2025, 3, 31, 7, 45, tzinfo=UTC)


def test_dtstart_is_wall_time_in_event_zone(session_event: EventSpec) -> None:
    lines = build(session_event).split(b"\r\n")

    assert b"DTSTART;TZID=Europe/Berlin:20250331T090000" in lines
    assert b"DTEND;TZID=Europe/Berlin:20250331T094500" in lines


def test_vtimezone_present_for_every_tzid(session_event: EventSpec) -> None:
    new_york = dataclasses.replace(session_event, timezone="America/New_York")

    for event in (session_event, new_york):
        calendar = Calendar.from_ical(build(event))
        used = calendar.get_used_tzids()
        defined = {timezone.tz_name for timezone in calendar.timezones}
        assert used == {event.timezone}
        assert defined == used


def test_vtimezone_rules_give_event_instant(session_event: EventSpec) -> None:
    calendar = Calendar.from_ical(build(session_event))
    (vtimezone,) = calendar.timezones

    # Build the zone from the VTIMEZONE rules alone, not from the TZID name.
    zone = Timezone.to_tz(vtimezone, lookup_tzid=False)
    wall_time = datetime(2025, 3, 31, 9, 0, tzinfo=zone)

    assert wall_time == SESSION_START_UTC


def test_vtimezone_rules_give_winter_offset(session_event: EventSpec) -> None:
    winter = dataclasses.replace(
        session_event,
        start=datetime(2025, 1, 13, 8, 0, tzinfo=UTC),
        end=datetime(2025, 1, 13, 8, 45, tzinfo=UTC),
    )
    (vtimezone,) = Calendar.from_ical(build(winter)).timezones

    zone = Timezone.to_tz(vtimezone, lookup_tzid=False)

    # Berlin is UTC+1 (CET) in January.
    assert datetime(2025, 1, 13, 9, 0, tzinfo=zone) == winter.start


def test_utc_event_has_no_vtimezone(session_event: EventSpec) -> None:
    in_utc = dataclasses.replace(session_event, timezone="UTC")
    data = build(in_utc)

    assert Calendar.from_ical(data).timezones == []
    assert b"DTSTART:20250331T070000Z" in data.split(b"\r\n")


def test_organizer_is_mentor_with_name(session_event: EventSpec) -> None:
    organizer = only_event(build(session_event))["ORGANIZER"]

    assert str(organizer) == "mailto:ada@example.org"
    assert organizer.params["CN"] == "Ada Lovelace"


def test_attendee_is_asked_to_reply(session_event: EventSpec) -> None:
    attendee = only_event(build(session_event))["ATTENDEE"]

    assert str(attendee) == "mailto:zoe@example.org"
    assert attendee.params["CN"] == "Zoë Brontë"
    assert attendee.params["ROLE"] == "REQ-PARTICIPANT"
    assert attendee.params["PARTSTAT"] == "NEEDS-ACTION"
    assert attendee.params["RSVP"] == "TRUE"


def test_every_attendee_is_listed(session_event: EventSpec) -> None:
    observer = Attendee(name="Sam Okafor", email="sam@example.org")
    two = dataclasses.replace(session_event, attendees=(MENTEE, observer))

    attendees = only_event(build(two))["ATTENDEE"]

    assert [str(a) for a in attendees] == [
        "mailto:zoe@example.org",
        "mailto:sam@example.org",
    ]


def test_text_properties_round_trip(session_event: EventSpec) -> None:
    event = only_event(build(session_event))

    assert event["SUMMARY"] == session_event.summary
    assert event["DESCRIPTION"] == session_event.description
    assert event["LOCATION"] == "Video call"


def test_text_separators_are_escaped(session_event: EventSpec) -> None:
    lines = build(session_event).split(b"\r\n")

    assert b"SUMMARY:Mentoring: social and emotional learning\\; part 1" in lines


def test_empty_location_is_left_out(session_event: EventSpec) -> None:
    no_room = dataclasses.replace(session_event, location="")

    assert "LOCATION" not in only_event(build(no_room))


def test_dtstamp_is_utc(session_event: EventSpec) -> None:
    stamp = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
    data = build_itip(
        "REQUEST",
        session_event,
        uid=SESSION_UID,
        sequence=0,
        recipient=MENTEE,
        dtstamp=stamp,
    )

    assert b"DTSTAMP:20250301T120000Z" in data.split(b"\r\n")


def test_lines_end_with_crlf(session_event: EventSpec) -> None:
    data = build(session_event)

    assert data.endswith(b"\r\n")
    assert b"\n" not in data.replace(b"\r\n", b"")


def test_long_lines_are_folded(session_event: EventSpec) -> None:
    wordy = dataclasses.replace(session_event, description="Prepare: " + "ü" * 200)
    data = build(wordy)

    for line in data.split(b"\r\n"):
        assert len(line) <= 75
    assert only_event(data)["DESCRIPTION"] == wordy.description


def test_prodid_is_torace(session_event: EventSpec) -> None:
    calendar = Calendar.from_ical(build(session_event))

    assert calendar["PRODID"] == "-//Torace//Mentoring//EN"
    assert calendar["VERSION"] == "2.0"


def test_organizer_may_be_recipient(session_event: EventSpec) -> None:
    data = build_itip(
        "REQUEST", session_event, uid=SESSION_UID, sequence=0, recipient=MENTOR
    )

    assert only_event(data)["UID"] == SESSION_UID


def test_stranger_recipient_is_rejected(session_event: EventSpec) -> None:
    stranger = Attendee(name="Eve", email="eve@example.org")

    with pytest.raises(ValueError, match="eve@example.org"):
        build_itip(
            "REQUEST", session_event, uid=SESSION_UID, sequence=0, recipient=stranger
        )


def test_naive_start_is_rejected(session_event: EventSpec) -> None:
    naive = dataclasses.replace(session_event, start=datetime(2025, 3, 31, 9, 0))

    with pytest.raises(ValueError, match="no time zone"):
        build(naive)


def test_end_before_start_is_rejected(session_event: EventSpec) -> None:
    backwards = dataclasses.replace(session_event, end=session_event.start)

    with pytest.raises(ValueError, match="not after start"):
        build(backwards)


def test_unknown_zone_is_rejected(session_event: EventSpec) -> None:
    unknown = dataclasses.replace(session_event, timezone="Mars/Olympus_Mons")

    with pytest.raises(ValueError, match="Mars/Olympus_Mons"):
        build(unknown)


def test_negative_sequence_is_rejected(session_event: EventSpec) -> None:
    with pytest.raises(ValueError, match="sequence -1"):
        build(session_event, sequence=-1)


def test_publish_method_is_rejected(session_event: EventSpec) -> None:
    with pytest.raises(ValueError, match="PUBLISH"):
        build(session_event, "PUBLISH")
