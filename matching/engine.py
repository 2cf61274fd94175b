"""Match a program's requests to mentors and plan their sessions.

``plan_program`` runs four steps: candidates (topic, site rule, exclusions,
mutual free time for the whole series), an optimal assignment
(``matching.assignment``), session planning in request-id order so that
nobody's sessions collide, and a repair round for pairs whose time was
taken by earlier matches of the same run.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from matching.assignment import Demand, assign
from matching.candidates import Candidates, RequestGroup, build_groups
from matching.explain import match_reasons, unmatched_for
from matching.model import (
    Match,
    MatchPlan,
    Mentor,
    PlannedSession,
    ProgramRules,
    Request,
    Unmatched,
)
from matching.pairtimes import PairTimes
from matching.rules import RulesError, validate_rules

logger = logging.getLogger(__name__)

REPAIR_ROUNDS = 10
RESOLVE_ROUNDS = 4

__all__ = ["RulesError", "plan_program", "validate_rules"]


@dataclass
class _Run:
    """State of one planning run."""

    rules: ProgramRules
    mentors: list[Mentor]
    times: PairTimes
    free: list[int]
    """Places left per mentor index."""
    counts: list[int]
    """Mentees per mentor index, earlier load included."""
    matches: dict[int, Match] = field(default_factory=dict)
    met: set[tuple[int, int]] = field(default_factory=set)
    """(mentee id, mentor index) pairs matched in this run."""
    lost_time: set[int] = field(default_factory=set)
    """Requests whose every option lost its time to other matches."""
    blocked: dict[int, set[int]] = field(default_factory=dict)
    """Mentor indices whose planned time failed, per request id."""

    def snapshot(self) -> _Saved:
        """Copy the state that planning changes, to start a round again."""
        planned = {person: list(items) for person, items in self.times.planned.items()}
        return _Saved(
            list(self.free),
            list(self.counts),
            dict(self.matches),
            set(self.met),
            planned,
        )

    def restore(self, saved: _Saved) -> None:
        """Return to a snapshot taken with ``snapshot``."""
        self.free = list(saved.free)
        self.counts = list(saved.counts)
        self.matches = dict(saved.matches)
        self.met = set(saved.met)
        self.times.planned = {p: list(i) for p, i in saved.planned.items()}


@dataclass(frozen=True)
class _Saved:
    free: list[int]
    counts: list[int]
    matches: dict[int, Match]
    met: set[tuple[int, int]]
    planned: dict[int, list[tuple[int, int]]]


def plan_program(
    rules: ProgramRules,
    mentors: Sequence[Mentor],
    requests: Sequence[Request],
    now: datetime,
) -> MatchPlan:
    """Match requests to mentors optimally and plan every series.

    Raises RulesError when ``validate_rules`` finds a problem.
    """
    problems = validate_rules(rules)
    if problems:
        raise RulesError(problems)

    ordered_mentors = sorted(mentors, key=lambda mentor: mentor.id)
    ordered_requests = sorted(requests, key=lambda request: request.id)
    times = PairTimes(rules, now, rules.held)
    run = _Run(
        rules,
        ordered_mentors,
        times,
        free=[max(0, m.capacity - m.load) for m in ordered_mentors],
        counts=[m.load for m in ordered_mentors],
    )

    candidates = Candidates(rules, ordered_mentors, times)
    forced = _plan_forced(run, ordered_requests)
    open_requests = [r for r in ordered_requests if r.id not in forced]
    groups = build_groups(rules, ordered_mentors, open_requests)
    for group in groups:
        candidates.evaluate(group, run.free)

    failed = _solve_rounds(run, groups)
    _repair(run, candidates, failed)

    plan = MatchPlan(matches=[run.matches[r] for r in sorted(run.matches)])
    for group in groups:
        for request in group.requests:
            if request.id not in run.matches:
                plan.unmatched.append(
                    unmatched_for(
                        rules, request, group.stats, request.id in run.lost_time
                    )
                )
    for item in forced.values():
        if isinstance(item, Unmatched):
            plan.unmatched.append(item)
    plan.unmatched.sort(key=lambda item: item.request_id)
    logger.info(
        "matched %d of %d requests (%d mentors)",
        len(plan.matches),
        len(ordered_requests),
        len(ordered_mentors),
    )
    return plan


def _plan_forced(
    run: _Run, requests: Sequence[Request]
) -> dict[int, Match | Unmatched]:
    """Plan the pairs an administrator fixed, before anything else."""
    index_of = {mentor.id: index for index, mentor in enumerate(run.mentors)}
    result: dict[int, Match | Unmatched] = {}
    by_request = {request.id: request for request in requests}

    for request_id, mentor_id in sorted(run.rules.forced):
        request = by_request.get(request_id)
        mentor_index = index_of.get(mentor_id)
        if request is None or mentor_index is None or request_id in result:
            logger.warning(
                "fixed pair of request %s and mentor %s skipped", request_id, mentor_id
            )
            continue
        match = _plan_pair(run, request, mentor_index, score=0, fit_reason=None)
        if match is None:
            result[request_id] = Unmatched(
                request_id,
                "no-common-time",
                f"The fixed pair with mentor {mentor_id} has no common time for"
                f" {run.rules.sessions} session(s) in the window; widen the window,"
                " change their hours or remove the fixed pair.",
            )
            continue
        result[request_id] = match
    return result


def _plan_pair(
    run: _Run,
    request: Request,
    mentor_index: int,
    score: int,
    fit_reason: str | None,
) -> Match | None:
    """Plan the pair's series around earlier sessions and record the match."""
    mentor = run.mentors[mentor_index]
    starts = run.times.plan(
        mentor.availability, mentor.id, request.availability, request.mentee_id
    )
    if starts is None:
        return None

    sessions = run.times.book((mentor.id, request.mentee_id), starts)
    run.free[mentor_index] = max(0, run.free[mentor_index] - 1)
    run.counts[mentor_index] += 1
    run.met.add((request.mentee_id, mentor_index))
    match = Match(
        request_id=request.id,
        mentor_id=mentor.id,
        score=float(score),
        reasons=match_reasons(
            run.rules, mentor, request, fit_reason, run.counts[mentor_index], sessions
        ),
        sessions=tuple(sessions),
    )
    run.matches[request.id] = match
    return match


def _solve_rounds(run: _Run, groups: Sequence[RequestGroup]) -> list[Request]:
    """Assign and plan; when a pair's time collides, block it and solve again.

    Each round starts from the same state, so a request that lost its time
    can take another mentor while others move to make room. What still
    fails after the last round goes to ``_repair``.
    """
    saved = run.snapshot()
    failed: list[Request] = []
    for _ in range(RESOLVE_ROUNDS):
        run.restore(saved)
        failed = _assign_and_plan(run, _split_blocked(run, groups))
        if not failed:
            break
    return failed


def _split_blocked(run: _Run, groups: Sequence[RequestGroup]) -> list[RequestGroup]:
    """Move requests with blocked mentors out of their group, minus those."""
    result: list[RequestGroup] = []
    for group in groups:
        kept = [r for r in group.requests if r.id not in run.blocked]
        if kept:
            result.append(replace(group, requests=kept))
        for request in group.requests:
            blocked = run.blocked.get(request.id)
            if blocked is None:
                continue
            options = [o for o in group.options if o.mentor not in blocked]
            result.append(
                replace(group, requests=[request], solo=True, options=options)
            )
    return result


def _assign_and_plan(run: _Run, groups: Sequence[RequestGroup]) -> list[Request]:
    """Solve the assignment for all groups and plan sessions in id order."""
    development = run.rules.kind == "development-plan"
    demands = [
        Demand(
            size=len(group.requests),
            arcs=[(option.mentor, option.score) for option in group.options],
            mentee=group.requests[0].mentee_id if development and group.solo else None,
        )
        for group in groups
    ]
    solution = assign(demands, run.free, run.counts, _met_pairs(run))

    chosen: list[tuple[Request, RequestGroup, int]] = []
    for group, flows in zip(groups, solution.flows, strict=True):
        queue = list(group.requests)
        for mentor_index, amount in sorted(flows):
            for _ in range(amount):
                chosen.append((queue.pop(0), group, mentor_index))
    chosen.sort(key=lambda item: item[0].id)

    failed: list[Request] = []
    for request, group, mentor_index in chosen:
        option = group.option_for(mentor_index)
        if _plan_pair(run, request, mentor_index, option.score, option.reason) is None:
            run.blocked.setdefault(request.id, set()).add(mentor_index)
            failed.append(request)
    return failed


def _met_pairs(run: _Run) -> frozenset[tuple[int, int]]:
    return frozenset(run.met)


def _repair(run: _Run, candidates: Candidates, failed: list[Request]) -> None:
    """Give requests whose planned pair lost its time their next option."""
    for _ in range(REPAIR_ROUNDS):
        if not failed:
            return
        groups = [
            candidates.solo_with_time(request, run.free, run.blocked)
            for request in failed
        ]
        run.lost_time.update(r.id for g in groups if not g.options for r in g.requests)
        groups = [group for group in groups if group.options]
        if not groups:
            return
        failed = _assign_and_plan(run, groups)
    run.lost_time.update(request.id for request in failed)


def planned_sessions(plan: MatchPlan) -> list[tuple[int, PlannedSession]]:
    """List (mentor id, session) for every session of a plan, in time order."""
    items = [(m.mentor_id, s) for m in plan.matches for s in m.sessions]
    return sorted(items, key=lambda item: item[1].start)
