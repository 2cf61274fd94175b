"""A person's availability for the matching engine, read from their calendars."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app

from calendar_sync.base import BusyInterval, CalendarSource, ReadOptions
from calendar_sync.caldav_source import CalDAVSource
from calendar_sync.errors import CalendarError
from calendar_sync.feed import IcsFeedSource
from calendar_sync.sources import open_source, read_busy_or_unknown
from matching.model import Availability, Interval
from web.extensions import db
from web.models import BusyBlock, CalendarConnection, DateOverride, Person, Program
from web.models.types import utcnow

log = logging.getLogger(__name__)

# Kinds read only from synced blocks: their providers are read in batches.
SYNCED_KINDS = ("google", "microsoft")
# Blocks synced this recently are used instead of reading the calendar live.
FRESH_FOR = timedelta(minutes=15)


def program_window(program: Program) -> tuple[datetime, datetime]:
    """The UTC range of the program: its first day's start to its last day's end."""
    zone = ZoneInfo(program.options.get("timezone", "UTC"))
    start = datetime.combine(program.window_start, time(0), zone)
    end = datetime.combine(program.window_end + timedelta(days=1), time(0), zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def read_options_for_person(person: Person) -> ReadOptions:
    """Return how a person's calendars are read outside any program."""
    return ReadOptions(owner_timezone=person.timezone, owner_email=person.email)


def read_options(person: Person, program: Program) -> ReadOptions:
    return ReadOptions(
        owner_timezone=person.timezone,
        owner_email=person.email,
        all_day_blocks=bool(program.options.get("all_day_blocks", True)),
        tentative_blocks=bool(program.options.get("tentative_blocks", True)),
    )


def read_busy(
    person: Person, program: Program, start: datetime, end: datetime
) -> list[BusyInterval]:
    """Read the busy time of every calendar ``person`` connected, in UTC.

    Google and Microsoft calendars, and any calendar synced within
    FRESH_FOR, come from the synced busy blocks. Other calendars are read
    live. A calendar that cannot be read makes the range unknown, which
    blocks like busy time; the failure is kept on the connection.
    """
    now = utcnow()
    options = read_options(person, program)
    intervals: list[BusyInterval] = []
    for connection in person.calendars:
        if connection.kind in SYNCED_KINDS or is_fresh(connection, now):
            intervals.extend(synced_busy(connection, options, start, end))
        else:
            intervals.extend(_read_live(connection, options, start, end))
    return intervals


def is_fresh(connection: CalendarConnection, now: datetime) -> bool:
    """Whether the connection's blocks were synced within FRESH_FOR."""
    # sync_all sets "synced_at"; a live read sets only last_sync_at.
    synced = (connection.sync_state or {}).get("synced_at")
    return synced is not None and now - datetime.fromisoformat(synced) <= FRESH_FOR


def synced_busy(
    connection: CalendarConnection, options: ReadOptions, start: datetime, end: datetime
) -> list[BusyInterval]:
    """Return the synced blocks overlapping ``[start, end)``, clipped to it.

    Any part of the range the last sync did not cover is unknown, and so is
    the whole range of a connection that needs reconnecting.
    """
    if connection.status == "needs-reconnect":
        return [BusyInterval(start, end, "unknown")]
    blocks = db.session.scalars(
        db.select(BusyBlock).filter(
            BusyBlock.connection_id == connection.id,
            BusyBlock.start < end,
            BusyBlock.end > start,
        )
    )
    intervals = [
        BusyInterval(max(b.start, start), min(b.end, end), b.kind)
        for b in blocks
        if b.kind != "tentative" or options.tentative_blocks
    ]
    return intervals + _uncovered(connection, start, end)


def _uncovered(
    connection: CalendarConnection, start: datetime, end: datetime
) -> list[BusyInterval]:
    state = connection.sync_state or {}
    if "synced_at" not in state or "synced_from" not in state:
        # Never synced, or the last sync failed before reading: blocks, if any,
        # are unknown ones already; with none, say unknown here.
        has_blocks = db.session.scalar(
            db.select(BusyBlock.id).filter_by(connection_id=connection.id).limit(1)
        )
        return [] if has_blocks else [BusyInterval(start, end, "unknown")]
    covered_from = datetime.fromisoformat(state["synced_from"])
    covered_to = datetime.fromisoformat(
        state.get("synced_until") or state["synced_from"]
    )
    gaps = []
    if start < covered_from:
        gaps.append(BusyInterval(start, min(end, covered_from), "unknown"))
    if end > covered_to:
        gaps.append(BusyInterval(max(start, covered_to), end, "unknown"))
    return gaps


def _read_live(
    connection: CalendarConnection, options: ReadOptions, start: datetime, end: datetime
) -> list[BusyInterval]:
    source = open_connection(connection, options)
    if source is None:
        return [BusyInterval(start, end, "unknown")]
    if connection.kind == "url":
        _recognise(connection, source)
    report = read_busy_or_unknown(source, start, end)
    connection.last_sync_at = utcnow()
    if report.warnings:
        connection.status = "error"
        connection.last_error = "; ".join(w.message for w in report.warnings)[:2000]
    elif connection.status == "error":
        connection.status, connection.last_error = "ok", ""
    return list(report.intervals)


def _recognise(connection: CalendarConnection, source: CalendarSource) -> None:
    """Store what a pasted address turned out to be, so it is probed only once."""
    if isinstance(source, CalDAVSource):
        connection.kind = "caldav"
    elif isinstance(source, IcsFeedSource):
        connection.kind = "ics-feed"


def open_connection(
    connection: CalendarConnection, options: ReadOptions
) -> CalendarSource | None:
    """Open the calendar behind ``connection``, or None if it cannot be opened.

    Google and Microsoft connections are opened with their stored grant; a
    rejected or unreadable grant marks the connection for reconnecting.
    """
    from calendar_sync.errors import AuthError
    from web.oauth import open_provider_calendar, open_secret
    from web.sync import mark_needs_reconnect

    settings = current_app.config["TORACE"]
    try:
        if connection.kind in SYNCED_KINDS:
            return open_provider_calendar(connection, options)
        password = open_secret(connection) or None
        return open_source(
            connection.url,
            base_dir=None,
            options=options,
            username=connection.username or None,
            password=password,
            timeout=settings.calendar_timeout_seconds,
        )
    except AuthError as error:
        mark_needs_reconnect(connection, str(error))
        return None
    except (CalendarError, ValueError, OSError) as error:
        log.warning(
            "calendar %s of person %s cannot be opened: %s",
            connection.id,
            connection.person_id,
            error,
        )
        connection.status = "error"
        connection.last_error = str(error)[:2000]
        return None


def date_overrides(person: Person) -> tuple[tuple[date, str], ...]:
    """Return the person's date overrides as (local date, hours) pairs."""
    rows = db.session.scalars(
        db.select(DateOverride)
        .filter_by(person_id=person.id)
        .order_by(DateOverride.day)
    )
    return tuple((row.day, row.hours) for row in rows)


def availability_for(
    person: Person,
    program: Program,
    busy: list[BusyInterval],
    held: list[Interval] | None = None,
) -> Availability:
    """Build the engine's view of ``person``: zone, hours and blocking time."""
    blocking = tuple(sorted((b.start, b.end) for b in busy))
    return Availability(
        timezone=person.timezone,
        hours=person.hours or program.hours,
        busy=blocking + tuple(held or ()),
        overrides=date_overrides(person),
    )
