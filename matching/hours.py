"""Weekly hours in a person's own zone, and their expansion into UTC.

The syntax is one or more groups separated by ``;``. A group names days
(``Mon`` or a range ``Mon-Fri``; several may be listed, separated by spaces
or commas) followed by one or more ``HH:MM-HH:MM`` windows::

    Mon-Thu 07:30-15:30; Fri 08:00-12:00
    Mon-Fri 09:00-12:00 13:00-17:00
    Mon-Fri 22:30-02:00        (starts on the named day, ends the next day)

``24:00`` may end a window. An empty text means no hours at all.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from matching.intervals import merge
from matching.timebase import from_minutes, to_minutes_ceil, to_minutes_floor

logger = logging.getLogger(__name__)

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
EXAMPLE = "Mon-Thu 07:30-15:30; Fri 08:00-12:00"
OVERRIDE_EXAMPLE = "09:00-12:00 13:00-15:00"
MINUTES_PER_DAY = 24 * 60

_WINDOW = re.compile(r"^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$")

# A window as minutes after local midnight of the day it starts on; the end
# is past 1440 when the window crosses midnight.
DayWindow = tuple[int, int]


class HoursError(ValueError):
    """Weekly hours or an override that cannot be parsed."""


@dataclass(frozen=True, slots=True)
class WeeklyHours:
    """Parsed weekly hours: for each weekday (Monday = 0), its windows."""

    days: tuple[tuple[DayWindow, ...], ...]

    @property
    def empty(self) -> bool:
        """True when no day has any window."""
        return not any(self.days)


def parse_hours(text: str) -> WeeklyHours:
    """Parse weekly hours such as ``"Mon-Fri 09:00-17:00"``."""
    days: list[list[DayWindow]] = [[] for _ in DAY_NAMES]

    for group in text.split(";"):
        tokens = group.replace(",", " ").split()
        if not tokens:
            continue
        weekdays, windows = _split_group(text, tokens)
        for weekday in weekdays:
            days[weekday].extend(windows)

    return WeeklyHours(tuple(_normalise(windows) for windows in days))


def parse_day_windows(text: str) -> tuple[DayWindow, ...]:
    """Parse the windows of one date override, such as ``"22:00-23:00"``.

    An empty text means the person has no hours on that date.
    """
    tokens = text.replace(",", " ").split()
    windows = [_parse_window(text, token, OVERRIDE_EXAMPLE) for token in tokens]
    return _normalise(windows)


def _split_group(text: str, tokens: list[str]) -> tuple[list[int], list[DayWindow]]:
    weekdays: list[int] = []
    windows: list[DayWindow] = []

    for token in tokens:
        if token[0].isdigit():
            windows.append(_parse_window(text, token, EXAMPLE))
        elif windows:
            raise HoursError(
                f"Invalid weekly hours {text!r}: day {token!r} comes after a time;"
                f" put the days first, for example {EXAMPLE!r}."
            )
        else:
            weekdays.extend(_parse_days(text, token))

    if not weekdays:
        raise HoursError(
            f"Invalid weekly hours {text!r}: {' '.join(tokens)!r} names no day;"
            f" start each group with days, for example {EXAMPLE!r}."
        )
    if not windows:
        raise HoursError(
            f"Invalid weekly hours {text!r}: {' '.join(tokens)!r} has no"
            f" HH:MM-HH:MM window, for example {EXAMPLE!r}."
        )
    return weekdays, windows


def _parse_days(text: str, token: str) -> list[int]:
    names = token.lower().split("-")
    if len(names) > 2 or not all(name in DAY_NAMES for name in names):
        raise HoursError(
            f"Invalid weekly hours {text!r}: {token!r} is not a day or day range;"
            f" use Mon Tue Wed Thu Fri Sat Sun, for example {EXAMPLE!r}."
        )

    first = DAY_NAMES.index(names[0])
    last = DAY_NAMES.index(names[-1])
    # A range such as Fri-Mon wraps over the weekend.
    count = (last - first) % 7 + 1
    return [(first + offset) % 7 for offset in range(count)]


def _parse_window(text: str, token: str, example: str) -> DayWindow:
    found = _WINDOW.match(token)
    if found is None:
        raise HoursError(
            f"Invalid hours {text!r}: {token!r} is not a window;"
            f" write HH:MM-HH:MM, for example {example!r}."
        )

    start_hour, start_minute, end_hour, end_minute = map(int, found.groups())
    start = _minute_of_day(text, token, start_hour, start_minute, example)
    end = _minute_of_day(text, token, end_hour, end_minute, example)
    if start == MINUTES_PER_DAY:
        raise HoursError(
            f"Invalid hours {text!r}: {token!r} starts at 24:00;"
            f" start at 00:00 instead, for example {example!r}."
        )
    if start == end:
        raise HoursError(
            f"Invalid hours {text!r}: {token!r} is empty because it starts and"
            f" ends at the same time, for example {example!r}."
        )

    if end < start:
        end += MINUTES_PER_DAY
    return (start, end)


def _minute_of_day(text: str, token: str, hour: int, minute: int, example: str) -> int:
    if minute > 59 or hour > 24 or (hour == 24 and minute != 0):
        raise HoursError(
            f"Invalid hours {text!r}: {token!r} has a time outside 00:00-24:00,"
            f" for example {example!r}."
        )
    return hour * 60 + minute


def _normalise(windows: Iterable[DayWindow]) -> tuple[DayWindow, ...]:
    return tuple(merge(sorted(windows)))


def local_windows(
    hours: WeeklyHours,
    timezone: str,
    start_utc: datetime,
    end_utc: datetime,
    overrides: Mapping[date, str] | Sequence[tuple[date, str]] = (),
) -> list[tuple[datetime, datetime]]:
    """Expand weekly hours into the UTC intervals that overlap a range.

    Intervals are merged and sorted; they are not clipped to the range, so
    the first one may start before ``start_utc``. ``overrides`` replaces the
    hours of given local dates ("" meaning none). A wall time that does not
    exist (a spring-forward gap) moves forward like ``zoneinfo`` with
    ``fold=0``; an ambiguous one takes its first occurrence.
    """
    windows = window_minutes(
        hours,
        timezone,
        to_minutes_floor(start_utc),
        to_minutes_ceil(end_utc),
        _override_items(overrides),
    )
    return [(from_minutes(start), from_minutes(end)) for start, end in windows]


def _override_items(
    overrides: Mapping[date, str] | Sequence[tuple[date, str]],
) -> tuple[tuple[date, str], ...]:
    items = overrides.items() if isinstance(overrides, Mapping) else overrides
    return tuple(sorted(items))


@lru_cache(maxsize=4096)
def window_minutes(
    hours: WeeklyHours,
    timezone: str,
    start: int,
    end: int,
    overrides: tuple[tuple[date, str], ...] = (),
) -> tuple[tuple[int, int], ...]:
    """Expand weekly hours into merged UTC windows in minutes since the epoch."""
    return tuple(merge(sorted(day_windows(hours, timezone, start, end, overrides))))


def day_windows(
    hours: WeeklyHours,
    timezone: str,
    start: int,
    end: int,
    overrides: tuple[tuple[date, str], ...] = (),
) -> list[tuple[int, int]]:
    """Expand weekly hours into each local day's own UTC windows, unmerged.

    A window that touches the next day's (``00:00-24:00`` every day) stays
    separate, so each keeps its own start: the slot grid is anchored there.
    """
    zone = load_zone(timezone)
    replaced = {day: parse_day_windows(text) for day, text in overrides}

    # A window may begin the local day before the range (it crosses
    # midnight, or the zone is ahead of UTC), so expansion starts two days early.
    first_day = from_minutes(start).astimezone(zone).date() - timedelta(days=2)
    last_day = from_minutes(end).astimezone(zone).date() + timedelta(days=1)

    windows: list[tuple[int, int]] = []
    day = first_day
    while day <= last_day:
        for window_start, window_end in replaced.get(day, hours.days[day.weekday()]):
            utc_start = _wall_to_minutes(day, window_start, zone)
            utc_end = _wall_to_minutes(day, window_end, zone)
            if utc_start < end and utc_end > start and utc_end > utc_start:
                windows.append((utc_start, utc_end))
        day += timedelta(days=1)
    return windows


def _wall_to_minutes(day: date, minute_of_day: int, zone: ZoneInfo) -> int:
    moment = datetime.combine(day, datetime.min.time()) + timedelta(
        minutes=minute_of_day
    )
    return to_minutes_floor(moment.replace(tzinfo=zone))


@lru_cache(maxsize=512)
def load_zone(name: str) -> ZoneInfo:
    """Return the IANA zone ``name`` or raise HoursError naming it."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise HoursError(
            f"Unknown time zone {name!r}; use an IANA name such as"
            " 'Europe/Berlin' or 'America/New_York'."
        ) from error


@lru_cache(maxsize=4096)
def parse_hours_cached(text: str) -> WeeklyHours:
    """Parse weekly hours once per distinct text."""
    return parse_hours(text)
