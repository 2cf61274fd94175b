"""Periodic work: reminders, nudges, feedback requests and mail delivery."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from web.booking import participant_links
from web.calendar_writes import write_pending
from web.extensions import db
from web.filters import local
from web.links import link_url
from web.models import MentoringSession, Person, Series
from web.outbox import deliver_pending, queue_mail
from web.states import move_series, move_session

log = logging.getLogger(__name__)
REMINDER_LEAD = timedelta(hours=24)
BOOKED = ("invited", "confirmed", "rescheduled")
DEFAULT_NUDGE_HOURS = 72


def run_due(now: datetime) -> dict[str, int]:
    """Run every piece of periodic work that is due at ``now``, once."""
    counts = {
        "reminders": send_reminders(now),
        "feedback_requests": send_feedback_requests(now),
        "nudges": send_nudges(now),
    }
    counts.update(write_pending())
    counts.update(deliver_pending(now))
    return counts


def send_reminders(now: datetime) -> int:
    """Queue a reminder for each booked session starting within a day; commit."""
    sessions = db.session.scalars(
        db.select(MentoringSession).filter(
            MentoringSession.status.in_(BOOKED),
            MentoringSession.reminder_sent_at.is_(None),
            MentoringSession.start > now,
            MentoringSession.start <= now + REMINDER_LEAD,
        )
    ).all()
    for session in sessions:
        series = session.series
        for person in (series.mentor, series.mentee):
            other = series.mentee if person.id == series.mentor_id else series.mentor
            queue_mail(
                "reminder",
                session.uid,
                person,
                f"Reminder: mentoring session {session.position} with {other.name}, "
                f"{local(session.start, person.timezone, '%a %d %b %H:%M %Z')}",
                "reminder",
                session=session,
                series=series,
                other=other,
            )
        session.reminder_sent_at = now
    db.session.commit()
    return len(sessions)


def send_feedback_requests(now: datetime) -> int:
    """Mark ended sessions completed and ask both people for feedback; commit."""
    sessions = db.session.scalars(
        db.select(MentoringSession).filter(
            MentoringSession.status.in_(BOOKED),
            MentoringSession.feedback_requested_at.is_(None),
            MentoringSession.end <= now,
        )
    ).all()
    for session in sessions:
        move_session(session, "completed", "torace")
        session.feedback_requested_at = now
        series = session.series
        for person in (series.mentor, series.mentee):
            queue_mail(
                "feedback-request",
                session.uid,
                person,
                f"How was your mentoring session on {session.start:%d %b}?",
                "feedback_request",
                session=session,
                series=series,
                feedback_url=link_url("feedback", person.id, session.id),
                rate_urls={
                    n: link_url("rate", person.id, session.id, extra=str(n))
                    for n in range(1, 6)
                },
            )
        _complete_series(series)
    db.session.commit()
    return len(sessions)


def _complete_series(series: Series) -> None:
    if series.status in BOOKED and all(
        s.status in ("completed", "cancelled") for s in series.sessions
    ):
        move_series(series, "completed", "torace")


def send_nudges(now: datetime) -> int:
    """Queue a nudge to each participant who has not confirmed their series; commit.

    The wait is the program's ``confirm_nudge_hours`` option (default 72)
    after the approval that sent the invitations. Each series is nudged at
    most once, only while one of its sessions is still ahead, and only up to
    twice that wait after the approval: after a long outage of the periodic
    task a stale nudge is dropped, and the reminder a day before still goes.
    """
    candidates = db.session.scalars(
        db.select(Series).filter(
            Series.status.in_(("invited", "rescheduled")),
            Series.nudge_sent_at.is_(None),
            Series.approved_at.is_not(None),
            Series.approved_at <= now,
        )
    ).all()
    nudged = 0
    for series in candidates:
        if not _nudge_due(series, now):
            continue
        for role, person in (("mentor", series.mentor), ("mentee", series.mentee)):
            if not getattr(series, f"{role}_confirmed"):
                _queue_nudge(series, person)
        series.nudge_sent_at = now
        nudged += 1
    db.session.commit()
    return nudged


def _nudge_due(series: Series, now: datetime) -> bool:
    hours = int(series.program.options.get("confirm_nudge_hours", DEFAULT_NUDGE_HOURS))
    wait = timedelta(hours=hours)
    if series.approved_at is None:
        return False
    if not series.approved_at + wait <= now < series.approved_at + 2 * wait:
        return False
    if series.mentor_confirmed and series.mentee_confirmed:
        return False
    return any(s.status in BOOKED and s.start > now for s in series.sessions)


def _queue_nudge(series: Series, person: Person) -> None:
    other = series.mentee if person.id == series.mentor_id else series.mentor
    queue_mail(
        "nudge",
        f"{series.id}",
        person,
        f"Please confirm your mentoring sessions with {other.name}",
        "nudge",
        series=series,
        other=other,
        links=participant_links(series, person),
    )
