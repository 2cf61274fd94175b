"""Speed-mentoring events: rounds planned, stored as one-session series.

Each meeting of the event becomes its own series with one session, so
approval, invitations, signed links and feedback work as for any series.
Round numbers and tables are not stored: rounds are the event's distinct
meeting start times in order, and tables are the ranks of the event's
mentors by person id. Both are computed over every series of the program,
cancelled ones included, so a cancellation never renumbers the others.
A person who is both mentor and mentee takes part as a mentor only, so
nobody sits at two tables in one round.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from matching.model import Availability
from matching.model import Mentor as EngineMentor
from matching.speed import SpeedMentee, SpeedRound, plan_rounds
from web.audit import record
from web.booking import approve
from web.extensions import db
from web.links import link_url
from web.matching_run import ProgramSettingsError, RunSummary
from web.models import (
    Match,
    Membership,
    MentoringSession,
    Person,
    Program,
    Request,
    Series,
)
from web.outbox import queue_mail
from web.programs import parse_speed_start
from web.states import ACTIVE

log = logging.getLogger(__name__)

SCHEDULE_PURPOSE = "speed-schedule"
NO_HOURS = Availability("UTC", "")
"""Speed rounds ignore availability; the event time is fixed."""


@dataclass(frozen=True)
class SpeedEvent:
    """When the event starts and how its rounds run."""

    start: datetime
    round_minutes: int
    rounds: int


@dataclass(frozen=True)
class Meeting:
    """One meeting of an event as shown on the event and schedule pages."""

    round: int
    start: datetime
    end: datetime
    table: int
    series: Series

    @property
    def mentor(self) -> Person:
        return self.series.mentor

    @property
    def mentee(self) -> Person:
        return self.series.mentee


def event_settings(program: Program) -> SpeedEvent:
    """Read the event from the program options; raise ProgramSettingsError."""
    options = program.options
    missing = [
        key
        for key in ("speed_start", "speed_round_minutes", "speed_rounds")
        if key not in options
    ]
    if missing:
        raise ProgramSettingsError(
            f"a speed program needs {', '.join(missing)} in its program file;"
            " add them and load it again"
        )
    start = parse_speed_start(options["speed_start"])
    if start is None:
        raise ProgramSettingsError(
            f"speed_start = {options['speed_start']!r} has no UTC offset; write it"
            " like 2027-03-04T15:30:00-06:00"
        )
    problems = []
    for key, high in (("speed_round_minutes", 120), ("speed_rounds", 40)):
        value = options[key]
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value:
            problems.append(f"{key} = {value!r}; use a whole number from 1 to {high}")
    if problems:
        raise ProgramSettingsError("; ".join(problems))
    return SpeedEvent(start, options["speed_round_minutes"], options["speed_rounds"])


def run_speed(program: Program, now: datetime, actor: str = "cli") -> RunSummary:
    """Plan the speed event of ``program`` and store its meetings; commit.

    With approval auto the meetings are approved at once and the
    invitations and personal schedules queued.
    """
    event = event_settings(program)
    if _planned(program):
        raise ProgramSettingsError(
            f"the speed event of program {program.slug} is already planned;"
            " cancel its series before planning it again"
        )

    mentors = _mentors(program)
    mentor_ids = {m.person_id for m in mentors}
    requests = _open_requests(program)
    by_mentee: dict[int, list[Request]] = {}
    skipped = []
    for request in requests:
        if request.mentee_id in mentor_ids:
            skipped.append((request, "takes part as a mentor at this event"))
            continue
        by_mentee.setdefault(request.mentee_id, []).append(request)
    if requests and not mentors:
        raise ProgramSettingsError(
            "no mentor in the program can take part (all paused or capacity 0);"
            " unpause a mentor or raise mentor_capacity"
        )

    mentees = [
        SpeedMentee(mentee_id, frozenset(r.topic.name for r in wanted))
        for mentee_id, wanted in sorted(by_mentee.items())
    ]
    rounds = plan_rounds(
        [_engine_mentor(m) for m in mentors],
        mentees,
        event.start,
        event.round_minutes,
        event.rounds,
    )
    summary = _store_rounds(program, rounds, by_mentee, mentors, actor)
    summary.skipped = skipped
    if program.approval == "auto" and summary.series:
        summary.approved = len(approve_event(program, "auto-approval", now))
        summary.series = []
    log.info(
        "planned speed event of program %s: %d meetings in %d rounds",
        program.slug,
        sum(len(r.meetings) for r in rounds),
        len(rounds),
    )
    return summary


def _planned(program: Program) -> bool:
    return (
        db.session.scalar(
            db.select(Series.id)
            .filter(Series.program_id == program.id, Series.status.in_(ACTIVE))
            .limit(1)
        )
        is not None
    )


def _mentors(program: Program) -> list[Membership]:
    members = db.session.scalars(
        db.select(Membership).filter_by(program_id=program.id).order_by(Membership.id)
    )
    return [
        m
        for m in members
        if m.is_mentor
        and not m.paused
        and not m.person.paused
        and m.effective_capacity > 0
    ]


def _open_requests(program: Program) -> list[Request]:
    requests = db.session.scalars(
        db.select(Request)
        .filter(
            Request.program_id == program.id,
            Request.status.in_(("open", "unmatched")),
        )
        .order_by(Request.id)
    )
    paused = {
        m.person_id
        for m in db.session.scalars(
            db.select(Membership).filter_by(program_id=program.id, paused=True)
        )
    }
    return [r for r in requests if not r.mentee.paused and r.mentee_id not in paused]


def _engine_mentor(membership: Membership) -> EngineMentor:
    return EngineMentor(
        id=membership.person_id,
        topics=frozenset(membership.offers),
        site=membership.person.site,
        capacity=membership.effective_capacity,
        availability=NO_HOURS,
    )


def _store_rounds(
    program: Program,
    rounds: Sequence[SpeedRound],
    by_mentee: dict[int, list[Request]],
    mentors: Sequence[Membership],
    actor: str,
) -> RunSummary:
    summary = RunSummary(requests=sum(len(r) for r in by_mentee.values()))
    offers = {m.person_id: {t.casefold() for t in m.offers} for m in mentors}
    met: set[int] = set()
    for speed_round in rounds:
        for mentor_id, mentee_id, _ in speed_round.meetings:
            request = _request_for(by_mentee[mentee_id], offers[mentor_id])
            series = _store_meeting(program, request, mentor_id, speed_round)
            record(actor, "series.pending-approval", series, speed=True)
            summary.series.append(series)
            met.add(mentee_id)

    for mentee_id, wanted in by_mentee.items():
        for request in wanted:
            if mentee_id in met:
                request.status, request.unmatched_reason = "matched", ""
                summary.matched += 1
                continue
            reason = (
                f"No mentor had a free place in any of the {len(rounds)} rounds;"
                " add rounds (speed_rounds) or recruit more mentors."
            )
            request.status, request.unmatched_reason = "unmatched", reason
            summary.unmatched.append((request, reason))
    record(actor, "matching.run", program, matched=summary.matched, speed=True)
    db.session.commit()
    return summary


def _request_for(requests: list[Request], offers: set[str]) -> Request:
    """The mentee's request the mentor shares a topic with, else the first."""
    return next((r for r in requests if r.topic.name.casefold() in offers), requests[0])


def _store_meeting(
    program: Program, request: Request, mentor_id: int, speed_round: SpeedRound
) -> Series:
    shared = request.topic.name
    match = Match(
        program_id=program.id,
        request=request,
        mentor_id=mentor_id,
        score=0.0,
        reasons=[
            f"Speed mentoring round {speed_round.number}.",
            f"Topic: {shared}.",
        ],
    )
    series = Series(
        program=program,
        match=match,
        mentor_id=mentor_id,
        mentee_id=request.mentee_id,
        status="pending-approval",
    )
    series.sessions.append(
        MentoringSession(
            position=1,
            start=speed_round.start,
            end=speed_round.end,
            status="pending-approval",
            uid=f"{uuid.uuid4()}@torace",
        )
    )
    db.session.add(series)
    db.session.flush()
    return series


def approve_event(program: Program, actor: str, now: datetime) -> list[Series]:
    """Approve every pending meeting of the event; commit.

    ``booking.approve`` keeps each meeting at its round time and queues the
    invitations and each person's schedule.
    """
    pending = db.session.scalars(
        db.select(Series)
        .filter_by(program_id=program.id, status="pending-approval")
        .order_by(Series.id)
    ).all()
    approved = approve(pending, actor, now)
    log.info("approved %d speed meetings of program %s", len(approved), program.slug)
    return approved


def event_meetings(program: Program) -> list[Meeting]:
    """Every meeting of the event with its round and table, by round and table."""
    series_list = db.session.scalars(
        db.select(Series).filter_by(program_id=program.id).order_by(Series.id)
    ).all()
    starts = sorted({s.sessions[0].start for s in series_list if s.sessions})
    mentors = sorted({s.mentor_id for s in series_list})
    round_of = {start: number for number, start in enumerate(starts, start=1)}
    table_of = {mentor: number for number, mentor in enumerate(mentors, start=1)}

    meetings = [
        Meeting(
            round_of[s.sessions[0].start],
            s.sessions[0].start,
            s.sessions[0].end,
            table_of[s.mentor_id],
            s,
        )
        for s in series_list
        if s.sessions and s.status in ACTIVE
    ]
    return sorted(meetings, key=lambda m: (m.round, m.table))


def rounds_of(meetings: Sequence[Meeting]) -> list[tuple[int, list[Meeting]]]:
    """Group meetings by round number, in order."""
    grouped: dict[int, list[Meeting]] = {}
    for meeting in meetings:
        grouped.setdefault(meeting.round, []).append(meeting)
    return sorted(grouped.items())


def schedule_of(program: Program, person: Person) -> list[Meeting]:
    """One person's meetings at the event, in round order."""
    return [
        m
        for m in event_meetings(program)
        if person.id in (m.series.mentor_id, m.series.mentee_id)
    ]


def schedule_url(program: Program, person: Person) -> str:
    """The signed link to a person's personal schedule."""
    return link_url(SCHEDULE_PURPOSE, person.id, program.id)


def queue_schedules(program: Program) -> int:
    """Queue each participant's personal schedule; return how many were new.

    The key includes a digest of the schedule, so the same schedule is
    queued once and a changed one is sent again.
    """
    people: dict[int, Person] = {}
    for meeting in event_meetings(program):
        people.setdefault(meeting.mentor.id, meeting.mentor)
        people.setdefault(meeting.mentee.id, meeting.mentee)

    queued = 0
    for person in people.values():
        meetings = schedule_of(program, person)
        digest = hashlib.sha256(
            repr([(m.round, m.table, m.series.id) for m in meetings]).encode()
        ).hexdigest()[:16]
        row = queue_mail(
            "speed-schedule",
            f"{program.id}:{digest}",
            person,
            f"Your schedule: {program.name}",
            "speed_schedule",
            program=program,
            meetings=meetings,
            url=schedule_url(program, person),
        )
        queued += row is not None
    return queued
