"""Periodic work after approval: nudges, reminders and feedback, run twice."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from flask import Flask

from tests.web.factories import FIRST_SESSION, booked_series
from web.booking import approve, confirm
from web.due import run_due
from web.extensions import db
from web.models import OutboxMessage, Series

# Approved a week before the first session, so every lead time fits.
APPROVED_AT = FIRST_SESSION - timedelta(days=7)


@pytest.fixture
def invited(app: Flask) -> Series:
    series = booked_series(sessions=2)
    approve([series], "admin", now=APPROVED_AT)
    return series


def mail(kind: str) -> list[OutboxMessage]:
    return list(
        db.session.scalars(
            db.select(OutboxMessage).filter_by(kind=kind).order_by(OutboxMessage.id)
        )
    )


def everything() -> list[tuple[str, str]]:
    rows = db.session.scalars(db.select(OutboxMessage).order_by(OutboxMessage.id))
    return [(r.kind, r.message_id) for r in rows]


def test_no_nudge_before_72_hours(invited: Series) -> None:
    run_due(APPROVED_AT + timedelta(hours=71))

    assert mail("nudge") == []


def test_nudge_goes_to_unconfirmed_person(invited: Series) -> None:
    confirm(invited, invited.mentor)

    run_due(APPROVED_AT + timedelta(hours=72))

    assert [r.recipient for r in mail("nudge")] == ["mentee@example.org"]


def test_nudge_later_than_twice_the_wait_is_dropped(invited: Series) -> None:
    run_due(APPROVED_AT + timedelta(hours=144))

    assert mail("nudge") == []


def test_nudge_hours_come_from_the_program(invited: Series) -> None:
    invited.program.options = {"confirm_nudge_hours": 24}
    db.session.commit()

    run_due(APPROVED_AT + timedelta(hours=25))

    assert sorted(r.recipient for r in mail("nudge")) == [
        "mentee@example.org",
        "mentor@example.org",
    ]


def test_confirmed_series_gets_no_nudge(invited: Series) -> None:
    confirm(invited, invited.mentor)
    confirm(invited, invited.mentee)

    run_due(APPROVED_AT + timedelta(hours=100))

    assert mail("nudge") == []


def test_nudge_is_sent_once_per_series(invited: Series) -> None:
    run_due(APPROVED_AT + timedelta(hours=80))
    run_due(APPROVED_AT + timedelta(hours=90))

    assert len(mail("nudge")) == 2


@pytest.mark.parametrize(
    "moment",
    [
        APPROVED_AT + timedelta(hours=80),
        FIRST_SESSION - timedelta(hours=2),
        FIRST_SESSION + timedelta(hours=1),
    ],
)
def test_running_due_twice_queues_the_same_outbox(
    invited: Series, moment: datetime
) -> None:
    run_due(moment)
    once = everything()

    run_due(moment)

    assert everything() == once


def test_reminder_and_feedback_follow_the_session(invited: Series) -> None:
    run_due(FIRST_SESSION - timedelta(hours=2))
    run_due(FIRST_SESSION + timedelta(hours=1))

    assert len(mail("reminder")) == 2
    assert len(mail("feedback-request")) == 2
