"""What an administrator may change by hand: reject, another mentor, another slot.

Every change goes through the same rules as matching: another mentor must be
eligible in the program and have capacity, and the series is planned again
for the new pair by ``matching.series.plan_series``; another slot must be a
time the slot engine would offer.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.orm.attributes import flag_modified

from matching.series import plan_series
from web import rescheduling
from web.audit import record
from web.extensions import db
from web.models import Membership, MentoringSession, Person, Series
from web.states import move_series, move_session

log = logging.getLogger(__name__)
RELEASED = ("cancelled", "declined")
"""Series states that no longer count against a mentor's capacity."""


class OverrideRejected(ValueError):
    """A manual change breaks a rule; the message says which and what to do."""


def reject(series: Series, actor: str, note: str) -> None:
    """Reject a pending series: cancel it, reopen its request with ``note``; commit."""
    note = note.strip()
    if series.status != "pending-approval":
        raise OverrideRejected(
            f"series {series.id} is {series.status}, so it cannot be rejected; "
            "only a series pending approval can."
        )
    if not note:
        raise OverrideRejected("write a note saying why the series is rejected")

    move_series(series, "cancelled", actor, reason=note, rejected=True)
    for session in series.sessions:
        move_session(session, "cancelled", actor)
    request = series.match.request
    request.status, request.unmatched_reason = "open", f"Rejected: {note}"
    series.note = f"Rejected by {actor}: {note}"
    record(actor, "series.rejected", series, note=note)
    db.session.commit()
    log.info("series %s rejected by %s", series.id, actor)


def mentor_load(program_id: int, mentor_id: int) -> int:
    """The series a mentor holds in a program, other than released ones."""
    return (
        db.session.scalar(
            db.select(db.func.count(Series.id)).filter(
                Series.program_id == program_id,
                Series.mentor_id == mentor_id,
                Series.status.not_in(RELEASED),
            )
        )
        or 0
    )


def eligible_mentors(series: Series) -> list[Membership]:
    """Mentors of the program who could take this series instead, by name.

    Eligible means: a mentor in the program, not paused, offering the topic,
    not one of the pair, inside the site rule and below capacity.
    """
    topic = series.match.request.topic.name.casefold()
    members = db.session.scalars(
        db.select(Membership).filter_by(program_id=series.program_id)
    ).all()
    eligible = [
        m
        for m in members
        if m.is_mentor
        and not (m.paused or m.person.paused)
        and m.person_id not in (series.mentor_id, series.mentee_id)
        and topic in {offer.casefold() for offer in m.offers}
        and _site_allowed(series, m.person)
        and mentor_load(series.program_id, m.person_id) < m.effective_capacity
    ]
    return sorted(eligible, key=lambda m: m.person.name)


def _site_allowed(series: Series, mentor: Person) -> bool:
    rule, mentee_site = series.program.site_rule, series.mentee.site
    if rule == "same":
        return mentor.site == mentee_site
    if rule == "other-required":
        return mentor.site != mentee_site
    return True


def change_mentor(series: Series, mentor: Person, actor: str, now: datetime) -> None:
    """Give a pending series to ``mentor`` and plan its sessions again; commit.

    Raises OverrideRejected when the mentor is not eligible or no series of
    sessions fits both calendars; nothing is changed then.
    """
    if series.status != "pending-approval":
        raise OverrideRejected(
            f"series {series.id} is {series.status}; another mentor can only be "
            "chosen before approval. Cancel it and match the request again."
        )
    if mentor.id not in {m.person_id for m in eligible_mentors(series)}:
        raise OverrideRejected(
            f"{mentor.name} is not an eligible mentor for this series: they must "
            "mentor this topic in the program, have capacity and fit the site rule."
        )

    view = rescheduling.pair_view(series, now, mentor=mentor)
    planned = plan_series(view.query, view.people, len(series.sessions), view.gap.days)
    if planned is None:
        raise OverrideRejected(
            f"no {len(series.sessions)} session(s) fit both {mentor.name}'s and "
            f"{series.mentee.name}'s calendars inside the program's rules."
        )

    previous = series.mentor
    series.mentor_id = series.match.mentor_id = mentor.id
    series.mentor = mentor
    for session, new in zip(series.sessions, planned, strict=True):
        session.start, session.end = new.start, new.end
        # The held time moves to the new mentor even when the times stay.
        flag_modified(session, "start")
    series.version += 1
    series.note = f"Mentor changed from {previous.name} to {mentor.name} by {actor}."
    record(
        actor,
        "series.mentor-changed",
        series,
        previous_mentor=previous.email,
        mentor=mentor.email,
        starts=[p.start.isoformat() for p in planned],
    )
    db.session.commit()


def change_slot(
    session: MentoringSession, start: datetime, actor: str, now: datetime
) -> None:
    """Move one session to ``start`` if the slot engine allows it; commit.

    Before approval the time is changed in place. After the invitations went
    out, the session moves as a participant's "another time" would, with an
    updated invitation (same UID, higher SEQUENCE). Raises OverrideRejected
    with the engine's reason when the time is not allowed.
    """
    series = session.series
    if series.status == "pending-approval":
        reason = rescheduling.why_not(session, start, now)
        if reason is not None:
            raise OverrideRejected(f"That time cannot be booked: {reason}")
        _move_pending(session, start, actor)
        return
    if session.status not in ("invited", "confirmed", "rescheduled"):
        raise OverrideRejected(
            f"session {session.position} is {session.status}; it cannot be moved."
        )
    reason = rescheduling.move(session, start, actor, now)
    if reason is not None:
        raise OverrideRejected(f"That time cannot be booked: {reason}")


def _move_pending(session: MentoringSession, start: datetime, actor: str) -> None:
    series = session.series
    previous = session.start
    session.end = start + (session.end - session.start)
    session.start = start
    series.version += 1
    series.note = (
        f"Session {session.position} moved by {actor} from "
        f"{previous:%a %d %b %H:%M} UTC to {start:%a %d %b %H:%M} UTC."
    )
    record(
        actor,
        "session.moved",
        session,
        program_id=series.program_id,
        previous_start=previous.isoformat(),
        start=start.isoformat(),
    )
    db.session.commit()
