"""Manual overrides: another mentor, another slot, rejection; same rules as matching."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from email import message_from_bytes, policy
from zoneinfo import ZoneInfo

import icalendar
import pytest
from flask import Flask

from tests.web.factories import FIRST_SESSION, booked_series, make_person
from web.booking import approve
from web.extensions import db
from web.models import BookedTime, Membership, OutboxMessage, Person, Series
from web.overrides import (
    OverrideRejected,
    change_mentor,
    change_slot,
    eligible_mentors,
    reject,
)
from web.rescheduling import other_times

NOW = datetime(2027, 1, 4, 12, 0, tzinfo=UTC)
CHICAGO = ZoneInfo("America/Chicago")


@pytest.fixture
def series(app: Flask) -> Series:
    return booked_series(sessions=2)


def add_mentor(
    series: Series,
    email: str,
    offers: tuple[str, ...] = ("literacy coaching",),
    hours: str = "",
    capacity: int | None = None,
) -> Person:
    person = make_person(email)
    person.hours = hours
    db.session.add(
        Membership(
            program=series.program,
            person=person,
            role="mentor",
            offers=list(offers),
            capacity=capacity,
        )
    )
    db.session.commit()
    return person


def test_eligible_mentors_offer_topic_and_have_capacity(series: Series) -> None:
    add_mentor(series, "ivy@example.org")
    add_mentor(series, "jo@example.org", offers=("robotics",))
    add_mentor(series, "kim@example.org", capacity=0)

    names = [m.person.email for m in eligible_mentors(series)]

    assert names == ["ivy@example.org"]


def test_change_mentor_plans_inside_new_mentors_hours(series: Series) -> None:
    ivy = add_mentor(series, "ivy@example.org", hours="Mon-Fri 13:00-15:00")

    change_mentor(series, ivy, "admin:lead@example.org", NOW)

    assert series.mentor_id == ivy.id
    assert series.match.mentor_id == ivy.id
    for session in series.sessions:
        local = session.start.astimezone(CHICAGO)
        assert local.weekday() < 5
        assert time(13) <= local.time()
        assert session.end.astimezone(CHICAGO).time() <= time(15)
    assert series.sessions[1].start - series.sessions[0].start >= timedelta(days=7)


def test_change_mentor_moves_the_held_time(series: Series) -> None:
    ivy = add_mentor(series, "ivy@example.org")
    old_mentor = series.mentor_id

    change_mentor(series, ivy, "admin", NOW)

    holders = set(db.session.scalars(db.select(BookedTime.person_id)))
    assert ivy.id in holders
    assert old_mentor not in holders


def test_change_mentor_without_common_time_is_rejected(series: Series) -> None:
    # Saturday hours never meet the mentee's weekday program hours.
    ivy = add_mentor(series, "ivy@example.org", hours="Sat 09:00-12:00")
    before = [s.start for s in series.sessions]

    with pytest.raises(OverrideRejected, match="no 2 session"):
        change_mentor(series, ivy, "admin", NOW)

    db.session.expire_all()
    assert series.mentor.email == "mentor@example.org"
    assert [s.start for s in series.sessions] == before


def test_change_to_ineligible_mentor_is_rejected(series: Series) -> None:
    jo = add_mentor(series, "jo@example.org", offers=("robotics",))

    with pytest.raises(OverrideRejected, match="not an eligible mentor"):
        change_mentor(series, jo, "admin", NOW)


def test_change_slot_to_an_offered_time(series: Series) -> None:
    session = series.sessions[0]
    offered = other_times(session, NOW)[0].start

    change_slot(session, offered, "admin", NOW)

    assert session.start == offered
    assert session.end == offered + timedelta(minutes=45)
    assert series.status == "pending-approval"


def test_change_slot_outside_hours_is_rejected(series: Series) -> None:
    session = series.sessions[0]
    # 03:00 in Chicago is outside the program's 08:00-17:00 hours.
    night = datetime(2027, 1, 13, 9, 0, tzinfo=UTC)

    with pytest.raises(OverrideRejected, match="cannot be booked"):
        change_slot(session, night, "admin", NOW)

    assert session.start == FIRST_SESSION


def test_change_slot_after_invitation_raises_sequence(series: Series) -> None:
    approve([series], "admin", now=NOW)
    session = series.sessions[0]
    offered = other_times(session, NOW)[0].start

    change_slot(session, offered, "admin", NOW)

    update = db.session.scalars(
        db.select(OutboxMessage)
        .filter_by(recipient="mentee@example.org", kind="invitation")
        .order_by(OutboxMessage.id.desc())
    ).first()
    message = message_from_bytes(update.raw, policy=policy.default)
    part = next(p for p in message.walk() if p.get_content_type() == "text/calendar")
    event = icalendar.Calendar.from_ical(part.get_content()).walk("VEVENT")[0]
    assert str(event["UID"]) == session.uid
    assert int(event["SEQUENCE"]) == 1
    assert event.decoded("DTSTART") == offered


def test_reject_needs_a_pending_series(series: Series) -> None:
    approve([series], "admin", now=NOW)

    with pytest.raises(OverrideRejected, match="only a series pending approval"):
        reject(series, "admin", "too late")
