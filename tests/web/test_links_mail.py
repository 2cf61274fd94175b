"""Email preferences: RFC 8058 headers, one-click unsubscribe, essential mail."""

from __future__ import annotations

from datetime import timedelta
from email import message_from_bytes, policy
from urllib.parse import urlsplit

import pytest
from flask import Flask

from tests.web.factories import booked_series, make_person
from web.booking import approve
from web.due import send_reminders
from web.extensions import db
from web.links import read_token
from web.models import OutboxMessage, Person, Series


@pytest.fixture
def series(app: Flask) -> Series:
    series = booked_series(sessions=1)
    approve([series], "admin")
    return series


def messages(kind: str) -> list:
    rows = db.session.scalars(db.select(OutboxMessage).filter_by(kind=kind)).all()
    return [message_from_bytes(row.raw, policy=policy.default) for row in rows]


def text_of(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def test_reminder_carries_one_click_headers(series: Series) -> None:
    send_reminders(series.sessions[0].start.replace(hour=0))

    reminders = messages("reminder")
    assert len(reminders) == 2
    for message in reminders:
        url = message["List-Unsubscribe"].strip("<>")
        claim = read_token("unsubscribe", urlsplit(url).path.split("/")[-1])
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert claim.person_id == claim.object_id
        assert "Email preferences: http" in text_of(message)


def test_invitation_has_no_unsubscribe_header(series: Series) -> None:
    for message in messages("invitation"):
        assert message["List-Unsubscribe"] is None


def test_mentor_mail_footer_links_the_self_service_page(series: Series) -> None:
    by_recipient = {m["To"].addresses[0].addr_spec: m for m in messages("invitation")}

    mentor_text = text_of(by_recipient["mentor@example.org"])
    mentee_text = text_of(by_recipient["mentee@example.org"])

    assert "/l/my-mentoring/" in mentor_text
    assert "/l/my-mentoring/" not in mentee_text


def test_one_click_post_unsubscribes_without_redirect(
    series: Series, app: Flask
) -> None:
    send_reminders(series.sessions[0].start.replace(hour=0))
    message = messages("reminder")[0]
    path = urlsplit(message["List-Unsubscribe"].strip("<>")).path
    client = app.test_client(use_cookies=False)

    response = client.post(
        path,
        data="List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )

    assert response.status_code == 200
    assert "Location" not in response.headers
    address = message["To"].addresses[0].addr_spec
    person = db.session.scalars(db.select(Person).filter_by(email=address)).one()
    assert person.unsubscribed


def test_unsubscribed_person_still_gets_invitations_and_cancellations(
    app: Flask,
) -> None:
    from web.booking import cancel_session

    series = booked_series(sessions=2)
    series.mentee.unsubscribed = True
    db.session.commit()

    approve([series], "admin")
    cancel_session(series.sessions[0], series.mentor)
    send_reminders(series.sessions[1].start - timedelta(hours=2))

    def kinds(email: str) -> list[str]:
        rows = db.session.scalars(
            db.select(OutboxMessage.kind).filter_by(recipient=email)
        ).all()
        return sorted(rows)

    assert kinds("mentee@example.org") == ["cancellation", "invitation", "invitation"]
    assert "reminder" in kinds("mentor@example.org")


def test_unsubscribed_person_gets_no_call(app: Flask) -> None:
    from tests.web.factories import make_program
    from web.cli_calls import send_call_for_requests
    from web.models import Membership

    program = make_program()
    person = make_person("quiet@example.org")
    person.unsubscribed = True
    db.session.add(Membership(program=program, person=person, role="mentee"))
    db.session.commit()

    assert send_call_for_requests(program) == 0
