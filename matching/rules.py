"""Checks of a program's settings before anything is matched."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import get_args

from matching.model import ProgramKind, ProgramRules, SiteRule
from matching.series import MAX_SESSIONS

logger = logging.getLogger(__name__)

SINGLE_SESSION_KINDS = ("development-plan", "informational")


class RulesError(ValueError):
    """Program settings that cannot be planned; ``problems`` lists each one."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(" ".join(problems))
        self.problems = problems


def validate_rules(rules: ProgramRules) -> list[str]:
    """List every problem with the settings, each naming what to change."""
    problems = _check_values(rules)
    problems.extend(_check_window(rules))
    return problems


def _check_values(rules: ProgramRules) -> list[str]:
    problems: list[str] = []
    if rules.kind not in get_args(ProgramKind):
        problems.append(
            f"Program kind {rules.kind!r} is unknown; use one of"
            f" {', '.join(get_args(ProgramKind))}."
        )
    if rules.kind == "speed":
        problems.append(
            "Speed mentoring is planned in rounds, not series; plan it with"
            " matching.speed.plan_rounds instead."
        )
    if rules.site_rule not in get_args(SiteRule):
        problems.append(
            f"Site rule {rules.site_rule!r} is unknown; use one of"
            f" {', '.join(get_args(SiteRule))}."
        )
    if not 1 <= rules.sessions <= MAX_SESSIONS:
        problems.append(
            f"sessions is {rules.sessions}; set it to 1, 2 or 3 sessions per series."
        )
    if rules.kind in SINGLE_SESSION_KINDS and rules.sessions != 1:
        problems.append(
            f"A {rules.kind} program has one session per request; set sessions"
            f" to 1 instead of {rules.sessions}."
        )

    for name, minimum in (
        ("session_minutes", 1),
        ("grid_minutes", 1),
        ("min_days_between", 0),
        ("buffer_minutes", 0),
        ("min_notice_minutes", 0),
    ):
        value = getattr(rules, name)
        if value < minimum:
            problems.append(f"{name} is {value}; set it to {minimum} or more.")
    return problems


def _check_window(rules: ProgramRules) -> list[str]:
    for name in ("window_start", "window_end"):
        moment = getattr(rules, name)
        if moment.tzinfo is None or moment.utcoffset() is None:
            return [f"{name} {moment.isoformat()} has no time zone; give it in UTC."]

    if rules.window_end <= rules.window_start:
        return [
            f"The window ends ({rules.window_end:%Y-%m-%d %H:%M}) before it starts"
            f" ({rules.window_start:%Y-%m-%d %H:%M}); move window_end after"
            " window_start."
        ]

    if rules.sessions < 1 or rules.session_minutes < 1 or rules.min_days_between < 0:
        return []
    gaps = max(0, rules.sessions - 1)
    needed = timedelta(
        days=gaps * rules.min_days_between, minutes=rules.session_minutes
    )
    if rules.window_end - rules.window_start < needed:
        days = (rules.window_end - rules.window_start).days
        return [
            f"{rules.sessions} sessions at least {rules.min_days_between} days apart"
            f" need a window of more than {gaps * rules.min_days_between} days, but"
            f" the window is {days} days; move window_end later or lower"
            " min_days_between."
        ]
    return []
