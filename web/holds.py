"""Keeping one person's active sessions from overlapping.

Every flush brings the ``booked_time`` rows in line with the sessions it
writes: an active session holds its time for both of its people, any other
session holds none. PostgreSQL rejects an overlap with an exclusion
constraint. SQLite has none, so the same flush checks for overlaps after
its first write to ``booked_time``; that write takes SQLite's write lock,
so no other transaction can book between the check and the commit.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, event, select
from sqlalchemy.orm import Session

from web.models import BookedTime, MentoringSession, Series
from web.states import ACTIVE


class OverlapError(ValueError):
    """A person would hold two active sessions at the same time."""


def register() -> None:
    """Install the flush hook once per process."""
    if not event.contains(Session, "before_flush", _sync_holds):
        event.listen(Session, "before_flush", _sync_holds)


def _sync_holds(session: Session, context: Any, instances: Any) -> None:
    changed = [
        obj
        for obj in (*session.new, *session.dirty)
        if isinstance(obj, MentoringSession)
    ]
    if not changed:
        return
    with session.no_autoflush:
        for mentoring in changed:
            _hold(session, mentoring)


def _hold(session: Session, mentoring: MentoringSession) -> None:
    if mentoring.id is not None:
        session.execute(delete(BookedTime).where(BookedTime.session_id == mentoring.id))
    for stale in [
        h for h in session.new if isinstance(h, BookedTime) and h.session is mentoring
    ]:
        session.expunge(stale)
    if mentoring.status not in ACTIVE:
        return
    series: Series = mentoring.series
    for person_id in {series.mentor_id, series.mentee_id}:
        if session.get_bind().dialect.name == "sqlite":
            _check_free(session, mentoring, person_id)
        session.add(
            BookedTime(
                session=mentoring,
                person_id=person_id,
                start=mentoring.start,
                end=mentoring.end,
            )
        )


def _check_free(session: Session, mentoring: MentoringSession, person_id: int) -> None:
    query = select(BookedTime.session_id).where(
        BookedTime.person_id == person_id,
        BookedTime.start < mentoring.end,
        BookedTime.end > mentoring.start,
    )
    if mentoring.id is not None:
        query = query.where(BookedTime.session_id != mentoring.id)
    clash = session.scalar(query.limit(1))
    pending = [
        h
        for h in session.new
        if isinstance(h, BookedTime)
        and h.person_id == person_id
        and h.session is not mentoring
        and h.start < mentoring.end
        and h.end > mentoring.start
    ]
    if clash is not None or pending:
        raise OverlapError(
            f"person {person_id} already has a session at "
            f"{mentoring.start:%Y-%m-%d %H:%M} UTC"
        )
