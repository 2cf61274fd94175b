"""The booking workflow: approval, invitations, confirmations and cancellations."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime

from flask import current_app
from sqlalchemy import select, update

from calendar_sync.base import Attendee, EventSpec
from web.audit import record
from web.extensions import db
from web.links import link_url
from web.models import MentoringSession, Person, Program, Series
from web.models.types import utcnow
from web.outbox import AdminRecipient, Invitation, queue_mail
from web.states import ACTIVE, move_series, move_session

log = logging.getLogger(__name__)


def series_fingerprint(series: Series, person: Person | None = None) -> str:
    """Return the state a series link is issued for, as seen by ``person``.

    One participant's confirmation ends that participant's own confirm and
    decline links but leaves the other participant's links working.
    """
    fingerprint = f"v{series.version}"
    role = series.role_of(person.id) if person is not None else None
    if role is not None and getattr(series, f"{role}_confirmed"):
        fingerprint += ":confirmed"
    return fingerprint


def session_fingerprint(session: MentoringSession, person: Person | None = None) -> str:
    """Return the state a session link is issued for: its iCalendar SEQUENCE.

    A confirmation leaves cancel and another-time links working; a move or a
    cancellation raises the sequence and ends them.
    """
    return f"s{session.sequence}"


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

    Each series is locked and re-read first, so when two administrators
    approve the same series at once the second finds it approved and skips
    it. Each is then re-checked against both people's calendars: a session
    that now conflicts moves inside the rules (the move is noted on the
    series), and a series that no longer fits goes back to matching. After
    the commit the calendar writes and the mail delivery are queued.
    """
    from web.rescheduling import NoLongerFits, recheck

    now = now or utcnow()
    approved = []
    for series in series_list:
        lock_series(series)
        if series.status != "pending-approval":
            continue
        # A speed-mentoring meeting keeps the round time the organiser set.
        if series.program.kind != "speed":
            try:
                recheck(series, now, actor)
            except NoLongerFits as error:
                _back_to_matching(series, actor, str(error))
                continue
        _approve_one(series, actor, now)
        approved.append(series)
    _queue_speed_schedules(approved)
    db.session.commit()
    log.info("approved %d series", len(approved))
    if approved:
        queue_follow_up()
    return approved


def _queue_speed_schedules(approved: list[Series]) -> None:
    from web.speed import queue_schedules

    db.session.flush()
    for program in {s.program for s in approved if s.program.kind == "speed"}:
        queue_schedules(program)


def lock_series(series: Series) -> None:
    """Lock ``series`` for this transaction and re-read it and its sessions.

    PostgreSQL takes a row lock with SELECT ... FOR UPDATE. SQLite has no
    row locks, so a no-op UPDATE takes the database's write lock instead; a
    second writer waits for this transaction to end.
    """
    if db.session.get_bind().dialect.name == "sqlite":
        db.session.execute(
            update(Series)
            .where(Series.id == series.id)
            .values(version=Series.version)
            .execution_options(synchronize_session=False)
        )
    else:
        db.session.execute(
            select(Series.id).where(Series.id == series.id).with_for_update()
        )
    db.session.refresh(series)
    for session in series.sessions:
        db.session.refresh(session)


def queue_follow_up() -> None:
    """Queue the calendar writes and the outbox delivery on the task queue.

    A queue that cannot be reached loses nothing: the rows stay pending and
    the periodic task picks them up.
    """
    tasks = current_app.extensions.get("torace.tasks")
    if tasks is None:
        return
    try:
        tasks.write_calendars()
        tasks.deliver_outbox()
    # Redis and SQLite raise their own errors; any of them only delays the work.
    except Exception as error:  # noqa: BLE001
        log.warning("follow-up tasks not queued, the periodic run does them: %s", error)


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
    """Build the signed links a participant gets in a series email."""
    fingerprint = series_fingerprint(series, person)
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


def pending_series(program: Program) -> list[Series]:
    """The series of ``program`` waiting for approval, oldest first."""
    return list(
        db.session.scalars(
            db.select(Series)
            .filter_by(program_id=program.id, status="pending-approval")
            .order_by(Series.id)
        )
    )


def request_approval(program: Program) -> int:
    """Email each administrator of ``program`` the series pending approval; commit.

    Each message lists every pending series with a signed approval link.
    The message key names the series and their versions, so asking twice
    for the same pending series mails nobody twice. Returns the messages
    queued.
    """
    from web.access import program_admins

    series = pending_series(program)
    if not series:
        return 0
    key = f"{program.id}:" + ",".join(f"{s.id}v{s.version}" for s in series)
    queued = 0
    for admin in program_admins(program):
        recipient = AdminRecipient(admin.id, admin.email, admin.email)
        links = {
            s.id: link_url("approve", admin.id, s.id, series_fingerprint(s))
            for s in series
        }
        row = queue_mail(
            "approval-request",
            key,
            recipient,
            f"{len(series)} mentoring series to approve in {program.name}",
            "approval_request",
            program=program,
            pending=series,
            links=links,
        )
        queued += row is not None
    db.session.commit()
    if queued:
        queue_follow_up()
    log.info("asked %d administrators to approve program %s", queued, program.slug)
    return queued
