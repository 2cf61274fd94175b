"""Series of up to three sessions in mutual free time.

Sessions of a series are at least ``min_days_between`` local calendar days
apart in the first participant's zone (the mentor's), and never overlap.
Candidates are the valid slot starts of ``matching.slots``. A series is
chosen in this order, earliest first within each tier:

1. every session on the same local weekday and time, one period apart
   (the period is 7 days, or the smallest multiple of 7 that keeps the gap);
2. all sessions but one on that weekly pattern; the odd one moves to the
   valid start nearest its pattern time that keeps the gap from both
   neighbours;
3. otherwise the earliest sessions that keep the gap.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

import numpy as np

from matching.hours import MINUTES_PER_DAY
from matching.intervals import IntArray
from matching.model import Availability, Interval, PlannedSession
from matching.slots import SlotQuery, prepare, to_session, valid_starts
from matching.timebase import to_minutes_ceil, to_minutes_floor
from matching.zoneclock import ZoneClock, zone_clock

logger = logging.getLogger(__name__)

MAX_SESSIONS = 3


def plan_series(
    query: SlotQuery,
    participants: Sequence[Availability],
    sessions: int,
    min_days_between: int,
    taken: Sequence[Interval] = (),
) -> list[PlannedSession] | None:
    """Plan ``sessions`` sessions in mutual free time, or None when none fit.

    ``taken`` holds intervals that no session may overlap (with the query
    buffers), such as sessions already planned for either person.
    """
    check_series_arguments(sessions, min_days_between)
    search = prepare(query, participants, minute_intervals(taken))
    clock = clock_for(participants[0].timezone, search.window_start, search.window_end)

    chosen = choose_series(
        valid_starts(search), clock, sessions, min_days_between, search.length
    )
    if chosen is None:
        return None
    return [to_session(start, search.length) for start in chosen]


def replan_session(
    query: SlotQuery,
    participants: Sequence[Availability],
    series: Sequence[PlannedSession],
    index: int,
    min_days_between: int,
    taken: Sequence[Interval] = (),
) -> list[PlannedSession] | None:
    """Move session ``index`` of a series to another valid time.

    The other sessions stay; the moved one keeps the gap from its
    neighbours and lands on the valid start nearest its old time (the
    earlier one on a tie). Returns the whole new series, or None.
    """
    if not 0 <= index < len(series):
        raise ValueError(
            f"Session index {index} is outside the series of {len(series)} sessions;"
            f" use 0 to {len(series) - 1}."
        )
    check_series_arguments(len(series), min_days_between)

    others = [s for number, s in enumerate(series) if number != index]
    blocked = minute_intervals([*taken, *((s.start, s.end) for s in others)])
    search = prepare(query, participants, blocked)
    clock = clock_for(participants[0].timezone, search.window_start, search.window_end)

    starts = valid_starts(search)
    old = to_minutes_floor(series[index].start)
    starts = starts[starts != old]

    pattern = [to_minutes_floor(s.start) for s in series]
    moved = nearest_between(
        starts, clock, pattern, index, min_days_between, search.length
    )
    if moved is None:
        return None
    result = list(series)
    result[index] = to_session(moved, search.length)
    return result


def check_series_arguments(sessions: int, min_days_between: int) -> None:
    """Raise ValueError for a session count or gap that cannot be planned."""
    if not 1 <= sessions <= MAX_SESSIONS:
        raise ValueError(
            f"A series has 1 to {MAX_SESSIONS} sessions, not {sessions};"
            " change the number of sessions."
        )
    if min_days_between < 0:
        raise ValueError(
            f"The gap between sessions is {min_days_between} days; use 0 or more days."
        )


def minute_intervals(intervals: Sequence[Interval]) -> list[tuple[int, int]]:
    """Convert datetime intervals to minute intervals (outward rounding)."""
    return [(to_minutes_floor(s), to_minutes_ceil(e)) for s, e in intervals]


def clock_for(zone: str, start: int, end: int) -> ZoneClock:
    """Return a ZoneClock covering a window with room for weekly shifts."""
    # Rounded to whole days so that nearby windows share one cached clock.
    first = (start // MINUTES_PER_DAY - 2) * MINUTES_PER_DAY
    last = (end // MINUTES_PER_DAY + 30) * MINUTES_PER_DAY
    return zone_clock(zone, first, last)


def choose_series(
    starts: IntArray, clock: ZoneClock, count: int, min_days: int, length: int
) -> list[int] | None:
    """Pick ``count`` starts from sorted valid ``starts`` by the tier rules."""
    if starts.size < count:
        return None
    if count == 1:
        return [int(starts[0])]

    period = 7 * max(1, math.ceil(min_days / 7)) * MINUTES_PER_DAY
    weekly = weekly_series(starts, clock, count, period)
    if weekly is not None:
        return weekly

    one_moved = series_with_one_moved(starts, clock, count, period, min_days, length)
    if one_moved is not None:
        return one_moved
    return earliest_series(starts, clock, count, min_days, length)


def is_member(starts: IntArray, values: IntArray) -> np.ndarray:
    """For each value, whether it is one of the sorted ``starts``."""
    index = np.searchsorted(starts, values)
    index = np.minimum(index, starts.size - 1)
    return starts[index] == values


def pattern_times(
    clock: ZoneClock, first_local: IntArray, count: int, period: int
) -> IntArray:
    """Return UTC starts of weekly patterns, one row per first local time."""
    shifts = np.arange(count, dtype=np.int64) * period
    return clock.from_local(first_local[:, None] + shifts[None, :])


def weekly_series(
    starts: IntArray, clock: ZoneClock, count: int, period: int
) -> list[int] | None:
    """Return the earliest series on one weekly pattern, if any."""
    # Most pairs have a pattern among their first starts, so small chunks
    # first save testing every start.
    first, chunk = 0, 64
    while first < starts.size:
        part = starts[first : first + chunk]
        times = pattern_times(clock, clock.to_local(part), count, period)
        complete = is_member(starts, times).all(axis=1)
        found = np.flatnonzero(complete)
        if found.size:
            return [int(t) for t in times[found[0]]]
        first += chunk
        chunk *= 4
    return None


def series_with_one_moved(
    starts: IntArray,
    clock: ZoneClock,
    count: int,
    period: int,
    min_days: int,
    length: int,
) -> list[int] | None:
    """Return the earliest pattern series in which exactly one session moves."""
    local = clock.to_local(starts)
    firsts = np.unique(np.concatenate([local - k * period for k in range(count)]))
    times = pattern_times(clock, firsts, count, period)
    present = is_member(starts, times)
    candidates = np.flatnonzero(present.sum(axis=1) == count - 1)

    for row in candidates:
        pattern = [int(t) for t in times[row]]
        index = int(np.flatnonzero(~present[row])[0])
        moved = nearest_between(starts, clock, pattern, index, min_days, length)
        if moved is not None:
            pattern[index] = moved
            return pattern
    return None


def nearest_between(
    starts: IntArray,
    clock: ZoneClock,
    series: Sequence[int],
    index: int,
    min_days: int,
    length: int,
) -> int | None:
    """Return the start nearest ``series[index]`` that keeps both gaps."""
    days = clock.local_days(starts)
    low, high = 0, starts.size

    if index > 0:
        previous = series[index - 1]
        previous_day = int(clock.local_days(np.array([previous]))[0])
        low = max(
            int(np.searchsorted(days, previous_day + min_days)),
            int(np.searchsorted(starts, previous + length)),
        )
    if index + 1 < len(series):
        following = series[index + 1]
        following_day = int(clock.local_days(np.array([following]))[0])
        high = min(
            int(np.searchsorted(days, following_day - min_days, side="right")),
            int(np.searchsorted(starts, following - length, side="right")),
        )
    if low >= high:
        return None

    window = starts[low:high]
    target = series[index]
    position = int(np.searchsorted(window, target))
    options = window[max(0, position - 1) : position + 1]
    # On a tie the earlier start wins because it comes first in options.
    return int(options[np.argmin(np.abs(options - target))])


def earliest_series(
    starts: IntArray, clock: ZoneClock, count: int, min_days: int, length: int
) -> list[int] | None:
    """Return the greedy earliest series that keeps the gap, if any.

    Taking the earliest allowed start each time never loses a series: any
    valid series can be shifted onto the greedy picks one session at a time.
    """
    days = clock.local_days(starts)
    chosen = [int(starts[0])]
    for _ in range(count - 1):
        previous = chosen[-1]
        previous_day = int(clock.local_days(np.array([previous]))[0])
        index = max(
            int(np.searchsorted(days, previous_day + min_days)),
            int(np.searchsorted(starts, previous + length)),
        )
        if index >= starts.size:
            return None
        chosen.append(int(starts[index]))
    return chosen
