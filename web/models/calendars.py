"""Calendar connections and the busy time last read from them."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from web.extensions import db
from web.models.types import UTCDateTime, utcnow

if TYPE_CHECKING:
    from web.models.people import Person

CONNECTION_KINDS = ("ics-file", "url", "ics-feed", "caldav", "google", "microsoft")
"""``url`` is a pasted http(s) address not yet recognised as a feed or CalDAV."""


class CalendarConnection(db.Model):  # type: ignore[name-defined]
    """One calendar Torace reads a person's busy time from.

    ``secret`` holds the encrypted password, refresh token or MSAL token
    cache; it is never stored or logged in the clear.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    kind: Mapped[str] = mapped_column(String(16))
    url: Mapped[str] = mapped_column(Text)
    """A file path, a feed or CalDAV URL, or the provider's calendar id."""
    username: Mapped[str] = mapped_column(String(320), default="")
    account: Mapped[str] = mapped_column(String(320), default="")
    """The provider account that granted access, shown on the connection page."""
    secret: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(24), default="ok")
    """ok, error, or needs-reconnect."""
    last_sync_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str] = mapped_column(Text, default="")
    sync_state: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """ETag, ctag or sync token from the last read."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    person: Mapped[Person] = relationship(back_populates="calendars")
    busy_blocks: Mapped[list[BusyBlock]] = relationship(
        back_populates="connection", cascade="all, delete-orphan"
    )


class BusyBlock(db.Model):  # type: ignore[name-defined]
    """A busy interval read by the last sync, in UTC."""

    id: Mapped[int] = mapped_column(primary_key=True)
    connection_id: Mapped[int] = mapped_column(
        ForeignKey("calendar_connection.id"), index=True
    )
    start: Mapped[datetime] = mapped_column(UTCDateTime)
    end: Mapped[datetime] = mapped_column(UTCDateTime)
    kind: Mapped[str] = mapped_column(String(16), default="busy")

    connection: Mapped[CalendarConnection] = relationship(back_populates="busy_blocks")
