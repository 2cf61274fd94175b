"""Programs, their topics, pools and the requests mentees make."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
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

PROGRAM_KINDS = (
    "intervention",
    "development-plan",
    "one-off",
    "speed",
    "informational",
)
SITE_RULES = ("any", "same", "other-required", "other-preferred")


class Program(db.Model):  # type: ignore[name-defined]
    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    sessions: Mapped[int] = mapped_column(Integer, default=1)
    session_minutes: Mapped[int] = mapped_column(Integer, default=45)
    window_start: Mapped[date] = mapped_column(Date)
    window_end: Mapped[date] = mapped_column(Date)
    """The last day sessions may fall on, inclusive."""
    min_days_between: Mapped[int] = mapped_column(Integer, default=7)
    hours: Mapped[str] = mapped_column(String(400), default="Mon-Fri 09:00-17:00")
    buffer_minutes: Mapped[int] = mapped_column(Integer, default=0)
    min_notice_hours: Mapped[int] = mapped_column(Integer, default=24)
    site_rule: Mapped[str] = mapped_column(String(32), default="any")
    mentor_capacity: Mapped[int] = mapped_column(Integer, default=3)
    approval: Mapped[str] = mapped_column(String(16), default="required")
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """Optional settings: synonyms, related topics, speed event, comment visibility."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    topics: Mapped[list[Topic]] = relationship(
        back_populates="program", cascade="all, delete-orphan", order_by="Topic.name"
    )
    memberships: Mapped[list[Membership]] = relationship(
        back_populates="program", cascade="all, delete-orphan"
    )

    def topic_named(self, name: str) -> Topic | None:
        wanted = name.strip().casefold()
        return next((t for t in self.topics if t.name.casefold() == wanted), None)


class Topic(db.Model):  # type: ignore[name-defined]
    __table_args__ = (UniqueConstraint("program_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("program.id"))
    name: Mapped[str] = mapped_column(String(200))

    program: Mapped[Program] = relationship(back_populates="topics")


class Membership(db.Model):  # type: ignore[name-defined]
    """A person's place in a program's pool, as mentor, mentee or both."""

    __table_args__ = (UniqueConstraint("program_id", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("program.id"))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    role: Mapped[str] = mapped_column(String(16))
    offers: Mapped[list[str]] = mapped_column(JSON, default=list)
    """Topic names this person mentors on, as spelled in the program."""
    capacity: Mapped[int | None] = mapped_column(Integer, nullable=True)
    """Mentees this mentor takes in the program; None means the program's."""
    monthly_capacity: Mapped[int | None] = mapped_column(Integer, nullable=True)
    """Most sessions this mentor holds in one calendar month; None: no limit."""
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    """A paused mentor gets no new matches in this program."""

    program: Mapped[Program] = relationship(back_populates="memberships")
    person: Mapped[Person] = relationship()

    @property
    def is_mentor(self) -> bool:
        return self.role in ("mentor", "both")

    @property
    def effective_capacity(self) -> int:
        if self.capacity is None:
            return self.program.mentor_capacity
        return self.capacity


class Request(db.Model):  # type: ignore[name-defined]
    """One mentee's wish for one topic in one program."""

    __table_args__ = (UniqueConstraint("program_id", "mentee_id", "topic_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("program.id"))
    mentee_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    topic_id: Mapped[int] = mapped_column(ForeignKey("topic.id"))
    note: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="open")
    """open, matched, unmatched or withdrawn."""
    unmatched_reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    program: Mapped[Program] = relationship()
    mentee: Mapped[Person] = relationship()
    topic: Mapped[Topic] = relationship()
