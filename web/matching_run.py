"""A matching run: open requests in, series pending approval out."""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from matching.engine import validate_rules
from matching.model import Availability, Interval, MatchPlan, ProgramRules
from matching.model import Mentor as EngineMentor
from matching.model import Request as EngineRequest
from matching.monthly import MonthlyLimit, plan_with_monthly_limits
from matching.rules import SINGLE_SESSION_KINDS
from matching.series import minute_intervals
from web.audit import record
from web.availability import availability_for, program_window, read_busy
from web.extensions import db
from web.models import (
    AuditEvent,
    Match,
    Membership,
    MentoringSession,
    Person,
    Program,
    Request,
    Series,
)
from web.states import ACTIVE

log = logging.getLogger(__name__)
Progress = Callable[[str, int, int], None]


class ProgramSettingsError(ValueError):
    """The program cannot be matched as configured; the message names the setting."""


@dataclass
class RunSummary:
    requests: int = 0
    matched: int = 0
    unmatched: list[tuple[Request, str]] = field(default_factory=list)
    series: list[Series] = field(default_factory=list)
    skipped: list[tuple[Request, str]] = field(default_factory=list)
    """Open requests left out of this run (a paused mentee), with the reason."""
    approved: int = 0
    """Series approved during the run (a speed event with approval auto)."""


def engine_rules(program: Program, held: list[tuple[int, Interval]]) -> ProgramRules:
    """Build the engine's rules; single-session kinds always get one session."""
    start, end = program_window(program)
    options = program.options
    sessions = 1 if program.kind in SINGLE_SESSION_KINDS else program.sessions
    return ProgramRules(
        kind=program.kind,  # type: ignore[arg-type]
        sessions=sessions,
        session_minutes=program.session_minutes,
        window_start=start,
        window_end=end,
        min_days_between=program.min_days_between,
        buffer_minutes=program.buffer_minutes,
        min_notice_minutes=program.min_notice_hours * 60,
        grid_minutes=int(options.get("grid_minutes", 15)),
        site_rule=program.site_rule,  # type: ignore[arg-type]
        synonyms=tuple(frozenset(g) for g in options.get("synonyms", [])),
        related=tuple(frozenset(g) for g in options.get("related", [])),
        held=tuple(held),
        forbidden=turned_down_pairs(program),
    )


def turned_down_pairs(program: Program) -> frozenset[tuple[int, int]]:
    """(mentee, mentor) pairs of this program an administrator rejected or a
    participant declined; a later run never proposes them again."""
    rejected = db.select(AuditEvent.object_id).filter(
        AuditEvent.action == "series.rejected", AuditEvent.object_type == "series"
    )
    rows = db.session.execute(
        db.select(Series.mentee_id, Series.mentor_id).filter(
            Series.program_id == program.id,
            (Series.status == "declined") | Series.id.in_(rejected),
        )
    )
    return frozenset((mentee, mentor) for mentee, mentor in rows)


def unreadable_calendars(person: Person) -> str:
    """Return a sentence naming the person's unreadable calendars, or "".

    Such a calendar counts as busy over the whole range, which is a likelier
    cause of "no common time" than the other person's diary.
    """
    failed = [c for c in person.calendars if c.status in ("error", "needs-reconnect")]
    if not failed:
        return ""
    problem = failed[0].last_error or failed[0].status
    return (
        f" {person.name}'s calendar could not be read ({problem[:160]}), so their "
        "time counts as busy; fix or reconnect that calendar."
    )


def run_matching(
    program: Program,
    now: datetime,
    actor: str = "cli",
    progress: Progress | None = None,
) -> RunSummary:
    """Match the open requests of ``program`` and hold their sessions; commit.

    Raises ProgramSettingsError, before anything is read or stored, when the
    settings cannot be planned.
    """
    check_timezone(program)
    if program.kind == "speed":
        from web.speed import run_speed

        return run_speed(program, now, actor)

    members = _members(program)
    all_mentors = [m for m in members if m.is_mentor]
    mentors = [m for m in all_mentors if _active(m)]
    requests, skipped = split_paused(_open_requests(program), members)
    people = {m.person.id: m.person for m in members}
    held = _held_intervals(people.keys())
    rules = engine_rules(program, held)
    check_rules(rules, all_mentors, requests)

    busy = _read_all_busy(program, people.values(), rules, progress)
    plan = plan_with_monthly_limits(
        rules,
        [_engine_mentor(m, program, busy) for m in mentors],
        [_engine_request(r, program, busy) for r in requests],
        now,
        monthly_limits(program, mentors),
    )
    summary = _store_plan(program, plan, {r.id: r for r in requests}, actor)
    summary.skipped = skipped
    log.info(
        "matched %d of %d requests in program %s",
        summary.matched,
        summary.requests,
        program.slug,
    )
    return summary


def check_timezone(program: Program) -> None:
    """Raise ProgramSettingsError unless the program's timezone is IANA."""
    zone = program.options.get("timezone", "UTC")
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise ProgramSettingsError(
            f"timezone = {zone!r} is not an IANA time zone; set it to one like"
            ' "America/Chicago" in the program file and load it again'
        ) from None


def check_rules(
    rules: ProgramRules, mentors: list[Membership], requests: list[Request]
) -> None:
    """Raise ProgramSettingsError naming every setting that cannot be planned.

    ``mentors`` holds every mentor membership, paused ones included; a
    program without any mentor is still matched so each request is explained.
    """
    problems = validate_rules(rules)
    open_places = any(_active(m) and m.effective_capacity > 0 for m in mentors)
    if requests and mentors and not open_places:
        problems.append(
            "every mentor is paused or has capacity 0; raise mentor_capacity,"
            " a mentor's capacity in the roster, or unpause a mentor"
        )
    if problems:
        raise ProgramSettingsError("; ".join(problems))


def _active(membership: Membership) -> bool:
    return not membership.paused and not membership.person.paused


def split_paused(
    requests: list[Request], members: list[Membership]
) -> tuple[list[Request], list[tuple[Request, str]]]:
    """Separate the requests of paused mentees; they stay open for later."""
    paused = {m.person_id for m in members if not _active(m)}
    kept, skipped = [], []
    for request in requests:
        if request.mentee_id in paused or request.mentee.paused:
            skipped.append((request, "the mentee is paused; unpause to match"))
        else:
            kept.append(request)
    return kept, skipped


def monthly_limits(
    program: Program, mentors: list[Membership]
) -> dict[int, MonthlyLimit]:
    """Each mentor's monthly session limit with the sessions already held."""
    limits = {}
    for membership in mentors:
        if membership.monthly_capacity is None:
            continue
        person = membership.person
        limits[person.id] = MonthlyLimit(
            membership.monthly_capacity,
            person.timezone,
            _booked_by_month(program, person),
            name=person.name,
        )
    return limits


def _booked_by_month(program: Program, person: Person) -> Counter[tuple[int, int]]:
    zone = ZoneInfo(person.timezone)
    starts = db.session.scalars(
        db.select(MentoringSession.start)
        .join(MentoringSession.series)
        .filter(
            Series.program_id == program.id,
            Series.mentor_id == person.id,
            MentoringSession.status.in_(ACTIVE),
        )
    )
    locals_ = (start.astimezone(zone) for start in starts)
    return Counter((moment.year, moment.month) for moment in locals_)


def _open_requests(program: Program) -> list[Request]:
    return list(
        db.session.scalars(
            db.select(Request)
            .filter(
                Request.program_id == program.id,
                Request.status.in_(("open", "unmatched")),
            )
            .order_by(Request.id)
        )
    )


def _members(program: Program) -> list[Membership]:
    return list(
        db.session.scalars(
            db.select(Membership)
            .filter_by(program_id=program.id)
            .order_by(Membership.id)
        )
    )


def _held_intervals(person_ids: Iterable[int]) -> list[tuple[int, Interval]]:
    """Sessions already holding time for these people, in any program."""
    ids = list(person_ids)
    rows = db.session.execute(
        db.select(
            Series.mentor_id,
            Series.mentee_id,
            MentoringSession.start,
            MentoringSession.end,
        )
        .join(MentoringSession.series)
        .filter(MentoringSession.status.in_(ACTIVE))
        .filter(Series.mentor_id.in_(ids) | Series.mentee_id.in_(ids))
    )
    held: list[tuple[int, Interval]] = []
    for mentor_id, mentee_id, start, end in rows:
        held += [(mentor_id, (start, end)), (mentee_id, (start, end))]
    return held


def _read_all_busy(
    program: Program,
    people: Iterable[Person],
    rules: ProgramRules,
    progress: Progress | None,
) -> dict[int, list]:
    margin = timedelta(days=1)
    start, end = rules.window_start - margin, rules.window_end + margin
    people = list(people)
    busy = {}
    for done, person in enumerate(people, start=1):
        busy[person.id] = read_busy(person, program, start, end)
        if progress:
            progress("reading calendars", done, len(people))
    return busy


def _engine_mentor(m: Membership, program: Program, busy: dict) -> EngineMentor:
    load = (
        db.session.scalar(
            db.select(db.func.count(Series.id)).filter(
                Series.program_id == program.id,
                Series.mentor_id == m.person_id,
                Series.status.not_in(("cancelled", "declined")),
            )
        )
        or 0
    )
    person = m.person
    return EngineMentor(
        id=person.id,
        topics=frozenset(m.offers),
        site=person.site,
        capacity=m.effective_capacity,
        availability=_availability(person, program, busy[person.id]),
        load=load,
        title=person.title,
        tags=frozenset(t.strip() for t in person.tags.split(";") if t.strip()),
    )


def _engine_request(r: Request, program: Program, busy: dict) -> EngineRequest:
    person = r.mentee
    return EngineRequest(
        id=r.id,
        mentee_id=person.id,
        topic=r.topic.name,
        site=person.site,
        availability=_availability(person, program, busy[person.id]),
        title=person.title,
        tags=frozenset(t.strip() for t in person.tags.split(";") if t.strip()),
    )


def _availability(person: Person, program: Program, busy: list) -> Availability:
    """Build a person's availability with busy time converted to minutes once."""
    availability = availability_for(person, program, busy)
    minutes = tuple(minute_intervals(availability.busy))
    return replace(availability, busy_minutes=minutes)


def _store_plan(
    program: Program, plan: MatchPlan, requests: dict[int, Request], actor: str
) -> RunSummary:
    summary = RunSummary(requests=len(requests))
    for found in plan.matches:
        request = requests[found.request_id]
        match = Match(
            program_id=program.id,
            request=request,
            mentor_id=found.mentor_id,
            score=found.score,
            reasons=list(found.reasons),
        )
        series = Series(
            program=program,
            match=match,
            mentor_id=found.mentor_id,
            mentee_id=request.mentee_id,
            status="pending-approval",
        )
        for position, planned in enumerate(found.sessions, start=1):
            series.sessions.append(
                MentoringSession(
                    position=position,
                    start=planned.start,
                    end=planned.end,
                    status="pending-approval",
                    uid=f"{uuid.uuid4()}@torace",
                )
            )
        request.status, request.unmatched_reason = "matched", ""
        db.session.add(series)
        db.session.flush()
        record(
            actor,
            "series.pending-approval",
            series,
            match=match.id,
            reasons=list(found.reasons),
        )
        summary.series.append(series)
    summary.matched = len(plan.matches)

    for missing in plan.unmatched:
        request = requests[missing.request_id]
        message = missing.message
        if missing.reason == "no-common-time":
            message += unreadable_calendars(request.mentee)
        request.status, request.unmatched_reason = "unmatched", message
        summary.unmatched.append((request, message))
    record(
        actor,
        "matching.run",
        program,
        matched=summary.matched,
        requests=summary.requests,
    )
    db.session.commit()
    return summary
