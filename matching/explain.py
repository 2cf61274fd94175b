"""Plain sentences for matches and for requests left unmatched."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from zoneinfo import ZoneInfo

from matching.candidates import GroupStats
from matching.eligibility import site_reason
from matching.model import Mentor, PlannedSession, ProgramRules, Request, Unmatched

logger = logging.getLogger(__name__)


def match_reasons(
    rules: ProgramRules,
    mentor: Mentor,
    request: Request,
    fit_reason: str | None,
    mentee_count: int,
    sessions: Sequence[PlannedSession],
) -> tuple[str, ...]:
    """Say why this pair was chosen: fit, sites, load and first session."""
    reasons = [fit_reason or "An administrator fixed this pair."]
    reasons.append(site_reason(mentor, request))
    reasons.append(f"Mentor has {mentee_count} of {mentor.capacity} mentees so far.")
    if sessions:
        first = sessions[0].start.astimezone(ZoneInfo(mentor.availability.timezone))
        reasons.append(f"First session can be on {first:%a} {first.day} {first:%b}.")
    return tuple(reasons)


def unmatched_for(
    rules: ProgramRules, request: Request, stats: GroupStats, lost_time: bool
) -> Unmatched:
    """Explain why a request got no mentor and what would change that."""
    wanted = "role" if rules.kind == "informational" else "topic"
    if stats.topic == 0:
        return Unmatched(
            request.id,
            "no-mentor-for-topic",
            f"No mentor offers the {wanted} {request.topic!r}; recruit a mentor"
            f" for it or add it to a synonym or related group.",
        )
    if stats.site == 0:
        return Unmatched(
            request.id,
            "site-rule",
            f"Mentors offer {request.topic!r}, but none at a site the site rule"
            f" {_site_rule(rules)!r} allows for site {request.site}; change the"
            " site rule or recruit a mentor at an allowed site.",
        )
    if stats.allowed == 0:
        return Unmatched(
            request.id,
            "excluded",
            f"Every mentor for {request.topic!r} is excluded for this mentee"
            " (the same person or a forbidden pair); lift an exclusion or"
            " recruit another mentor.",
        )
    if stats.open == 0:
        return _full(request)
    if stats.timed == 0 or lost_time:
        return Unmatched(
            request.id,
            "no-common-time",
            f"No mentor for {request.topic!r} shares free time for"
            f" {rules.sessions} session(s) of {rules.session_minutes} minutes"
            f" {rules.min_days_between} days apart in the window; widen the"
            " window, add hours or free calendar time.",
        )
    return _full(request)


def _full(request: Request) -> Unmatched:
    return Unmatched(
        request.id,
        "mentors-full",
        f"Every mentor for {request.topic!r} with common time is at capacity;"
        " raise a mentor's capacity or recruit another mentor.",
    )


def _site_rule(rules: ProgramRules) -> str:
    return (
        "other site (informational)"
        if rules.kind == "informational"
        else rules.site_rule
    )
