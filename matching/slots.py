"""Bookable slots in the mutual free time of several participants.

Grid rule: the common hours of all participants are the intersection of
their weekly hours (after date overrides) as merged UTC windows. Slot
starts step by ``interval_minutes`` (default: the session length) from the
start of each common-hours window, and begin again from every start of a
participant's own daily window that falls inside it (so ``00:00-24:00``
restarts the grid at each local midnight). A slot is listed when the whole
session fits inside the common window, so it may run past such a restart.
The search window, the minimum notice and busy time never move the grid;
they only remove starts from it. So a 60-minute grid on hours 09:00-17:00
offers 09:00, 10:00, ... in local time on both sides of a DST change, and
hours that cross midnight offer slots that cross midnight.

A start ``s`` is listed when, in addition:

- ``start <= s`` and ``s + length <= end`` (the session lies in the window);
- ``s >= now + min_notice_minutes``;
- no busy interval of any participant overlaps
  ``[s - buffer_before, s + length + buffer_after)``. Busy intervals just
  outside the search window count when their buffer reaches in.

``check_slot`` applies the same rules to one start and says which failed.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache

import numpy as np

from matching.hours import day_windows, load_zone, parse_hours_cached, window_minutes
from matching.intervals import IntArray, intersect, merge_arrays, overlaps_any
from matching.model import Availability, Interval, PlannedSession
from matching.timebase import (
    from_minutes,
    require_aware,
    to_minutes_ceil,
    to_minutes_floor,
)

logger = logging.getLogger(__name__)

EMPTY = np.zeros(0, dtype=np.int64)


@dataclass
class SlotQuery:
    """What to search for: session length, search window, grid and rules."""

    length_minutes: int
    start: datetime
    end: datetime
    interval_minutes: int | None = None
    now: datetime | None = None
    buffer_before_minutes: int = 0
    buffer_after_minutes: int = 0
    min_notice_minutes: int = 0

    def __post_init__(self) -> None:
        require_aware(self.start, "query start")
        require_aware(self.end, "query end")
        if self.now is not None:
            require_aware(self.now, "query now")
        if self.length_minutes <= 0:
            raise ValueError(
                f"Session length {self.length_minutes} minutes is invalid;"
                " use a positive number of minutes such as 45."
            )
        if self.interval_minutes is not None and self.interval_minutes <= 0:
            raise ValueError(
                f"Slot interval {self.interval_minutes} minutes is invalid;"
                " use a positive number of minutes such as 15, or None."
            )
        for name in ("buffer_before_minutes", "buffer_after_minutes"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be 0 or more minutes.")

    @property
    def step_minutes(self) -> int:
        """Distance between slot starts on the grid, in minutes."""
        return self.interval_minutes or self.length_minutes


@dataclass(frozen=True)
class Search:
    """A SlotQuery and its participants turned into integer minutes."""

    length: int
    step: int
    first_start: int
    """Earliest allowed start: the window start or now plus notice."""
    window_start: int
    window_end: int
    notice_start: int
    buffer_before: int
    buffer_after: int
    windows: tuple[tuple[int, int], ...]
    """Common hours of all participants."""
    anchors: IntArray
    """Sorted starts of the participants' own daily windows; the grid restarts
    at each one that lies inside a common window."""
    blocked_starts: IntArray
    blocked_ends: IntArray
    """Busy time of all participants, merged, widened by the buffers."""

    @property
    def last_start(self) -> int:
        """Latest start whose session still ends inside the search window."""
        return self.window_end - self.length


def prepare(
    query: SlotQuery,
    participants: Sequence[Availability],
    extra_busy: Iterable[tuple[int, int]] = (),
) -> Search:
    """Turn a query into integer minutes: common hours and blocked time."""
    if not participants:
        raise ValueError("A slot search needs at least one participant.")

    window_start = to_minutes_ceil(query.start)
    window_end = to_minutes_floor(query.end)
    notice_start = window_start
    if query.now is not None:
        notice_start = to_minutes_ceil(query.now) + query.min_notice_minutes

    windows = common_hours(participants, window_start, window_end)
    anchors = window_anchors(participants, window_start, window_end)
    busy_starts, busy_ends = busy_arrays(participants, extra_busy)
    blocked_starts, blocked_ends = merge_arrays(
        busy_starts - query.buffer_after_minutes,
        busy_ends + query.buffer_before_minutes,
    )
    return Search(
        length=query.length_minutes,
        step=query.step_minutes,
        first_start=max(window_start, notice_start),
        window_start=window_start,
        window_end=window_end,
        notice_start=notice_start,
        buffer_before=query.buffer_before_minutes,
        buffer_after=query.buffer_after_minutes,
        windows=windows,
        anchors=anchors,
        blocked_starts=blocked_starts,
        blocked_ends=blocked_ends,
    )


def common_hours(
    participants: Sequence[Availability], start: int, end: int
) -> tuple[tuple[int, int], ...]:
    """Return the merged UTC windows where every participant is in hours."""
    keys = tuple(
        (person.hours, person.timezone, tuple(sorted(person.overrides)))
        for person in participants
    )
    return _common_hours(keys, start, end)


@lru_cache(maxsize=4096)
def _common_hours(
    keys: tuple[tuple[str, str, tuple[tuple[date, str], ...]], ...],
    start: int,
    end: int,
) -> tuple[tuple[int, int], ...]:
    common: list[tuple[int, int]] | None = None
    for hours_text, zone, overrides in keys:
        load_zone(zone)
        windows = window_minutes(
            parse_hours_cached(hours_text), zone, start, end, overrides
        )
        common = list(windows) if common is None else intersect(common, windows)
    return tuple(common or ())


def window_anchors(
    participants: Sequence[Availability], start: int, end: int
) -> IntArray:
    """Return the sorted starts of every participant's own daily windows."""
    keys = tuple(
        (person.hours, person.timezone, tuple(sorted(person.overrides)))
        for person in participants
    )
    return _window_anchors(keys, start, end)


@lru_cache(maxsize=4096)
def _window_anchors(
    keys: tuple[tuple[str, str, tuple[tuple[date, str], ...]], ...],
    start: int,
    end: int,
) -> IntArray:
    starts: set[int] = set()
    for hours_text, zone, overrides in keys:
        windows = day_windows(
            parse_hours_cached(hours_text), zone, start, end, overrides
        )
        starts.update(window_start for window_start, _ in windows)
    anchors = np.array(sorted(starts), dtype=np.int64)
    anchors.setflags(write=False)
    return anchors


def grid_segments(search: Search) -> tuple[IntArray, IntArray, IntArray]:
    """Split the common windows at the anchors inside them.

    Returns each segment's start, the end of the segment's grid (the next
    anchor or the window end) and the end of the window it lies in.
    """
    bounds = np.array(search.windows, dtype=np.int64).reshape(-1, 2)
    window_starts, window_ends = bounds[:, 0], bounds[:, 1]
    anchors = search.anchors
    owner = np.searchsorted(window_starts, anchors, side="right") - 1
    inside = (owner >= 0) & (anchors > window_starts[np.maximum(owner, 0)])
    inside &= anchors < window_ends[np.maximum(owner, 0)]

    starts = np.concatenate([window_starts, anchors[inside]])
    owners = np.concatenate([np.arange(len(window_starts)), owner[inside]])
    order = np.lexsort((starts, owners))
    starts, owners = starts[order], owners[order]
    ends = window_ends[owners]
    grid_ends = ends.copy()
    same_window = owners[1:] == owners[:-1]
    grid_ends[:-1][same_window] = starts[1:][same_window]
    return starts, grid_ends, ends


def person_windows(
    person: Availability, start: int, end: int
) -> tuple[tuple[int, int], ...]:
    """Return one participant's hours as merged UTC windows in minutes."""
    hours = parse_hours_cached(person.hours)
    load_zone(person.timezone)
    return window_minutes(
        hours, person.timezone, start, end, tuple(sorted(person.overrides))
    )


def busy_arrays(
    participants: Sequence[Availability], extra_busy: Iterable[tuple[int, int]] = ()
) -> tuple[IntArray, IntArray]:
    """Return the busy time of all participants as unmerged minute arrays."""
    converted = [person_busy(person) for person in participants]
    parts_starts = [starts for starts, _ in converted]
    parts_ends = [ends for _, ends in converted]
    extra = list(extra_busy)
    if extra:
        parts_starts.append(np.array([s for s, _ in extra], dtype=np.int64))
        parts_ends.append(np.array([e for _, e in extra], dtype=np.int64))
    return np.concatenate(parts_starts), np.concatenate(parts_ends)


# Busy tuples seen recently, by identity: hashing hundreds of datetimes on
# every look-up would cost more than the conversion saves. Each entry keeps
# its tuple alive, so an id is never reused while it is cached.
_BUSY_CACHE: dict[int, tuple[tuple[Interval, ...], IntArray, IntArray]] = {}
_MINUTE_CACHE: dict[int, tuple[tuple[tuple[int, int], ...], IntArray, IntArray]] = {}
BUSY_CACHE_SIZE = 20_000


def person_busy(person: Availability) -> tuple[IntArray, IntArray]:
    """Return a participant's busy time as merged minute arrays."""
    if person.busy_minutes is None:
        return busy_minutes(person.busy)
    return minute_pairs(person.busy_minutes)


def minute_pairs(pairs: tuple[tuple[int, int], ...]) -> tuple[IntArray, IntArray]:
    """Merge (start, end) minute pairs into sorted arrays, cached by identity."""
    if not pairs:
        return EMPTY, EMPTY
    entry = _MINUTE_CACHE.get(id(pairs))
    if entry is not None and entry[0] is pairs:
        return entry[1], entry[2]

    table = np.array(pairs, dtype=np.int64).reshape(-1, 2)
    merged = merge_arrays(table[:, 0], table[:, 1])
    if len(_MINUTE_CACHE) >= BUSY_CACHE_SIZE:
        del _MINUTE_CACHE[next(iter(_MINUTE_CACHE))]
    _MINUTE_CACHE[id(pairs)] = (pairs, merged[0], merged[1])
    return merged


def busy_minutes(busy: tuple[Interval, ...]) -> tuple[IntArray, IntArray]:
    """Convert busy intervals to merged minute arrays (starts down, ends up)."""
    if not busy:
        return EMPTY, EMPTY
    entry = _BUSY_CACHE.get(id(busy))
    if entry is not None and entry[0] is busy:
        return entry[1], entry[2]

    for start, end in busy:
        require_aware(start, "busy interval start")
        require_aware(end, "busy interval end")
        break
    stamps = np.fromiter(
        (moment.timestamp() for pair in busy for moment in pair),
        dtype=np.float64,
        count=2 * len(busy),
    )
    starts = np.floor(stamps[0::2] / 60).astype(np.int64)
    ends = np.ceil(stamps[1::2] / 60).astype(np.int64)
    merged = merge_arrays(starts, ends)

    if len(_BUSY_CACHE) >= BUSY_CACHE_SIZE:
        del _BUSY_CACHE[next(iter(_BUSY_CACHE))]
    _BUSY_CACHE[id(busy)] = (busy, merged[0], merged[1])
    return merged


def grid_starts(search: Search) -> IntArray:
    """Return every grid start inside the common hours and the search window."""
    if not search.windows:
        return EMPTY

    anchors, grid_ends, window_ends = grid_segments(search)
    last = np.minimum(window_ends - search.length, search.last_start)
    last = np.minimum(last, grid_ends - 1)
    skipped = np.maximum(0, -((anchors - search.first_start) // search.step))
    first = anchors + skipped * search.step
    counts = np.where(last >= first, (last - first) // search.step + 1, 0)

    total = int(counts.sum())
    if total == 0:
        return EMPTY
    offsets = np.arange(total, dtype=np.int64) - np.repeat(
        np.cumsum(counts) - counts, counts
    )
    return np.repeat(first, counts) + offsets * search.step


def valid_starts(search: Search) -> IntArray:
    """Return the sorted grid starts that no blocked time overlaps."""
    starts = grid_starts(search)
    clash = overlaps_any(
        search.blocked_starts, search.blocked_ends, starts, starts + search.length
    )
    return starts[~clash]


def find_slots(
    query: SlotQuery, participants: Sequence[Availability]
) -> list[PlannedSession]:
    """List every bookable slot, earliest first (see the module grid rule)."""
    search = prepare(query, participants)
    return [to_session(int(start), search.length) for start in valid_starts(search)]


def to_session(start: int, length: int) -> PlannedSession:
    """Build a PlannedSession from a start minute and a length."""
    return PlannedSession(from_minutes(start), from_minutes(start + length))


def check_slot(
    query: SlotQuery,
    participants: Sequence[Availability],
    start: datetime,
    names: Sequence[str] = (),
) -> str | None:
    """Return None when ``start`` would be listed, else why it would not.

    ``names`` labels the participants in the reason, in the same order;
    without them they are "participant 1", "participant 2" and so on.
    """
    search = prepare(query, participants)
    return explain_start(search, participants, start, names)


def explain_start(
    search: Search,
    participants: Sequence[Availability],
    start: datetime,
    names: Sequence[str] = (),
) -> str | None:
    """Check one start against a prepared search; None means bookable."""
    require_aware(start, "requested start")
    label = describe(start)
    exact = start.timestamp() / 60
    minute = int(exact // 1)
    end = minute + search.length

    if minute < search.window_start or end > search.window_end:
        return (
            f"{label} is outside the search window"
            f" {describe_minutes(search.window_start)} to"
            f" {describe_minutes(search.window_end)}."
        )
    if minute < search.notice_start:
        return (
            f"{label} is inside the minimum notice; the earliest bookable"
            f" start is {describe_minutes(search.notice_start)}."
        )

    window = next((w for w in search.windows if w[0] <= minute and end <= w[1]), None)
    if window is None:
        return f"{label} is outside the common hours of the participants."
    restarts = search.anchors[(search.anchors > window[0]) & (search.anchors <= minute)]
    anchor = int(restarts[-1]) if len(restarts) else window[0]
    if exact != minute or (minute - anchor) % search.step:
        return (
            f"{label} is off the grid; slots start every {search.step} minutes"
            f" from {describe_minutes(anchor)}."
        )

    return explain_busy(search, participants, minute, label, names)


def explain_busy(
    search: Search,
    participants: Sequence[Availability],
    minute: int,
    label: str,
    names: Sequence[str] = (),
) -> str | None:
    """Say whether busy time or its buffer blocks the session at ``minute``."""
    end = minute + search.length
    for number, person in enumerate(participants, start=1):
        starts, ends = person_busy(person)
        if overlaps_any(starts, ends, np.array([minute]), np.array([end]))[0]:
            name = names[number - 1] if number <= len(names) else None
            return f"{label} is busy for {name or f'participant {number}'}."

    one = np.array([minute])
    if overlaps_any(
        search.blocked_starts, search.blocked_ends, one, one + search.length
    )[0]:
        return (
            f"{label} is inside a buffer: the session needs"
            f" {search.buffer_before} free minutes before it and"
            f" {search.buffer_after} after it."
        )
    return None


def describe(moment: datetime) -> str:
    """Format a datetime for a message, in UTC."""
    return moment.astimezone(from_minutes(0).tzinfo).strftime("%a %d %b %Y %H:%M UTC")


def describe_minutes(minute: int) -> str:
    """Format a minute since the epoch for a message, in UTC."""
    return describe(from_minutes(minute))
