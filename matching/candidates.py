"""Candidate mentors for groups of interchangeable requests.

Requests that share topic, site and availability (and have no exclusion,
held time or development-plan sibling of their own) form one group, so
eligibility and the assignment work once per group instead of per request.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from matching.eligibility import (
    TopicIndex,
    allows_sites,
    is_excluded,
    normalise,
    site_bonus,
)
from matching.model import Mentor, ProgramRules, Request
from matching.pairtimes import PairTimes

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Option:
    """A mentor who can take the group's requests, with score and reason."""

    mentor: int
    """Index into the id-sorted mentor list."""
    score: int
    reason: str


@dataclass(slots=True)
class GroupStats:
    """How many mentors pass each eligibility step, for unmatched reasons."""

    topic: int = 0
    site: int = 0
    allowed: int = 0
    open: int = 0
    timed: int = 0


@dataclass(slots=True)
class RequestGroup:
    """Requests with identical options, id-sorted."""

    requests: list[Request]
    solo: bool
    options: list[Option] = field(default_factory=list)
    stats: GroupStats = field(default_factory=GroupStats)

    def option_for(self, mentor: int) -> Option:
        """Return the option of one mentor index."""
        return next(option for option in self.options if option.mentor == mentor)


def build_groups(
    rules: ProgramRules, mentors: Sequence[Mentor], requests: Sequence[Request]
) -> list[RequestGroup]:
    """Group id-sorted requests whose options must be identical."""
    mentor_ids = {mentor.id for mentor in mentors}
    forbidden_mentees = {mentee for mentee, _ in rules.forbidden}
    held_people = {person for person, _ in rules.held}
    per_mentee: dict[int, int] = {}
    for request in requests:
        per_mentee[request.mentee_id] = per_mentee.get(request.mentee_id, 0) + 1

    groups: dict[object, RequestGroup] = {}
    for request in requests:
        solo = (
            request.mentee_id in mentor_ids
            or request.mentee_id in forbidden_mentees
            or request.mentee_id in held_people
            or (rules.kind == "development-plan" and per_mentee[request.mentee_id] > 1)
        )
        key: object = (
            ("solo", request.id)
            if solo
            else (
                normalise(request.topic),
                normalise(request.site),
                request.availability,
            )
        )
        group = groups.setdefault(key, RequestGroup([], solo))
        group.requests.append(request)
    return list(groups.values())


class Candidates:
    """Computes the options of request groups against one mentor list."""

    def __init__(
        self, rules: ProgramRules, mentors: Sequence[Mentor], times: PairTimes
    ) -> None:
        self.rules = rules
        self.mentors = mentors
        self.times = times
        self.index = TopicIndex(mentors, rules)
        self.group_of: dict[int, RequestGroup] = {}
        self.sites = [normalise(mentor.site) for mentor in mentors]
        self.classes = [times.class_of(mentor.availability) for mentor in mentors]

    def evaluate(self, group: RequestGroup, free: Sequence[int]) -> None:
        """Fill the group's options and stats: topic, site, exclusion, time."""
        sample = group.requests[0]
        for request in group.requests:
            self.group_of[request.id] = group

        fits = self.index.fits(sample.topic)
        stats = group.stats
        stats.topic = len(fits)
        site = normalise(sample.site)
        mentee_class = self.times.class_of(sample.availability)
        for mentor_index in sorted(fits):
            mentor = self.mentors[mentor_index]
            same = self.sites[mentor_index] == site
            if not allows_sites(self.rules, same):
                continue
            stats.site += 1
            if is_excluded(self.rules, mentor, sample):
                continue
            stats.allowed += 1
            if free[mentor_index] <= 0:
                continue
            stats.open += 1
            key = self.times.pair_key_of(
                self.classes[mentor_index], mentor.id, mentee_class, sample.mentee_id
            )
            if not self.times.has_series(
                key,
                mentor.availability,
                mentor.id,
                sample.availability,
                sample.mentee_id,
            ):
                continue
            stats.timed += 1
            fit = fits[mentor_index]
            score = fit.score + site_bonus(self.rules, same)
            group.options.append(Option(mentor_index, score, fit.reason))

    def solo_with_time(
        self, request: Request, free: Sequence[int], blocked_by: dict[int, set[int]]
    ) -> RequestGroup:
        """Return a one-request group of the options that still have time."""
        original = self.group_of[request.id]
        blocked = blocked_by.get(request.id, set())
        times = self.times
        solo = RequestGroup([request], True, stats=original.stats)
        for option in original.options:
            mentor = self.mentors[option.mentor]
            if option.mentor in blocked or free[option.mentor] <= 0:
                continue
            starts = times.plan(
                mentor.availability, mentor.id, request.availability, request.mentee_id
            )
            if starts is not None:
                solo.options.append(option)
        self.group_of[request.id] = solo
        return solo
