"""Re-checking and moving sessions with the same rules that planned them.

The slot engine decides both what is offered and what is accepted: a time
someone asks for directly is checked with ``check_slot`` against the same
query, calendars and held time that produced the offer.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from matching.model import Availability, Interval, PlannedSession
from matching.series import replan_session
from matching.slots import SlotQuery, check_slot, find_slots
from web.audit import record
from web.availability import availability_for, program_window, read_busy
from web.extensions import db
from web.models import MentoringSession, Person, Series
from web.states import ACTIVE, move_series, move_session

log = logging.getLogger(__name__)


@dataclass
class PairView:
    """Everything the slot engine needs to judge one series' times."""

    query: SlotQuery
    people: list[Availability]
    gap: timedelta


def pair_view(series: Series, now: datetime, mentor: Person | None = None) -> PairView:
    """Read both people's calendars and held time, leaving out this series.

    ``mentor`` replaces the series' mentor, to plan the series for another.
    """
    program = series.program
    start, end = program_window(program)
    query = SlotQuery(
        length_minutes=program.session_minutes,
        start=start,
        end=end,
        interval_minutes=int(program.options.get("grid_minutes", 15)),
        now=now,
        buffer_before_minutes=program.buffer_minutes,
        buffer_after_minutes=program.buffer_minutes,
        min_notice_minutes=program.min_notice_hours * 60,
    )
    # Only the series' own mentor can have this series' events in a calendar.
    own = {(s.start, s.end) for s in series.sessions} if mentor is None else set()
    margin = timedelta(days=1)
    people = []
    for person in (mentor or series.mentor, series.mentee):
        busy = [
            b
            for b in read_busy(person, program, start - margin, end + margin)
            # The mentor's calendar may already hold this series' events.
            if (b.start, b.end) not in own
        ]
        people.append(availability_for(person, program, busy, _held(person.id, series)))
    return PairView(query, people, timedelta(days=program.min_days_between))


def _held(person_id: int, series: Series) -> list[Interval]:
    rows = db.session.execute(
        db.select(MentoringSession.start, MentoringSession.end)
        .join(MentoringSession.series)
        .filter(MentoringSession.status.in_(ACTIVE), Series.id != series.id)
        .filter((Series.mentor_id == person_id) | (Series.mentee_id == person_id))
    )
    return [(start, end) for start, end in rows]


def _with_busy(view: PairView, extra: list[Interval]) -> list[Availability]:
    return [
        Availability(p.timezone, p.hours, tuple(sorted([*p.busy, *extra])), p.overrides)
        for p in view.people
    ]


def _others(session: MentoringSession) -> list[MentoringSession]:
    return [
        s for s in session.series.sessions if s.id != session.id and s.status in ACTIVE
    ]


def keeps_gap(session: MentoringSession, start: datetime, gap: timedelta) -> bool:
    """True if ``start`` keeps the series order and gap from its neighbours.

    The gap counts calendar days in the mentor's zone, as the planner does,
    so a session may move to another time of the same day.
    """
    zone = ZoneInfo(session.series.mentor.timezone)
    day = start.astimezone(zone).date()
    for other in _others(session):
        other_day = other.start.astimezone(zone).date()
        if other.position < session.position and (day - other_day) < gap:
            return False
        if other.position > session.position and (other_day - day) < gap:
            return False
    return True


def other_times(
    session: MentoringSession, now: datetime, limit: int = 12
) -> list[PlannedSession]:
    """Free times both people could move ``session`` to, earliest first."""
    view = pair_view(session.series, now)
    others = [(s.start, s.end) for s in _others(session)]
    slots = find_slots(view.query, _with_busy(view, others))
    fitting = [
        s
        for s in slots
        if s.start != session.start and keeps_gap(session, s.start, view.gap)
    ]
    return fitting[:limit]


def why_not(session: MentoringSession, start: datetime, now: datetime) -> str | None:
    """None if ``session`` may move to ``start``, else the reason it may not."""
    view = pair_view(session.series, now)
    others = [(s.start, s.end) for s in _others(session)]
    series = session.series
    names = (series.mentor.name, series.mentee.name)
    reason = check_slot(view.query, _with_busy(view, others), start, names)
    if reason is None and not keeps_gap(session, start, view.gap):
        days = view.gap.days
        reason = (
            f"{start:%d %b %H:%M} UTC is less than {days} days from another "
            "session of this series."
        )
    return reason


def move(
    session: MentoringSession, start: datetime, actor: str, now: datetime
) -> str | None:
    """Move ``session`` to ``start`` and send updated invitations; commit.

    Returns None on success, or the reason the time was rejected.
    """
    from web.booking import send_invitation

    reason = why_not(session, start, now)
    if reason is not None:
        return reason
    series = session.series
    old = session.start
    session.start = start
    session.end = start + (session.end - old)
    session.sequence += 1
    move_session(session, "rescheduled", actor, previous_start=old.isoformat())
    if series.status != "rescheduled":
        move_series(series, "rescheduled", actor)
    else:
        series.version += 1
    series.mentor_confirmed = series.mentee_confirmed = False
    session.calendar_write = "pending"
    send_invitation(session, "REQUEST")
    db.session.commit()
    return None


def recheck(series: Series, now: datetime, actor: str) -> list[str]:
    """Re-read free/busy before approval; move conflicting sessions.

    Returns the notes for the administrator. Raises NoLongerFits when a
    session cannot be moved inside the rules.
    """
    view = pair_view(series, now)
    planned = [PlannedSession(s.start, s.end) for s in series.sessions]
    notes = []
    for index, session in enumerate(series.sessions):
        others = [(p.start, p.end) for i, p in enumerate(planned) if i != index]
        reason = check_slot(view.query, _with_busy(view, others), planned[index].start)
        if reason is None:
            continue
        moved = replan_session(view.query, view.people, planned, index, view.gap.days)
        if moved is None:
            raise NoLongerFits(f"session {session.position} no longer fits: {reason}")
        planned = moved
        notes.append(
            f"Session {session.position} moved from "
            f"{session.start:%a %d %b %H:%M} UTC to "
            f"{planned[index].start:%a %d %b %H:%M} UTC: {reason}"
        )
    for session, new in zip(series.sessions, planned, strict=True):
        session.start, session.end = new.start, new.end
    if notes:
        series.note, series.flagged = " ".join(notes), True
        record(actor, "series.replanned", series, notes=notes)
    return notes


class NoLongerFits(Exception):
    """A series' sessions can no longer be placed inside the program's rules."""
