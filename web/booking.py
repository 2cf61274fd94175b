"""The booking workflow: approval, invitations, answers and cancellations."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime

from calendar_sync.base import Attendee, EventSpec
from web.audit import record
from web.extensions import db
from web.links import link_url
from web.models import MentoringSession, Person, Series
from web.models.types import utcnow
from web.outbox import Invitation, queue_mail
from web.states import ACTIVE, move_series, move_session

log = logging.getLogger(__name__)


def series_fingerprint(series: Series) -> str:
    return f"v{series.version}"


def session_fingerprint(session: MentoringSession) -> str:
    return f"s{session.sequence}:{session.status}"


def event_spec(session: MentoringSession) -> EventSpec:
    """Describe ``session`` as a calendar event, organised by the mentor."""
    series = session.series
    mentor, mentee = series.mentor, series.mentee
    topic = series.match.request.topic.name
    program = series.program
    return EventSpec(
        key=session.uid,
        summary=f"Mentoring: {topic} ({session.position} of {len(series.sessions)})",
        description=(
            f"{program.name}: session {session.position} of {len(series.sessions)} "
            f"between {mentor.name} (mentor) and {mentee.name} on {topic}."
        ),
        start=session.start,
        end=session.end,
        timezone=mentor.timezone,
        organizer=Attendee(mentor.name, mentor.email),
        attendees=(
            Attendee(mentor.name, mentor.email),
            Attendee(mentee.name, mentee.email),
        ),
        sequence=session.sequence,
    )


def approve(
    series_list: Iterable[Series], actor: str, now: datetime | None = None
) -> list[Series]:
    """Approve pending series and queue their invitations; commit once.

    Each series is re-checked against both people's calendars first: a
    session that now conflicts moves inside the rules (the move is noted on
    the series), and a series that no longer fits goes back to matching.
    """
    from web.rescheduling import NoLongerFits, recheck

    now = now or utcnow()
    approved = []
    for series in series_list:
        if series.status != "pending-approval":
            continue
        try:
            recheck(series, now, actor)
        except NoLongerFits as error:
            _back_to_matching(series, actor, str(error))
            continue
        _approve_one(series, actor, now)
        approved.append(series)
    db.session.commit()
    log.info("approved %d series", len(approved))
    return approved


def _back_to_matching(series: Series, actor: str, reason: str) -> None:
    move_series(series, "cancelled", actor, reason=reason)
    for session in series.sessions:
        move_session(session, "cancelled", actor)
    request = series.match.request
    request.status, request.unmatched_reason = "open", reason
    series.note = f"Not approved: {reason}. The request goes back to matching."


def _approve_one(series: Series, actor: str, now: datetime) -> None:
    move_series(series, "approved", actor)
    series.approved_by, series.approved_at = actor, now
    for session in series.sessions:
        move_session(session, "approved", actor)
    move_series(series, "invited", "torace")
    for session in series.sessions:
        move_session(session, "invited", "torace")
        session.calendar_write = "pending"
        send_invitation(session, "REQUEST")


def send_invitation(session: MentoringSession, method: str) -> None:
    """Queue one invitation (or cancellation) per participant for ``session``."""
    series = session.series
    invitation = Invitation(method, event_spec(session), session.uid, session.sequence)
    kind = "invitation" if method == "REQUEST" else "cancellation"
    verb = "Invitation" if method == "REQUEST" else "Cancelled"
    topic = series.match.request.topic.name
    for person in (series.mentor, series.mentee):
        queue_mail(
            kind,
            f"{session.uid}:{session.sequence}",
            person,
            f"{verb}: mentoring on {topic}, session {session.position}",
            kind,
            invitation=invitation,
            session=session,
            series=series,
            other=series.mentee if person.id == series.mentor_id else series.mentor,
            links=participant_links(series, person, session),
        )


def participant_links(
    series: Series, person: Person, session: MentoringSession | None = None
) -> dict[str, str]:
    """The signed links a participant gets in a series email."""
    fingerprint = series_fingerprint(series)
    links = {
        "confirm": link_url("confirm", person.id, series.id, fingerprint),
        "decline": link_url("decline", person.id, series.id, fingerprint),
    }
    if session is not None:
        fingerprint = session_fingerprint(session)
        links["cancel"] = link_url("cancel-session", person.id, session.id, fingerprint)
        links["another_time"] = link_url(
            "another-time", person.id, session.id, fingerprint
        )
    return links


def confirm(series: Series, person: Person) -> bool:
    """Record that ``person`` confirms; return False if nothing changed."""
    role = series.role_of(person.id)
    if role is None or series.status not in ("invited", "rescheduled", "confirmed"):
        return False
    if getattr(series, f"{role}_confirmed"):
        return False
    setattr(series, f"{role}_confirmed", True)
    actor = f"{role}:{person.email}"
    if series.mentor_confirmed and series.mentee_confirmed:
        move_series(series, "confirmed", actor)
        for session in series.sessions:
            if session.status in ("invited", "rescheduled"):
                move_session(session, "confirmed", actor)
    else:
        record(actor, f"series.confirmed-by-{role}", series)
        series.version += 1
    db.session.commit()
    return True


def decline(series: Series, person: Person, reason: str = "") -> bool:
    """Decline the whole series for ``person``; cancel its sessions; commit."""
    role = series.role_of(person.id)
    if role is None or series.status not in ("invited", "rescheduled", "confirmed"):
        return False
    actor = f"{role}:{person.email}"
    move_series(series, "declined", actor, reason=reason)
    for session in series.sessions:
        if session.status in ACTIVE:
            _cancel(session, actor)
    request = series.match.request
    request.status = "open"
    request.unmatched_reason = f"{role} declined the series"
    db.session.commit()
    return True


def cancel_session(session: MentoringSession, person: Person) -> bool:
    """Cancel one session for both people; commit."""
    series = session.series
    role = series.role_of(person.id)
    if role is None or session.status not in ACTIVE:
        return False
    _cancel(session, f"{role}:{person.email}")
    if all(s.status == "cancelled" for s in series.sessions):
        move_series(series, "cancelled", f"{role}:{person.email}")
    else:
        series.version += 1
    db.session.commit()
    return True


def _cancel(session: MentoringSession, actor: str) -> None:
    was_invited = session.status not in ("planned", "pending-approval", "approved")
    move_session(session, "cancelled", actor)
    session.sequence += 1
    if was_invited:
        session.calendar_write = "pending"
        send_invitation(session, "CANCEL")
