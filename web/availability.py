"""A person's availability for the matching engine, read from their calendars."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app

from calendar_sync.base import BusyInterval, CalendarSource, ReadOptions
from calendar_sync.errors import CalendarError
from calendar_sync.sources import open_source, read_busy_or_unknown
from matching.model import Availability, Interval
from web.crypto import secret_box
from web.models import CalendarConnection, Person, Program
from web.models.types import utcnow

log = logging.getLogger(__name__)


def program_window(program: Program) -> tuple[datetime, datetime]:
    """The UTC range of the program: its first day's start to its last day's end."""
    zone = ZoneInfo(program.options.get("timezone", "UTC"))
    start = datetime.combine(program.window_start, time(0), zone)
    end = datetime.combine(program.window_end + timedelta(days=1), time(0), zone)
    return start.astimezone(UTC), end.astimezone(UTC)


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

    A calendar that cannot be read makes the range unknown, which blocks like
    busy time; the failure is kept on the connection for the administrator.
    """
    intervals: list[BusyInterval] = []
    for connection in person.calendars:
        source = open_connection(connection, read_options(person, program))
        if source is None:
            intervals.append(BusyInterval(start, end, "unknown"))
            continue
        report = read_busy_or_unknown(source, start, end)
        intervals.extend(report.intervals)
        connection.last_sync_at = utcnow()
        if report.warnings:
            connection.status = "error"
            connection.last_error = "; ".join(w.message for w in report.warnings)[:2000]
        elif connection.status == "error":
            connection.status, connection.last_error = "ok", ""
    return intervals


def open_connection(
    connection: CalendarConnection, options: ReadOptions
) -> CalendarSource | None:
    """Open the calendar behind ``connection``, or None if it cannot be opened."""
    settings = current_app.config["TORACE"]
    password = secret_box().decrypt(connection.secret) if connection.secret else None
    try:
        return open_source(
            connection.url,
            base_dir=None,
            options=options,
            username=connection.username or None,
            password=password,
            timeout=settings.calendar_timeout_seconds,
        )
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
    )
