"""Mutual free time of mentor-mentee pairs, cached for one planning run.

People with equal availability share one class, so the valid slot starts of
a pair are computed once per pair of classes (and held time). Sessions
planned earlier in the run are removed from those starts per pair.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import datetime

import numpy as np

from matching.intervals import IntArray, merge_arrays, overlaps_any
from matching.model import Availability, Interval, PlannedSession, ProgramRules
from matching.series import choose_series, clock_for, minute_intervals
from matching.slots import SlotQuery, prepare, to_session, valid_starts

logger = logging.getLogger(__name__)

PairKey = tuple[int, int, int | None, int | None]


def program_query(rules: ProgramRules, now: datetime) -> SlotQuery:
    """Build the slot query that every pair of a program shares."""
    return SlotQuery(
        length_minutes=rules.session_minutes,
        start=rules.window_start,
        end=rules.window_end,
        interval_minutes=rules.grid_minutes,
        now=now,
        buffer_before_minutes=rules.buffer_minutes,
        buffer_after_minutes=rules.buffer_minutes,
        min_notice_minutes=rules.min_notice_minutes,
    )


class PairTimes:
    """Valid starts and series for pairs, with sessions planned so far."""

    def __init__(
        self, rules: ProgramRules, now: datetime, held: Iterable[tuple[int, Interval]]
    ) -> None:
        self.rules = rules
        self.query = program_query(rules, now)
        self.classes: dict[Availability, int] = {}
        self.class_by_id: dict[int, tuple[Availability, int]] = {}
        self.starts: dict[PairKey, IntArray] = {}
        self.feasible: dict[PairKey, bool] = {}

        self.held: dict[int, list[tuple[int, int]]] = {}
        for person, interval in held:
            self.held.setdefault(person, []).extend(minute_intervals([interval]))
        self.planned: dict[int, list[tuple[int, int]]] = {}

    def class_of(self, availability: Availability) -> int:
        """Return a small integer shared by all equal availabilities."""
        entry = self.class_by_id.get(id(availability))
        if entry is not None and entry[0] is availability:
            return entry[1]
        number = self.classes.setdefault(availability, len(self.classes))
        self.class_by_id[id(availability)] = (availability, number)
        return number

    def pair_key(
        self, mentor: Availability, mentor_id: int, mentee: Availability, mentee_id: int
    ) -> PairKey:
        """Return the cache key of a pair: both classes and any held time."""
        return self.pair_key_of(
            self.class_of(mentor), mentor_id, self.class_of(mentee), mentee_id
        )

    def pair_key_of(
        self, mentor_class: int, mentor_id: int, mentee_class: int, mentee_id: int
    ) -> PairKey:
        """Return the cache key of a pair from availability classes."""
        return (
            mentor_class,
            mentee_class,
            mentor_id if mentor_id in self.held else None,
            mentee_id if mentee_id in self.held else None,
        )

    def has_series(
        self,
        key: PairKey,
        mentor: Availability,
        mentor_id: int,
        mentee: Availability,
        mentee_id: int,
    ) -> bool:
        """Whether the whole series fits the pair, ignoring this run's sessions."""
        known = self.feasible.get(key)
        if known is None:
            plan = self.plan(mentor, mentor_id, mentee, mentee_id, with_planned=False)
            known = self.feasible[key] = plan is not None
        return known

    def base_starts(
        self, mentor: Availability, mentor_id: int, mentee: Availability, mentee_id: int
    ) -> IntArray:
        """Return the pair's valid starts, ignoring sessions of this run."""
        key = self.pair_key(mentor, mentor_id, mentee, mentee_id)
        cached = self.starts.get(key)
        if cached is None:
            extra = [*self.held.get(mentor_id, ()), *self.held.get(mentee_id, ())]
            search = prepare(self.query, [mentor, mentee], extra)
            cached = valid_starts(search)
            self.starts[key] = cached
        return cached

    def plan(
        self,
        mentor: Availability,
        mentor_id: int,
        mentee: Availability,
        mentee_id: int,
        with_planned: bool = True,
    ) -> list[int] | None:
        """Return series starts for the pair, or None when none fit."""
        starts = self.base_starts(mentor, mentor_id, mentee, mentee_id)
        if with_planned:
            starts = self._without_planned(starts, (mentor_id, mentee_id))

        clock = clock_for(
            mentor.timezone,
            int(self.query.start.timestamp() // 60),
            int(self.query.end.timestamp() // 60),
        )
        return choose_series(
            starts,
            clock,
            self.rules.sessions,
            self.rules.min_days_between,
            self.rules.session_minutes,
        )

    def _without_planned(self, starts: IntArray, people: Sequence[int]) -> IntArray:
        taken = [
            interval for person in people for interval in self.planned.get(person, ())
        ]
        if not taken or starts.size == 0:
            return starts
        buffer = self.rules.buffer_minutes
        blocked_starts, blocked_ends = merge_arrays(
            np.array([s for s, _ in taken], dtype=np.int64) - buffer,
            np.array([e for _, e in taken], dtype=np.int64) + buffer,
        )
        clash = overlaps_any(
            blocked_starts, blocked_ends, starts, starts + self.rules.session_minutes
        )
        return starts[~clash]

    def book(
        self, people: Sequence[int], starts: Sequence[int]
    ) -> list[PlannedSession]:
        """Record planned sessions for these people and return them."""
        length = self.rules.session_minutes
        for person in people:
            self.planned.setdefault(person, []).extend((s, s + length) for s in starts)
        return [to_session(start, length) for start in starts]
