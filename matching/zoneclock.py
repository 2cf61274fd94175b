"""Vectorised UTC offsets of one zone over a range of minutes.

``zoneinfo`` converts one datetime at a time; series planning needs the
local date and the same local time a week later for thousands of minutes
at once. A ZoneClock finds the zone's transitions in a range once and then
converts whole numpy arrays.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from matching.hours import MINUTES_PER_DAY, load_zone
from matching.intervals import IntArray
from matching.timebase import from_minutes


@dataclass(frozen=True)
class ZoneClock:
    """UTC offsets (minutes) of one zone, valid between two UTC minutes."""

    transitions: IntArray
    """UTC minutes at which offsets[i + 1] takes over from offsets[i]."""
    offsets: IntArray
    local_boundaries: IntArray
    """Local minutes where a wall time stops mapping to the segment before."""

    def offset_at(self, minutes: IntArray) -> IntArray:
        """Return the UTC offset in force at each UTC minute."""
        segment = np.searchsorted(self.transitions, minutes, side="right")
        return self.offsets[segment]

    def to_local(self, minutes: IntArray) -> IntArray:
        """Return local wall minutes for UTC minutes."""
        return minutes + self.offset_at(minutes)

    def local_days(self, minutes: IntArray) -> IntArray:
        """Return the local day number (days since 1970-01-01) of UTC minutes."""
        return self.to_local(minutes) // MINUTES_PER_DAY

    def from_local(self, local: IntArray) -> IntArray:
        """Return UTC minutes for local wall minutes, like zoneinfo with fold=0.

        A wall time in a gap keeps the offset from before the gap, so it
        moves forward; an ambiguous wall time takes its first occurrence.
        """
        segment = np.searchsorted(self.local_boundaries, local, side="right")
        return local - self.offsets[segment]


@lru_cache(maxsize=1024)
def zone_clock(name: str, start: int, end: int) -> ZoneClock:
    """Build the ZoneClock of zone ``name`` for UTC minutes [start, end)."""
    zone = load_zone(name)

    def offset(minute: int) -> int:
        delta = from_minutes(minute).astimezone(zone).utcoffset()
        assert delta is not None
        return int(delta.total_seconds() // 60)

    # Zones change offset at most a few times a year and never twice within
    # twelve hours, so sampling every twelve hours finds every transition.
    step = MINUTES_PER_DAY // 2
    transitions: list[int] = []
    offsets = [offset(start)]
    previous = start
    for sample in range(start + step, end + step, step):
        if offset(sample) == offsets[-1]:
            previous = sample
            continue
        low, high = previous, sample
        while high - low > 1:
            middle = (low + high) // 2
            if offset(middle) == offsets[-1]:
                low = middle
            else:
                high = middle
        transitions.append(high)
        offsets.append(offset(high))
        previous = sample

    boundaries = [
        moment + max(before, after)
        for moment, before, after in zip(
            transitions, offsets, offsets[1:], strict=False
        )
    ]
    return ZoneClock(
        np.array(transitions, dtype=np.int64),
        np.array(offsets, dtype=np.int64),
        np.array(boundaries, dtype=np.int64),
    )
