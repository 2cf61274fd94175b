"""What CalDAV servers get wrong when asked for busy time, in one place.

Each record describes how a server behaves and which reading strategy works
around it. The facts were checked against Radicale 3.9 and Xandikos 0.4.10
by the tests in tests/calendar_sync/test_caldav_quirks.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True, slots=True)
class ServerQuirks:
    """How to read busy time from one kind of CalDAV server."""

    name: str
    # Use the server's free-busy-query REPORT (RFC 4791 section 7.10). Set it
    # only for a server that places floating times, all-day days, TRANSP and
    # the owner's PARTSTAT the way ``ics.read_ics`` does. Without it, the raw
    # events are fetched and read locally.
    freebusy_query_trusted: bool
    # The calendar-query time-range filter ignores RDATE occurrences, so
    # events with an RDATE are fetched in a second query without a range.
    time_range_misses_rdate: bool
    # Widen the calendar-query time range by this much on both sides: servers
    # that read floating and all-day times as UTC miss events near the edges.
    time_range_margin: timedelta
    # The server keeps VFREEBUSY objects in calendars (RFC 4791 allows it),
    # so they are fetched in a query of their own.
    stores_freebusy_objects: bool = True
    notes: str = ""


RADICALE = ServerQuirks(
    name="Radicale",
    freebusy_query_trusted=False,
    time_range_misses_rdate=False,
    time_range_margin=timedelta(days=2),
    stores_freebusy_objects=False,
    notes=(
        "free-busy-query reads floating times as UTC and cannot know the "
        "owner's PARTSTAT settings. PUT answers 400 Bad Request to a VFREEBUSY "
        "object, to RDATE;VALUE=PERIOD (its vobject 0.9.9 lacks PERIOD) and "
        "to two VEVENTs with one UID and no RECURRENCE-ID."
    ),
)

XANDIKOS = ServerQuirks(
    name="Xandikos",
    freebusy_query_trusted=False,
    time_range_misses_rdate=True,
    time_range_margin=timedelta(days=2),
    notes=(
        "expands only events with an RRULE, so RDATE-only occurrences are "
        "missing from expanded answers and from time-range matches. A "
        "PROPFIND on a missing collection gets 207 Multi-Status with one "
        "bare 404 response, where a REPORT gets a plain 404."
    ),
)

# For a server not listed: every workaround on, which costs one more REPORT.
GENERIC = ServerQuirks(
    name="CalDAV server",
    freebusy_query_trusted=False,
    time_range_misses_rdate=True,
    time_range_margin=timedelta(days=2),
)

KNOWN_SERVERS: dict[str, ServerQuirks] = {
    "radicale": RADICALE,
    "xandikos": XANDIKOS,
}


def quirks_for(server: str | None) -> ServerQuirks:
    """Return the quirks recorded for a server product name, or GENERIC."""
    if not server:
        return GENERIC
    return KNOWN_SERVERS.get(server.strip().lower(), GENERIC)
