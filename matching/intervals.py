"""Set operations on sorted half-open intervals.

The list functions take any comparable endpoints (datetimes or integers)
and run in one linear sweep. The ``*_arrays`` functions do the same on
numpy arrays of starts and ends, for the hot paths.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

T = TypeVar("T", bound=Any)
IntArray = npt.NDArray[np.int64]


def merge(intervals: Iterable[tuple[T, T]]) -> list[tuple[T, T]]:
    """Merge overlapping or touching intervals of a start-sorted sequence."""
    merged: list[tuple[T, T]] = []
    for start, end in intervals:
        if not start < end:
            continue
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
            continue
        merged.append((start, end))
    return merged


def intersect(
    first: Sequence[tuple[T, T]], second: Sequence[tuple[T, T]]
) -> list[tuple[T, T]]:
    """Return the intersection of two merged, sorted interval lists."""
    result: list[tuple[T, T]] = []
    i = j = 0
    while i < len(first) and j < len(second):
        start = max(first[i][0], second[j][0])
        end = min(first[i][1], second[j][1])
        if start < end:
            result.append((start, end))
        if first[i][1] < second[j][1]:
            i += 1
        else:
            j += 1
    return result


def subtract(
    base: Sequence[tuple[T, T]], removed: Sequence[tuple[T, T]]
) -> list[tuple[T, T]]:
    """Return ``base`` minus ``removed``; both merged and sorted."""
    result: list[tuple[T, T]] = []
    j = 0
    for start, end in base:
        while j < len(removed) and removed[j][1] <= start:
            j += 1
        cursor = start
        k = j
        while k < len(removed) and removed[k][0] < end:
            if removed[k][0] > cursor:
                result.append((cursor, removed[k][0]))
            if removed[k][1] > cursor:
                cursor = removed[k][1]
            k += 1
        if cursor < end:
            result.append((cursor, end))
    return result


def merge_arrays(starts: IntArray, ends: IntArray) -> tuple[IntArray, IntArray]:
    """Merge intervals given as arrays; they need not be sorted."""
    if starts.size == 0:
        return starts, ends

    order = np.argsort(starts, kind="stable")
    starts = starts[order]
    ends = np.maximum.accumulate(ends[order])

    # A new run begins where a start lies past every end before it.
    begins = np.empty(starts.size, dtype=bool)
    begins[0] = True
    begins[1:] = starts[1:] > ends[:-1]
    first = np.flatnonzero(begins)
    last = np.append(first[1:] - 1, starts.size - 1)
    return starts[first], ends[last]


def overlaps_any(
    busy_starts: IntArray,
    busy_ends: IntArray,
    starts: IntArray,
    ends: IntArray,
) -> npt.NDArray[np.bool_]:
    """For each query interval, whether it overlaps a merged busy interval."""
    if busy_starts.size == 0:
        return np.zeros(starts.shape, dtype=bool)

    # The first busy interval ending after the query start is the only one
    # that can overlap, because merged intervals are disjoint and sorted.
    index = np.searchsorted(busy_ends, starts, side="right")
    inside = index < busy_starts.size
    result = np.zeros(starts.shape, dtype=bool)
    result[inside] = busy_starts[index[inside]] < ends[inside]
    return result
