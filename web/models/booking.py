"""Matches, the series booked for them, their sessions and feedback."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from web.extensions import db
from web.models.types import UTCDateTime, utcnow

if TYPE_CHECKING:
    from web.models.people import Person
    from web.models.programs import Program, Request


class Match(db.Model):  # type: ignore[name-defined]
    """The engine's pairing of one request with one mentor, and why."""

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("program.id"), index=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("request.id"))
    mentor_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    score: Mapped[float] = mapped_column(Float)
    reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    request: Mapped[Request] = relationship()
    mentor: Mapped[Person] = relationship()
    series: Mapped[Series | None] = relationship(back_populates="match")


class Series(db.Model):  # type: ignore[name-defined]
    """The one to three sessions booked for a match.

    ``version`` rises on every change of state, so a signed link issued for
    an older state can be recognised and refused.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("program.id"), index=True)
    match_id: Mapped[int] = mapped_column(ForeignKey("match.id"), unique=True)
    mentor_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    mentee_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    status: Mapped[str] = mapped_column(String(24), default="pending-approval")
    version: Mapped[int] = mapped_column(Integer, default=1)
    mentor_confirmed: Mapped[bool] = mapped_column(Boolean, default=False)
    mentee_confirmed: Mapped[bool] = mapped_column(Boolean, default=False)
    note: Mapped[str] = mapped_column(Text, default="")
    flagged: Mapped[bool] = mapped_column(Boolean, default=False)
    """Torace changed something the administrator should look at."""
    nudge_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    approved_by: Mapped[str] = mapped_column(String(320), default="")
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    program: Mapped[Program] = relationship()
    match: Mapped[Match] = relationship(back_populates="series")
    mentor: Mapped[Person] = relationship(foreign_keys=[mentor_id])
    mentee: Mapped[Person] = relationship(foreign_keys=[mentee_id])
    sessions: Mapped[list[MentoringSession]] = relationship(
        back_populates="series",
        cascade="all, delete-orphan",
        order_by="MentoringSession.position",
    )

    def role_of(self, person_id: int) -> str | None:
        if person_id == self.mentor_id:
            return "mentor"
        if person_id == self.mentee_id:
            return "mentee"
        return None


class MentoringSession(db.Model):  # type: ignore[name-defined]
    """One meeting of a series; named so it is never confused with db.session."""

    __tablename__ = "mentoring_session"
    __table_args__ = (UniqueConstraint("series_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    series_id: Mapped[int] = mapped_column(ForeignKey("series.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    """1, 2 or 3: the session's place in its series."""
    start: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    end: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(24), default="planned")
    uid: Mapped[str] = mapped_column(String(200), unique=True)
    """The iCalendar UID, stable for the life of the session."""
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    calendar_event_id: Mapped[str] = mapped_column(String(1024), default="")
    calendar_write: Mapped[str] = mapped_column(String(16), default="none")
    """none, pending, done or failed: the write to the mentor's calendar."""
    reminder_sent_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime, nullable=True
    )
    feedback_requested_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime, nullable=True
    )

    series: Mapped[Series] = relationship(back_populates="sessions")


class Feedback(db.Model):  # type: ignore[name-defined]
    """One person's feedback on one session; a second submission replaces it."""

    __table_args__ = (UniqueConstraint("session_id", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("mentoring_session.id"))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    rating: Mapped[int] = mapped_column(Integer)
    helped: Mapped[str] = mapped_column(Text, default="")
    comment: Mapped[str] = mapped_column(Text, default="")
    keep_meeting: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    session: Mapped[MentoringSession] = relationship()
    person: Mapped[Person] = relationship()


class BookedTime(db.Model):  # type: ignore[name-defined]
    """The time one active session holds for one of its two people.

    On PostgreSQL an exclusion constraint keeps one person's rows from
    overlapping; on SQLite the booking code checks in the same transaction.
    Rows exist only while their session is active.
    """

    __table_args__ = (UniqueConstraint("session_id", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("mentoring_session.id", ondelete="CASCADE")
    )
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    start: Mapped[datetime] = mapped_column(UTCDateTime)
    end: Mapped[datetime] = mapped_column(UTCDateTime)

    session: Mapped[MentoringSession] = relationship()


class FollowUp(db.Model):  # type: ignore[name-defined]
    """A participant's wish to keep meeting, for the administrator to act on."""

    id: Mapped[int] = mapped_column(primary_key=True)
    series_id: Mapped[int] = mapped_column(ForeignKey("series.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    status: Mapped[str] = mapped_column(String(16), default="open")
    """open, arranged or dismissed."""
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    series: Mapped[Series] = relationship()
    person: Mapped[Person] = relationship()
