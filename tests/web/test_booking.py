from email import message_from_bytes, policy
from email.message import EmailMessage

import icalendar
import pytest
from flask import Flask

from tests.web.factories import booked_series
from web.booking import approve, cancel_session, confirm, decline
from web.extensions import db
from web.models import AuditEvent, OutboxMessage
from web.states import TransitionError, move_series


def outbox() -> list[OutboxMessage]:
    return db.session.scalars(db.select(OutboxMessage).order_by(OutboxMessage.id)).all()


def parse(row: OutboxMessage) -> EmailMessage:
    return message_from_bytes(row.raw, policy=policy.default)  # type: ignore[return-value]


def calendar_of(message: EmailMessage) -> icalendar.Calendar:
    part = next(p for p in message.walk() if p.get_content_type() == "text/calendar")
    return icalendar.Calendar.from_ical(part.get_content())


def test_approval_queues_one_invitation_per_person_and_session(app: Flask) -> None:
    series = booked_series(sessions=3)

    approve([series], "admin:a@example.org")

    rows = outbox()
    assert len(rows) == 6
    assert sorted({r.recipient for r in rows}) == [
        "mentee@example.org",
        "mentor@example.org",
    ]
    assert series.status == "invited"
    assert [s.status for s in series.sessions] == ["invited"] * 3


def test_invitation_carries_request_with_session_time(app: Flask) -> None:
    series = booked_series(sessions=1)
    approve([series], "admin")
    session = series.sessions[0]

    message = parse(outbox()[0])
    event = calendar_of(message).walk("VEVENT")[0]

    assert calendar_of(message)["METHOD"] == "REQUEST"
    assert str(event["UID"]) == session.uid
    assert event.decoded("DTSTART") == session.start
    assert "mentor@example.org" in str(event["ORGANIZER"])


def test_approving_twice_queues_nothing_more(app: Flask) -> None:
    series = booked_series(sessions=2)
    approve([series], "admin")

    again = approve([series], "admin")

    assert again == []
    assert len(outbox()) == 4


def test_both_confirmations_confirm_the_series(app: Flask) -> None:
    series = booked_series()
    approve([series], "admin")

    assert confirm(series, series.mentee)
    assert series.status == "invited"
    assert confirm(series, series.mentor)

    assert series.status == "confirmed"
    assert not confirm(series, series.mentor)


def test_cancelling_a_session_sends_cancel_with_higher_sequence(app: Flask) -> None:
    series = booked_series(sessions=2)
    approve([series], "admin")
    session = series.sessions[0]

    assert cancel_session(session, series.mentee)

    cancels = [r for r in outbox() if r.kind == "cancellation"]
    assert len(cancels) == 2
    calendar = calendar_of(parse(cancels[0]))
    event = calendar.walk("VEVENT")[0]
    assert calendar["METHOD"] == "CANCEL"
    assert str(event["STATUS"]) == "CANCELLED"
    assert int(event["SEQUENCE"]) == 1
    assert str(event["UID"]) == session.uid
    assert series.status == "invited"


def test_decline_cancels_every_session_and_reopens_request(app: Flask) -> None:
    series = booked_series(sessions=3)
    approve([series], "admin")

    assert decline(series, series.mentor, "on leave")

    assert series.status == "declined"
    assert {s.status for s in series.sessions} == {"cancelled"}
    assert series.match.request.status == "open"


def test_every_transition_is_audited(app: Flask) -> None:
    series = booked_series(sessions=1)
    approve([series], "admin:a@example.org")

    actions = db.session.scalars(db.select(AuditEvent.action)).all()

    assert "series.approved" in actions
    assert "series.invited" in actions
    assert "session.invited" in actions


def test_state_machine_rejects_a_move_it_does_not_allow(app: Flask) -> None:
    series = booked_series(sessions=1)

    with pytest.raises(TransitionError, match="pending-approval to completed"):
        move_series(series, "completed", "test")
