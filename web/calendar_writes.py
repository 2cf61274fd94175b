"""Writing booked sessions to the mentor's connected calendar.

Writes happen after the approval is committed, so a provider that fails
never undoes an approval: the session keeps ``calendar_write = "pending"``
and the next run retries it. Adapters derive the event id from the session
UID, so a retry after an unclear failure updates the same event.
"""

from __future__ import annotations

import logging

from calendar_sync.errors import AuthError, CalendarError
from web.availability import open_connection, read_options
from web.booking import event_spec
from web.extensions import db
from web.models import CalendarConnection, MentoringSession
from web.sync import mark_needs_reconnect

log = logging.getLogger(__name__)
WRITABLE = ("caldav", "google", "microsoft")


def writable_calendar(session: MentoringSession) -> CalendarConnection | None:
    """The mentor's first connected calendar that accepts events, if any."""
    mentor = session.series.mentor
    return next(
        (
            c
            for c in mentor.calendars
            if c.kind in WRITABLE and c.status != "needs-reconnect"
        ),
        None,
    )


def write_pending(limit: int = 200) -> dict[str, int]:
    """Write every pending session event; commit after each."""
    sessions = db.session.scalars(
        db.select(MentoringSession)
        .filter_by(calendar_write="pending")
        .order_by(MentoringSession.id)
        .limit(limit)
    ).all()
    counts = {"written": 0, "skipped": 0, "failed": 0}
    for session in sessions:
        counts[write_session(session)] += 1
        db.session.commit()
    return counts


def write_session(session: MentoringSession) -> str:
    """Create, update or remove the session's event; return what happened."""
    connection = writable_calendar(session)
    if connection is None:
        session.calendar_write = "none"
        return "skipped"
    source = open_connection(
        connection, read_options(connection.person, session.series.program)
    )
    if source is None:
        return "failed"
    spec = event_spec(session)
    try:
        if session.status == "cancelled":
            source.cancel_event(spec)
        else:
            session.calendar_event_id = source.upsert_event(spec)
    except AuthError as error:
        mark_needs_reconnect(connection, str(error))
        return "failed"
    except CalendarError as error:
        log.warning(
            "event for session %s on calendar %s not written: %s",
            session.id,
            connection.id,
            error,
        )
        connection.last_error = str(error)[:2000]
        return "failed"
    session.calendar_write = "done"
    return "written"
