"""Xandikos's iMIP import accepts every invitation the workflow mails.

Each test drives the web workflow (approval, a participant's another time,
an administrator's slot override, a cancellation) and feeds the mentee's
queued messages, in order, to ``xandikos import-imip``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from flask import Flask

from tests.mail.test_xandikos_imip import (
    INBOX_PATH,
    import_imip,
    stored_calendars,
    stored_event,
)
from tests.web.factories import booked_series
from web.booking import approve, cancel_session
from web.extensions import db
from web.models import MentoringSession, OutboxMessage, Series
from web.overrides import change_slot
from web.rescheduling import move, other_times

MENTEE = "mentee@example.org"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "xandikos"


@pytest.fixture
def invited(app: Flask) -> Series:
    series = booked_series(sessions=1)
    approve([series], "admin")
    return series


def feed_mentee_mail(root: Path, after_id: int = 0) -> int:
    """Import the mentee's messages queued after ``after_id``; return the last id."""
    rows = db.session.scalars(
        db.select(OutboxMessage)
        .filter(OutboxMessage.recipient == MENTEE, OutboxMessage.id > after_id)
        .order_by(OutboxMessage.id)
    ).all()
    for row in rows:
        result = import_imip(root, row.raw)
        assert result.returncode == 0, result.stderr.decode()
        assert b"Imported iMIP" in result.stderr
    return rows[-1].id if rows else after_id


def session_of(series: Series) -> MentoringSession:
    db.session.expire_all()
    return db.session.get(Series, series.id).sessions[0]


def test_invitation_is_imported_at_session_time(root: Path, invited: Series) -> None:
    feed_mentee_mail(root)

    event = stored_event(root)
    session = session_of(invited)
    assert str(event["UID"]) == session.uid
    assert event.start == session.start
    assert event["SEQUENCE"] == 0


def test_another_time_updates_the_same_event(root: Path, invited: Series) -> None:
    last = feed_mentee_mail(root)
    session = session_of(invited)
    now = datetime.now(UTC)
    new_start = other_times(session, now)[0].start

    assert move(session, new_start, f"link:{MENTEE}", now) is None
    feed_mentee_mail(root, last)

    event = stored_event(root)
    assert str(event["UID"]) == session.uid
    assert event.start == new_start
    assert event["SEQUENCE"] == 1


def test_admin_slot_override_updates_the_same_event(
    root: Path, invited: Series
) -> None:
    last = feed_mentee_mail(root)
    session = session_of(invited)
    now = datetime.now(UTC)
    new_start = other_times(session, now)[-1].start

    change_slot(session, new_start, "admin:lead@example.org", now)
    feed_mentee_mail(root, last)

    event = stored_event(root)
    assert event.start == new_start
    assert event["SEQUENCE"] == 1


def test_cancellation_marks_the_event_cancelled(root: Path, invited: Series) -> None:
    last = feed_mentee_mail(root)
    session = session_of(invited)

    cancel_session(session, session.series.mentee)
    feed_mentee_mail(root, last)

    event = stored_event(root)
    assert str(event["UID"]) == session.uid
    assert event["STATUS"] == "CANCELLED"
    # Xandikos keeps the stored SEQUENCE on CANCEL; its inbox keeps the CANCEL.
    cancels = [c for c in stored_calendars(root, INBOX_PATH) if c["METHOD"] == "CANCEL"]
    assert [c.events[0]["SEQUENCE"] for c in cancels] == [1]


def test_mailed_invitation_names_request_method(invited: Series) -> None:
    row = db.session.scalar(
        db.select(OutboxMessage).filter_by(recipient=MENTEE, kind="invitation")
    )
    message = message_from_bytes(row.raw, policy=policy.default)
    part = next(p for p in message.walk() if p.get_content_type() == "text/calendar")

    assert part.get_param("method") == "REQUEST"
