"""Read the busy time of a raw iCalendar file (RFC 5545) for a window.

Every date-time is resolved before expansion: TZIDs through ``zones`` (IANA,
Windows or the file's VTIMEZONE), floating times in the owner's zone, and
floating EXDATE, RDATE and RECURRENCE-ID values in the zone of the series'
DTSTART. Recurrences are then expanded by recurring-ical-events in that zone,
so daylight saving time moves each occurrence's UTC instant as it should.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, time, timedelta, tzinfo

import icalendar
import recurring_ical_events
import x_wr_timezone

from .base import BusyInterval, BusyKind, BusyReport, CalendarWarning, ReadOptions
from .freebusy import clip_intervals, freebusy_intervals, merge_intervals, to_utc
from .zones import (
    EXACT_DURATION,
    SeriesZones,
    normalize_series,
    owner_zone,
    resolve_tzid,
    timezone_definitions,
    value_of,
)

logger = logging.getLogger(__name__)

# Expansion runs over a wider window than requested because all-day and
# floating occurrences only get their UTC instants afterwards; UTC offsets
# reach +14:00 and -12:00, so two days covers every zone.
_EXPANSION_MARGIN = timedelta(days=2)

# Errors that icalendar and recurring-ical-events raise for a malformed event.
_BAD_EVENT_ERRORS = (ValueError, TypeError, KeyError, AttributeError, OverflowError)

_FREE_MICROSOFT_STATUSES = {"FREE", "WORKINGELSEWHERE"}
_FREE_PARTSTATS = {"DECLINED", "DELEGATED"}


def read_ics(
    data: bytes | str,
    start: datetime,
    end: datetime,
    options: ReadOptions,
    calendar: str,
) -> BusyReport:
    """Read the busy intervals of an iCalendar document that overlap the window.

    A malformed event becomes an ``unknown`` interval over its days and a
    warning; a document that cannot be parsed makes the whole window unknown.
    """
    _check_window(start, end)
    zone = owner_zone(options.owner_timezone)

    try:
        parsed = parse_calendar(data)
    except ValueError as exc:
        logger.warning("calendar %s cannot be parsed: %s", calendar, exc)
        return unknown_report(start, end, calendar, f"calendar cannot be parsed: {exc}")

    reader = _CalendarReader(parsed, options, calendar, zone, start, end)
    intervals, warnings = reader.read()
    return BusyReport(merge_intervals(clip_intervals(intervals, start, end)), warnings)


def parse_calendar(data: bytes | str) -> icalendar.Calendar:
    """Parse an iCalendar document, bringing X-WR-TIMEZONE into standard form."""
    if isinstance(data, bytes):
        data = data.decode("utf-8", errors="replace")
    if "BEGIN:VCALENDAR" not in data.upper():
        raise ValueError("no BEGIN:VCALENDAR found")

    calendars = icalendar.Calendar.from_ical(data, multiple=True)
    if not calendars:
        raise ValueError("no VCALENDAR found")
    merged = calendars[0]
    for extra in calendars[1:]:
        for component in extra.subcomponents:
            merged.add_component(component)
    return _apply_x_wr_timezone(merged)


def unknown_report(
    start: datetime, end: datetime, calendar: str, message: str
) -> BusyReport:
    """Return a report whose whole window is unknown, with one warning."""
    return BusyReport(
        intervals=[BusyInterval(start, end, "unknown")],
        warnings=[CalendarWarning(calendar=calendar, message=message)],
    )


def _check_window(start: datetime, end: datetime) -> None:
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError(
            f"read window {start.isoformat()} to {end.isoformat()} must be "
            "timezone-aware; pass UTC datetimes"
        )
    if end <= start:
        raise ValueError(
            f"read window end {end.isoformat()} is not after its start "
            f"{start.isoformat()}"
        )


def _apply_x_wr_timezone(calendar: icalendar.Calendar) -> icalendar.Calendar:
    name = calendar.get("X-WR-TIMEZONE")
    if name is None:
        return calendar
    try:
        resolve_tzid(str(name))
        return x_wr_timezone.to_standard(calendar)
    except (ValueError, KeyError) as exc:
        # An X-WR-TIMEZONE that cannot be used leaves UTC times as they are,
        # which is what RFC 5545 says they mean.
        logger.warning("X-WR-TIMEZONE %r ignored: %s", str(name), exc)
        return calendar


class _CalendarReader:
    """The busy intervals of one parsed calendar for one window."""

    def __init__(
        self,
        parsed: icalendar.Calendar,
        options: ReadOptions,
        calendar: str,
        owner: tzinfo,
        start: datetime,
        end: datetime,
    ) -> None:
        self.parsed = parsed
        self.options = options
        self.calendar = calendar
        self.owner = owner
        self.start = start
        self.end = end
        self.definitions = timezone_definitions(parsed)

    def read(self) -> tuple[list[BusyInterval], list[CalendarWarning]]:
        """Read every event series and every VFREEBUSY of the calendar."""
        intervals: list[BusyInterval] = []
        warnings: list[CalendarWarning] = []

        for uid, components in _group_by_uid(self.parsed.walk("VEVENT")):
            try:
                intervals.extend(self._series_busy(components, strict=True))
            except _BAD_EVENT_ERRORS as exc:
                logger.warning(
                    "calendar %s: event %s skipped: %s", self.calendar, uid, exc
                )
                warnings.append(
                    CalendarWarning(
                        calendar=self.calendar,
                        message=f"event {uid} skipped: {exc}",
                        uid=uid,
                    )
                )
                intervals.extend(self._unknown_days(components))

        for component in self.parsed.walk("VFREEBUSY"):
            intervals.extend(freebusy_intervals(component, self.options, self.owner))
        return intervals, warnings

    def _series_busy(
        self, components: list[icalendar.Event], *, strict: bool
    ) -> list[BusyInterval]:
        intervals = []
        for occurrence in self._occurrences(components, strict=strict):
            kind = classify_occurrence(occurrence, self.options)
            if kind is None:
                continue
            span = self._span(occurrence)
            if span is not None:
                intervals.append(BusyInterval(span[0], span[1], kind))
        return intervals

    def _occurrences(
        self, components: list[icalendar.Event], *, strict: bool
    ) -> Iterator[icalendar.Event]:
        zones = SeriesZones(self.owner, self.definitions, strict=strict)
        series = normalize_series(components, zones)
        wrapper = icalendar.Calendar()
        for component in series:
            wrapper.add_component(component)
        query = recurring_ical_events.of(wrapper)
        yield from query.between(
            self.start - _EXPANSION_MARGIN, self.end + _EXPANSION_MARGIN
        )

    def _span(self, occurrence: icalendar.Event) -> tuple[datetime, datetime] | None:
        start_value = value_of(occurrence, "DTSTART")
        start = to_utc(start_value, self.owner)
        end_prop = occurrence.get("DTEND")
        if EXACT_DURATION in occurrence:
            end = _end_after(
                start_value, value_of(occurrence, EXACT_DURATION), self.owner
            )
        elif end_prop is not None:
            end = to_utc(end_prop.dt, self.owner)
        elif "DURATION" in occurrence:
            end = start + value_of(occurrence, "DURATION")
        elif isinstance(start_value, datetime):
            return None
        else:
            # RFC 5545 section 3.6.1: a DATE start with no end lasts one day.
            end = to_utc(start_value + timedelta(days=1), self.owner)
        if end <= start:
            return None
        return start, end

    def _unknown_days(self, components: list[icalendar.Event]) -> list[BusyInterval]:
        """Mark the owner's local days of a bad event unknown, else the window."""
        try:
            spans = [
                self._span(occurrence)
                for occurrence in self._occurrences(components, strict=False)
            ]
        except _BAD_EVENT_ERRORS:
            return [BusyInterval(self.start, self.end, "unknown")]

        days = []
        for span in spans:
            if span is None:
                continue
            first = span[0].astimezone(self.owner).date()
            last = (span[1] - timedelta(microseconds=1)).astimezone(self.owner).date()
            days.append(
                BusyInterval(
                    _local_midnight(first, self.owner),
                    _local_midnight(last + timedelta(days=1), self.owner),
                    "unknown",
                )
            )
        return days


def classify_occurrence(
    event: icalendar.Event, options: ReadOptions
) -> BusyKind | None:
    """Return how an occurrence blocks its time, or None when it leaves it free."""
    status = str(event.get("STATUS", "")).upper()
    if status == "CANCELLED":
        return None
    if str(event.get("TRANSP", "OPAQUE")).upper() == "TRANSPARENT":
        return None

    microsoft = {
        str(event.get(name, "")).upper()
        for name in ("X-MICROSOFT-CDO-BUSYSTATUS", "X-MICROSOFT-CDO-INTENDEDSTATUS")
    }
    if microsoft & _FREE_MICROSOFT_STATUSES:
        return None
    if not options.all_day_blocks and not isinstance(
        value_of(event, "DTSTART"), datetime
    ):
        return None

    partstat = owner_partstat(event, options.owner_email)
    if partstat in _FREE_PARTSTATS:
        return None
    if partstat == "NEEDS-ACTION":
        return "tentative" if options.needs_action_blocks else None

    if "TENTATIVE" in microsoft or status == "TENTATIVE" or partstat == "TENTATIVE":
        return "tentative" if options.tentative_blocks else None
    if "OOF" in microsoft:
        return "unavailable"
    return "busy"


def owner_partstat(event: icalendar.Event, owner_email: str | None) -> str | None:
    """Return the owner's PARTSTAT when the owner is an attendee, else None."""
    if not owner_email:
        return None
    wanted = owner_email.strip().lower()

    attendees = event.get("ATTENDEE", [])
    if not isinstance(attendees, list):
        attendees = [attendees]
    for attendee in attendees:
        address = str(attendee).strip()
        if address.lower().startswith("mailto:"):
            address = address[len("mailto:") :]
        if address.strip().lower() == wanted:
            # RFC 5545 section 3.2.12: PARTSTAT defaults to NEEDS-ACTION.
            return str(attendee.params.get("PARTSTAT", "NEEDS-ACTION")).upper()
    return None


def _group_by_uid(
    events: Iterable[icalendar.Component],
) -> Iterator[tuple[str, list[icalendar.Event]]]:
    groups: dict[str, list[icalendar.Event]] = {}
    for index, event in enumerate(events):
        if not isinstance(event, icalendar.Event):
            continue
        uid = str(event.get("UID", "")).strip() or f"(event {index + 1} without UID)"
        groups.setdefault(uid, []).append(event)
    yield from groups.items()


def _end_after(start: date, duration: timedelta, owner: tzinfo) -> datetime:
    """Add a DURATION: days on the local calendar, hours as elapsed time.

    RFC 5545 section 3.3.6 makes days and weeks nominal and the time part
    exact, so PT1H from a start in a DST gap still lasts one hour.
    """
    nominal_end = start + timedelta(days=duration.days)
    exact = timedelta(seconds=duration.seconds, microseconds=duration.microseconds)
    return to_utc(nominal_end, owner) + exact


def _local_midnight(day: date, zone: tzinfo) -> datetime:
    return datetime.combine(day, time(0), zone).astimezone(UTC)
