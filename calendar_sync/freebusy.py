"""Free/busy arithmetic: VFREEBUSY periods, clipping and merging intervals."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta, tzinfo

import icalendar

from .base import BusyInterval, BusyKind, ReadOptions

# Rank of each kind: over an overlap of two kinds, the higher rank is reported.
# Unknown ranks highest so a read failure stays visible under any busy time.
KIND_RANK: dict[BusyKind, int] = {
    "tentative": 0,
    "busy": 1,
    "unavailable": 2,
    "unknown": 3,
}

# RFC 5545 section 3.2.9: FBTYPE values; an unrecognised value is read as BUSY.
_FBTYPE_KINDS: dict[str, BusyKind | None] = {
    "FREE": None,
    "BUSY": "busy",
    "BUSY-UNAVAILABLE": "unavailable",
    "BUSY-TENTATIVE": "tentative",
}


def to_utc(value: datetime | date, floating_zone: tzinfo) -> datetime:
    """Convert an iCalendar value to UTC; dates and floating times use the zone."""
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    if value.tzinfo is None:
        value = value.replace(tzinfo=floating_zone)
    return value.astimezone(UTC)


def freebusy_intervals(
    component: icalendar.Component, options: ReadOptions, floating_zone: tzinfo
) -> list[BusyInterval]:
    """Read the FREEBUSY periods of one VFREEBUSY component as busy intervals."""
    periods = component.get("FREEBUSY")
    if periods is None:
        return []
    if not isinstance(periods, list):
        periods = [periods]

    intervals = []
    for period in periods:
        fbtype = str(period.params.get("FBTYPE", "BUSY")).strip('"').upper()
        kind = _FBTYPE_KINDS.get(fbtype, "busy")
        if kind is None:
            continue
        if kind == "tentative" and not options.tentative_blocks:
            continue

        start, end_or_duration = period.dt
        start_utc = to_utc(start, floating_zone)
        if isinstance(end_or_duration, timedelta):
            end_utc = start_utc + end_or_duration
        else:
            end_utc = to_utc(end_or_duration, floating_zone)
        if end_utc > start_utc:
            intervals.append(BusyInterval(start_utc, end_utc, kind))
    return intervals


def clip_intervals(
    intervals: Iterable[BusyInterval], start: datetime, end: datetime
) -> list[BusyInterval]:
    """Cut intervals to ``[start, end)`` and drop those outside it."""
    clipped = []
    for interval in intervals:
        low = max(interval.start, start)
        high = min(interval.end, end)
        if low < high:
            clipped.append(BusyInterval(low, high, interval.kind))
    return clipped


def merge_intervals(intervals: Iterable[BusyInterval]) -> list[BusyInterval]:
    """Merge intervals into disjoint ones sorted by start.

    Overlapping or touching intervals of one kind join; where kinds overlap,
    the kind with the higher ``KIND_RANK`` covers the overlap.
    """
    changes: dict[datetime, dict[BusyKind, int]] = {}
    for interval in intervals:
        if interval.end <= interval.start:
            continue
        at_start = changes.setdefault(interval.start, {})
        at_start[interval.kind] = at_start.get(interval.kind, 0) + 1
        at_end = changes.setdefault(interval.end, {})
        at_end[interval.kind] = at_end.get(interval.kind, 0) - 1

    merged: list[BusyInterval] = []
    active: dict[BusyKind, int] = {}
    points = sorted(changes)
    for point, following in zip(points, points[1:], strict=False):
        for kind, delta in changes[point].items():
            active[kind] = active.get(kind, 0) + delta
        kind_now = _strongest(active)
        if kind_now is None:
            continue
        if merged and merged[-1].end == point and merged[-1].kind == kind_now:
            merged[-1] = BusyInterval(merged[-1].start, following, kind_now)
        else:
            merged.append(BusyInterval(point, following, kind_now))
    return merged


def _strongest(active: dict[BusyKind, int]) -> BusyKind | None:
    present = [kind for kind, count in active.items() if count > 0]
    if not present:
        return None
    return max(present, key=KIND_RANK.__getitem__)
