"""Splitting a time range and a list of calendars into provider-sized calls."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta


def check_range(start: datetime, end: datetime) -> None:
    """Raise ValueError unless ``[start, end)`` is timezone-aware and not empty."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError(
            f"range {start} to {end} has a naive datetime; pass timezone-aware ones"
        )
    if end <= start:
        raise ValueError(f"range end {end} is not after its start {start}")


def split_range(
    start: datetime, end: datetime, max_length: timedelta
) -> Iterator[tuple[datetime, datetime]]:
    """Split ``[start, end)`` into consecutive ranges of at most ``max_length``."""
    cursor = start
    while cursor < end:
        chunk_end = min(cursor + max_length, end)
        yield cursor, chunk_end
        cursor = chunk_end


def batched(items: list[str], size: int) -> Iterator[list[str]]:
    """Yield ``items`` in lists of at most ``size``."""
    for index in range(0, len(items), size):
        yield items[index : index + size]
