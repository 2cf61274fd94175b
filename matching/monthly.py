"""Monthly session limits of mentors, applied around ``plan_program``.

The assignment counts mentees, not sessions per calendar month, so the
limit is enforced after planning: matches are taken in request-id order
and a match that would put its mentor over the limit in any month (in the
mentor's zone) is dropped. The program is then planned again with those
pairs forbidden, so the request can go to another mentor. What is still
over the limit after the last round is reported unmatched.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from zoneinfo import ZoneInfo

from matching.engine import plan_program
from matching.model import Match, MatchPlan, Mentor, ProgramRules, Request, Unmatched

logger = logging.getLogger(__name__)

REPLAN_ROUNDS = 3
Month = tuple[int, int]


@dataclass(frozen=True, slots=True)
class MonthlyLimit:
    """At most ``sessions`` sessions per calendar month in ``timezone``."""

    sessions: int
    timezone: str
    booked: Mapping[Month, int] | None = None
    """Sessions the mentor already holds, per (year, month)."""
    name: str = ""
    """How messages name the mentor; the mentor id when empty."""


def plan_with_monthly_limits(
    rules: ProgramRules,
    mentors: Sequence[Mentor],
    requests: Sequence[Request],
    now: datetime,
    limits: Mapping[int, MonthlyLimit],
) -> MatchPlan:
    """Plan the program so that no mentor exceeds a monthly session limit."""
    forbidden = set(rules.forbidden)
    capped: dict[int, str] = {}
    plan = plan_program(rules, mentors, requests, now)
    for _ in range(REPLAN_ROUNDS):
        over = over_limit(plan.matches, limits)
        if not over:
            return _explain(plan, capped)
        mentee_of = {request.id: request.mentee_id for request in requests}
        for match, message in over:
            forbidden.add((mentee_of[match.request_id], match.mentor_id))
            capped[match.request_id] = message
        plan = plan_program(
            replace(rules, forbidden=frozenset(forbidden)), mentors, requests, now
        )

    over = over_limit(plan.matches, limits)
    dropped = {match.request_id for match, _ in over}
    for match, message in over:
        capped[match.request_id] = message
        plan.unmatched.append(Unmatched(match.request_id, "monthly-capacity", message))
    plan.matches = [m for m in plan.matches if m.request_id not in dropped]
    return _explain(plan, capped)


def over_limit(
    matches: Sequence[Match], limits: Mapping[int, MonthlyLimit]
) -> list[tuple[Match, str]]:
    """List the matches, in request-id order, that break a monthly limit."""
    used: dict[int, Counter[Month]] = {}
    over: list[tuple[Match, str]] = []
    for match in sorted(matches, key=lambda m: m.request_id):
        limit = limits.get(match.mentor_id)
        if limit is None:
            continue
        counts = used.setdefault(match.mentor_id, Counter(limit.booked or {}))
        zone = ZoneInfo(limit.timezone)
        months = Counter(
            (local.year, local.month)
            for local in (s.start.astimezone(zone) for s in match.sessions)
        )
        full = sorted(m for m, n in months.items() if counts[m] + n > limit.sessions)
        if full:
            over.append((match, _message(match.mentor_id, limit, full[0])))
            continue
        counts.update(months)
    return over


def _message(mentor_id: int, limit: MonthlyLimit, month: Month) -> str:
    label = datetime(month[0], month[1], 1).strftime("%B %Y")
    who = limit.name or f"Mentor {mentor_id}"
    return (
        f"{who} may hold {limit.sessions} session(s) a month and"
        f" {label} is full; raise the mentor's monthly_capacity, widen the"
        " window or recruit another mentor."
    )


def _explain(plan: MatchPlan, capped: Mapping[int, str]) -> MatchPlan:
    """Give requests left unmatched because of a monthly limit that reason."""
    plan.unmatched = [
        Unmatched(item.request_id, "monthly-capacity", capped[item.request_id])
        if item.request_id in capped
        else item
        for item in plan.unmatched
    ]
    plan.unmatched.sort(key=lambda item: item.request_id)
    return plan
