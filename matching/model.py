"""Plain values that go into and come out of the matching engine.

Every datetime is timezone-aware UTC; every interval is half-open.
Nothing here imports Flask, a database or the network.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal

Interval = tuple[datetime, datetime]
SiteRule = Literal["any", "same", "other-required", "other-preferred"]
ProgramKind = Literal[
    "intervention", "development-plan", "one-off", "speed", "informational"
]


@dataclass(frozen=True, slots=True)
class Availability:
    """When one person can meet: weekly hours in their zone minus busy time.

    ``hours`` uses the weekly-hours syntax, for example
    ``"Mon-Thu 07:30-15:30; Fri 08:00-12:00"``. ``overrides`` replaces the
    weekly hours on the given local dates; an empty tuple means no hours.
    ``busy`` holds every blocking interval, unknown availability included.
    ``busy_minutes``, when set, holds the same intervals as whole minutes
    since the Unix epoch (starts rounded down, ends up) and is used in
    place of ``busy``, which saves converting every datetime again.
    """

    timezone: str
    hours: str
    busy: tuple[Interval, ...] = ()
    overrides: tuple[tuple[date, str], ...] = ()
    busy_minutes: tuple[tuple[int, int], ...] | None = None


@dataclass(frozen=True, slots=True)
class Mentor:
    id: int
    topics: frozenset[str]
    site: str
    capacity: int
    availability: Availability
    load: int = 0
    title: str = ""
    tags: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Request:
    """One mentee's wish for one topic (or, for informational interviews, a role)."""

    id: int
    mentee_id: int
    topic: str
    site: str
    availability: Availability
    title: str = ""
    tags: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class ProgramRules:
    kind: ProgramKind
    sessions: int
    session_minutes: int
    window_start: datetime
    window_end: datetime
    min_days_between: int = 7
    buffer_minutes: int = 0
    min_notice_minutes: int = 0
    grid_minutes: int = 15
    site_rule: SiteRule = "any"
    synonyms: tuple[frozenset[str], ...] = ()
    related: tuple[frozenset[str], ...] = ()
    forced: frozenset[tuple[int, int]] = frozenset()
    """(request id, mentor id) pairs the administrator fixed."""
    forbidden: frozenset[tuple[int, int]] = frozenset()
    """(mentee id, mentor id) pairs that may never be matched."""
    held: tuple[tuple[int, Interval], ...] = ()
    """(person id, interval) already booked in other series; never given away."""


@dataclass(frozen=True, slots=True)
class PlannedSession:
    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class Match:
    request_id: int
    mentor_id: int
    score: float
    reasons: tuple[str, ...]
    sessions: tuple[PlannedSession, ...]


UnmatchedReason = Literal[
    "no-mentor-for-topic",
    "mentors-full",
    "no-common-time",
    "site-rule",
    "excluded",
    "monthly-capacity",
]


@dataclass(frozen=True, slots=True)
class Unmatched:
    request_id: int
    reason: UnmatchedReason
    message: str
    """A plain sentence saying why, and what would change it."""


@dataclass(slots=True)
class MatchPlan:
    matches: list[Match] = field(default_factory=list)
    unmatched: list[Unmatched] = field(default_factory=list)
