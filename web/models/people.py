"""People in programs, and the administrators who run them."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from flask_login import UserMixin
from sqlalchemy import Boolean, Date, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from web.extensions import db
from web.models.types import UTCDateTime, utcnow

if TYPE_CHECKING:
    from web.models.calendars import CalendarConnection
    from web.models.programs import Program


class Person(db.Model):  # type: ignore[name-defined]
    """A mentor or mentee; one row per email address across all programs."""

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    site: Mapped[str] = mapped_column(String(200), default="")
    title: Mapped[str] = mapped_column(String(200), default="")
    tags: Mapped[str] = mapped_column(Text, default="")
    """Role tags separated by ``;``, matched by informational interviews."""
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    hours: Mapped[str] = mapped_column(String(400), default="")
    """Weekly hours in the person's zone; empty means the program's hours."""
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    unsubscribed: Mapped[bool] = mapped_column(Boolean, default=False)
    """Opted out of non-essential mail; invitations still go out."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    calendars: Mapped[list[CalendarConnection]] = relationship(
        back_populates="person", cascade="all, delete-orphan"
    )

    def __repr__(self) -> str:
        return f"<Person {self.id} {self.email}>"


class Admin(UserMixin, db.Model):  # type: ignore[name-defined]
    """Someone who logs in to run programs.

    An organisation-wide administrator sees every program; a program
    administrator sees only the programs in ``programs``.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(300))
    organisation_wide: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    programs: Mapped[list[Program]] = relationship(secondary="program_admin")

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    def can_manage(self, program: Program) -> bool:
        return self.organisation_wide or any(p.id == program.id for p in self.programs)


class ProgramAdmin(db.Model):  # type: ignore[name-defined]
    __tablename__ = "program_admin"

    admin_id: Mapped[int] = mapped_column(ForeignKey("admin.id"), primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("program.id"), primary_key=True)


class DateOverride(db.Model):  # type: ignore[name-defined]
    """A day on which a person's own hours replace their weekly hours."""

    __table_args__ = (UniqueConstraint("person_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    day: Mapped[date] = mapped_column(Date)
    """The local date in the person's own zone."""
    hours: Mapped[str] = mapped_column(String(200), default="")
    """Windows for that day, like ``"09:00-12:00"``; empty means not available."""
    note: Mapped[str] = mapped_column(String(200), default="")
