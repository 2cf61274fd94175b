"""Whole minutes since the Unix epoch: the time unit of every hot path.

Datetimes cross the package boundary; inside, times are integers so that
interval work is plain integer arithmetic (and numpy where it pays).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def require_aware(moment: datetime, name: str = "time") -> None:
    """Raise ValueError when ``moment`` has no time zone."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(
            f"The {name} {moment.isoformat()} has no time zone;"
            " pass an aware datetime, for example with tzinfo=datetime.UTC."
        )


def to_minutes_floor(moment: datetime) -> int:
    """Return whole minutes since the epoch, rounding down."""
    require_aware(moment)
    return int(moment.timestamp() // 60)


def to_minutes_ceil(moment: datetime) -> int:
    """Return whole minutes since the epoch, rounding up."""
    require_aware(moment)
    return -int(-moment.timestamp() // 60)


def from_minutes(minutes: int) -> datetime:
    """Return the UTC datetime ``minutes`` after the epoch."""
    return EPOCH + timedelta(minutes=int(minutes))
