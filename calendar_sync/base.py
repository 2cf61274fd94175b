"""The calendar interface every provider adapter implements.

Every adapter turns its provider's answer into the same busy intervals:
timezone-aware UTC datetimes, half-open ``[start, end)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol

BusyKind = Literal["busy", "tentative", "unavailable", "unknown"]
"""What blocks a range. ``unknown`` marks a range whose availability could not
be read (a failed provider, an unparseable event); it blocks like busy time."""


@dataclass(frozen=True, slots=True)
class BusyInterval:
    """One blocked range of a calendar, in UTC."""

    start: datetime
    end: datetime
    kind: BusyKind = "busy"


@dataclass(frozen=True, slots=True)
class CalendarWarning:
    """A problem that made part of a calendar unreadable."""

    calendar: str
    message: str
    uid: str | None = None


@dataclass(slots=True)
class BusyReport:
    """The busy intervals of one calendar for a range, with what went wrong."""

    intervals: list[BusyInterval] = field(default_factory=list)
    warnings: list[CalendarWarning] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ReadOptions:
    """How events that are neither clearly busy nor clearly free are read."""

    owner_timezone: str = "UTC"
    tentative_blocks: bool = True
    needs_action_blocks: bool = True
    all_day_blocks: bool = True
    owner_email: str | None = None


@dataclass(frozen=True, slots=True)
class Attendee:
    name: str
    email: str


@dataclass(frozen=True, slots=True)
class EventSpec:
    """A session as written to a participant's calendar.

    ``key`` is the idempotency key: the same session always has the same key,
    and adapters derive the provider's event id from it so a retried write
    finds the event instead of creating a second one. It is also the session's
    iCalendar UID, which CalDAV events carry so they match the invitation.
    """

    key: str
    summary: str
    description: str
    start: datetime
    end: datetime
    timezone: str
    organizer: Attendee
    attendees: tuple[Attendee, ...]
    sequence: int = 0
    location: str = ""


class CalendarSource(Protocol):
    """A calendar that can be read for busy time and written with events."""

    provider: str
    calendar: str

    def read_busy(self, start: datetime, end: datetime) -> BusyReport:
        """Read the busy intervals that overlap ``[start, end)``."""
        ...

    def upsert_event(self, event: EventSpec) -> str:
        """Create or update the event for ``event.key``; return its provider id."""
        ...

    def cancel_event(self, event: EventSpec) -> None:
        """Remove the event for ``event.key``; a missing event is not an error."""
        ...
