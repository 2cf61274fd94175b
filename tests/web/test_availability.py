"""read_busy and availability_for built from synced busy blocks."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from tests.web.factories import make_person, make_program
from web.availability import availability_for, read_busy
from web.extensions import db
from web.models import BusyBlock, CalendarConnection, DateOverride
from web.models.types import utcnow

DAY = datetime(2027, 1, 12, tzinfo=UTC)


def synced_connection(person, kind: str, synced_at: datetime, blocks) -> None:
    connection = CalendarConnection(
        person=person,
        kind=kind,
        url="primary",
        last_sync_at=synced_at,
        sync_state={
            "synced_at": synced_at.isoformat(),
            "synced_from": (DAY - timedelta(days=1)).isoformat(),
            "synced_until": (DAY + timedelta(days=30)).isoformat(),
        },
    )
    for start, end, block_kind in blocks:
        connection.busy_blocks.append(BusyBlock(start=start, end=end, kind=block_kind))
    db.session.add(connection)
    db.session.commit()


def test_google_blocks_read_without_provider(app):
    person = make_person("ana@example.org")
    meeting = (DAY.replace(hour=15), DAY.replace(hour=16), "busy")
    synced_connection(person, "google", utcnow() - timedelta(hours=3), [meeting])

    busy = read_busy(person, make_program(), DAY, DAY + timedelta(days=1))

    assert [(b.start, b.end, b.kind) for b in busy] == [meeting]


def test_blocks_clipped_to_requested_range(app):
    person = make_person("ana@example.org")
    long_block = (DAY - timedelta(hours=2), DAY + timedelta(hours=2), "busy")
    synced_connection(person, "microsoft", utcnow(), [long_block])

    busy = read_busy(person, make_program(), DAY, DAY + timedelta(days=1))

    assert [(b.start, b.end) for b in busy] == [(DAY, DAY + timedelta(hours=2))]


def test_range_beyond_sync_is_unknown(app):
    person = make_person("ana@example.org")
    synced_connection(person, "google", utcnow(), [])
    synced_until = DAY + timedelta(days=30)

    busy = read_busy(person, make_program(), DAY, DAY + timedelta(days=40))

    assert [(b.start, b.end, b.kind) for b in busy] == [
        (synced_until, DAY + timedelta(days=40), "unknown")
    ]


def test_never_synced_google_is_unknown(app):
    person = make_person("ana@example.org")
    db.session.add(CalendarConnection(person=person, kind="google", url="primary"))
    db.session.commit()

    busy = read_busy(person, make_program(), DAY, DAY + timedelta(days=1))

    assert [(b.start, b.end, b.kind) for b in busy] == [
        (DAY, DAY + timedelta(days=1), "unknown")
    ]


def test_needs_reconnect_is_unknown(app):
    person = make_person("ana@example.org")
    synced_connection(person, "google", utcnow(), [])
    person.calendars[0].status = "needs-reconnect"

    busy = read_busy(person, make_program(), DAY, DAY + timedelta(days=1))

    assert [b.kind for b in busy] == ["unknown"]


def test_fresh_caldav_blocks_used_instead_of_live_read(app):
    person = make_person("ana@example.org")
    meeting = (DAY.replace(hour=9), DAY.replace(hour=10), "busy")
    # The URL is closed, so a live read would come back unknown.
    synced_connection(person, "caldav", utcnow() - timedelta(minutes=5), [meeting])
    person.calendars[0].url = "http://127.0.0.1:9/closed/"

    busy = read_busy(person, make_program(), DAY, DAY + timedelta(days=1))

    assert [(b.start, b.end, b.kind) for b in busy] == [meeting]


def test_stale_caldav_read_live(app):
    person = make_person("ana@example.org")
    meeting = (DAY.replace(hour=9), DAY.replace(hour=10), "busy")
    synced_connection(person, "caldav", utcnow() - timedelta(hours=1), [meeting])
    person.calendars[0].url = "http://127.0.0.1:9/closed/"

    busy = read_busy(person, make_program(), DAY, DAY + timedelta(days=1))

    assert [b.kind for b in busy] == ["unknown"]


def test_tentative_blocks_dropped_when_program_says_so(app):
    person = make_person("ana@example.org")
    maybe = (DAY.replace(hour=9), DAY.replace(hour=10), "tentative")
    synced_connection(person, "google", utcnow(), [maybe])
    program = make_program(slug="lenient")
    program.options = {"tentative_blocks": False}

    busy = read_busy(person, program, DAY, DAY + timedelta(days=1))

    assert busy == []


def test_availability_carries_date_overrides(app):
    person = make_person("ana@example.org")
    db.session.add(DateOverride(person_id=person.id, day=date(2027, 1, 14), hours=""))
    db.session.add(
        DateOverride(person_id=person.id, day=date(2027, 1, 13), hours="09:00-12:00")
    )
    db.session.commit()

    availability = availability_for(person, make_program(), [])

    assert availability.overrides == (
        (date(2027, 1, 13), "09:00-12:00"),
        (date(2027, 1, 14), ""),
    )


def test_availability_busy_from_synced_blocks(app):
    person = make_person("ana@example.org")
    meeting = (DAY.replace(hour=15), DAY.replace(hour=16), "busy")
    synced_connection(person, "google", utcnow(), [meeting])
    program = make_program()

    busy = read_busy(person, program, DAY, DAY + timedelta(days=1))
    availability = availability_for(person, program, busy)

    assert availability.busy == ((meeting[0], meeting[1]),)
