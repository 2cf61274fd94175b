"""iTIP (RFC 5546) invitations and cancellations as iCalendar bytes.

A REQUEST and the CANCEL of the same session share one UID, so calendar
clients update or remove the event they already hold instead of adding a
second one. The organizer raises SEQUENCE on every significant change
(time, status), as RFC 5545 section 3.8.7.4 requires.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime
from typing import Literal, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from icalendar import Calendar, Event, vCalAddress

from calendar_sync.base import Attendee, EventSpec

logger = logging.getLogger(__name__)

Method = Literal["REQUEST", "CANCEL"]

DEFAULT_PRODID = "-//Torace//Mentoring//EN"

_STATUS_BY_METHOD: dict[str, str] = {"REQUEST": "CONFIRMED", "CANCEL": "CANCELLED"}


def build_itip(
    method: Method,
    event: EventSpec,
    *,
    uid: str,
    sequence: int,
    recipient: Attendee,
    prodid: str = DEFAULT_PRODID,
    dtstamp: datetime | None = None,
) -> bytes:
    """Build the VCALENDAR of an iTIP REQUEST or CANCEL for one recipient.

    ``recipient`` must be the organizer or one of ``event.attendees``: one
    message goes to each participant, and every message lists all attendees.
    ``dtstamp`` defaults to the current time. The result uses CRLF line
    endings and folds lines at 75 octets.
    """
    _check_request(method, event, uid=uid, sequence=sequence, recipient=recipient)
    zone = _zone(event.timezone)
    stamp = dtstamp if dtstamp is not None else datetime.now(UTC)
    if stamp.tzinfo is None:
        raise ValueError(f"dtstamp {stamp.isoformat()} has no time zone; pass UTC")

    vevent = _build_vevent(method, event, uid=uid, sequence=sequence, zone=zone)
    vevent.add("DTSTAMP", stamp.astimezone(UTC))

    calendar = Calendar()
    calendar.add("PRODID", prodid)
    calendar.add("VERSION", "2.0")
    calendar.add("CALSCALE", "GREGORIAN")
    calendar.add("METHOD", method)
    calendar.add_component(vevent)
    _add_timezones(calendar, event)

    logger.debug("built iTIP %s for uid %s sequence %d", method, uid, sequence)
    return calendar.to_ical()


def _check_request(
    method: str, event: EventSpec, *, uid: str, sequence: int, recipient: Attendee
) -> None:
    """Raise ValueError naming the first argument that cannot make an iTIP."""
    if method not in get_args(Method):
        raise ValueError(
            f"iTIP method {method!r} is not supported; use REQUEST or CANCEL"
        )
    if not uid.strip():
        raise ValueError("uid is empty; pass the session's stable UID")
    if sequence < 0:
        raise ValueError(f"sequence {sequence} is negative; SEQUENCE starts at 0")

    for name, value in (("start", event.start), ("end", event.end)):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(
                f"event {name} {value.isoformat()} has no time zone; pass an aware "
                "datetime"
            )
    if event.end <= event.start:
        raise ValueError(
            f"event end {event.end.isoformat()} is not after start "
            f"{event.start.isoformat()}"
        )
    if not event.attendees:
        raise ValueError(
            f"event {event.key!r} has no attendees; iTIP needs at least one"
        )

    participants = {_address(event.organizer.email)}
    participants.update(_address(attendee.email) for attendee in event.attendees)
    if _address(recipient.email) not in participants:
        raise ValueError(
            f"recipient {recipient.email!r} is neither the organizer nor an attendee "
            f"of event {event.key!r}"
        )


def _zone(name: str) -> ZoneInfo:
    """Return the IANA zone called ``name``, or raise ValueError."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(
            f"time zone {name!r} is not a known IANA zone name such as 'Europe/Berlin'"
        ) from error


def _build_vevent(
    method: str, event: EventSpec, *, uid: str, sequence: int, zone: ZoneInfo
) -> Event:
    """Build the VEVENT with times shown in the event's own time zone."""
    vevent = Event()
    vevent.add("UID", uid)
    vevent.add("SEQUENCE", sequence)
    vevent.add("DTSTART", event.start.astimezone(zone))
    vevent.add("DTEND", event.end.astimezone(zone))
    vevent.add("SUMMARY", event.summary)
    if event.description:
        vevent.add("DESCRIPTION", event.description)
    if event.location:
        vevent.add("LOCATION", event.location)
    vevent.add("STATUS", _STATUS_BY_METHOD[method])
    vevent.add("TRANSP", "OPAQUE")

    vevent.add("ORGANIZER", _calendar_address(event.organizer))
    for attendee in event.attendees:
        vevent.add(
            "ATTENDEE",
            _calendar_address(
                attendee,
                role="REQ-PARTICIPANT",
                partstat="NEEDS-ACTION",
                rsvp=True,
            ),
        )
    return vevent


def _calendar_address(
    person: Attendee,
    *,
    role: str | None = None,
    partstat: str | None = None,
    rsvp: bool | None = None,
) -> vCalAddress:
    """Return a ``mailto:`` calendar user address with the person's name as CN."""
    if not person.email or "@" not in person.email:
        raise ValueError(f"email {person.email!r} of {person.name!r} is not an address")
    return vCalAddress.new(
        person.email, cn=person.name or None, role=role, partstat=partstat, rsvp=rsvp
    )


def _add_timezones(calendar: Calendar, event: EventSpec) -> None:
    """Add a VTIMEZONE for every TZID the calendar uses, or raise ValueError."""
    # Whole years around the event, so each VTIMEZONE carries a full cycle of
    # daylight-saving transitions without the decades a default range adds.
    first = date(event.start.year, 1, 1)
    last = date(event.end.year + 1, 1, 1)
    calendar.add_missing_timezones(first_date=first, last_date=last)

    missing = calendar.get_missing_tzids()
    if missing:
        raise ValueError(
            f"no VTIMEZONE could be generated for {sorted(missing)}; use an IANA "
            "zone name"
        )


def _address(email: str) -> str:
    return email.strip().lower()
