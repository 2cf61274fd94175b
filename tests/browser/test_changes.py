"""Changes after matching, in a real browser against the live server.

An administrator gives a series another mentor or moves a session; a
participant asks for another time or cancels through their mailed link.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.web.factories import booked_series, make_person
from web.booking import approve, participant_links
from web.extensions import db
from web.models import Admin, Membership, MentoringSession, OutboxMessage, Series
from web.rescheduling import other_times

pytestmark = pytest.mark.browser


@pytest.fixture
def logged_in(live_server, page):
    """A page logged in as an organisation-wide administrator."""
    account = Admin(email="lead@example.org", organisation_wide=True)
    account.set_password("correct horse")
    db.session.add(account)
    db.session.commit()
    page.goto(f"{live_server}/login")
    page.get_by_label("Email").fill("lead@example.org")
    page.get_by_label("Password").fill("correct horse")
    page.get_by_role("button", name="Log in").click()
    return page


def fresh(model, ident):
    db.session.expire_all()
    return db.session.get(model, ident)


def test_admin_gives_series_another_mentor(live_server, logged_in) -> None:
    series = booked_series(sessions=1)
    ivy = make_person("ivy@example.org")
    db.session.add(
        Membership(
            program=series.program,
            person=ivy,
            role="mentor",
            offers=["literacy coaching"],
        )
    )
    db.session.commit()
    page = logged_in

    page.goto(f"{live_server}/")
    page.get_by_role("link", name=series.program.name).click()
    page.get_by_role("link", name=f"Review series {series.id}").click()
    page.get_by_label("Mentor", exact=True).select_option(label="Ivy (North)")
    page.get_by_role("button", name="Give the series to this mentor").click()

    assert "Ivy is now the mentor" in page.content()
    assert fresh(Series, series.id).mentor_id == ivy.id


def test_admin_moves_a_session_to_an_offered_time(live_server, logged_in) -> None:
    series = booked_series(sessions=1)
    session = series.sessions[0]
    wanted = other_times(session, datetime.now(UTC))[1].start
    page = logged_in

    page.goto(f"{live_server}/programs/{series.program.slug}/series/{series.id}")
    page.get_by_label("New time for session 1").select_option(wanted.isoformat())
    page.get_by_role("button", name="Move session 1").click()

    assert "Session 1 moved." in page.content()
    assert fresh(MentoringSession, session.id).start == wanted


def test_admin_rejects_a_series_with_a_note(live_server, logged_in) -> None:
    series = booked_series(sessions=1)
    page = logged_in

    page.goto(f"{live_server}/programs/{series.program.slug}/series/{series.id}")
    page.get_by_label("Why reject").fill("Mentor moves school in January")
    page.get_by_role("button", name="Reject this series").click()

    assert "Rejected series" in page.content()
    series = fresh(Series, series.id)
    assert series.status == "cancelled"
    assert "Mentor moves school" in series.match.request.unmatched_reason


def test_participant_asks_for_another_time(live_server, page) -> None:
    series = booked_series(sessions=1)
    approve([series], "admin")
    session = series.sessions[0]
    url = participant_links(series, series.mentee, session)["another_time"]

    page.goto(url)
    page.get_by_role("radio").first.check()
    page.get_by_role("button", name="Move the session").click()

    assert "is moved to" in page.content()
    moved = fresh(MentoringSession, session.id)
    assert moved.status == "rescheduled"
    assert moved.sequence == 1
    updates = db.session.scalars(
        db.select(OutboxMessage).filter(OutboxMessage.subject.like("Invitation:%"))
    ).all()
    assert len(updates) == 4


def test_participant_cancels_a_session(live_server, page) -> None:
    series = booked_series(sessions=2)
    approve([series], "admin")
    session = series.sessions[1]
    url = participant_links(series, series.mentor, session)["cancel"]

    page.goto(url)
    page.get_by_role("button", name="Cancel this session").click()

    assert "is cancelled" in page.content()
    assert fresh(MentoringSession, session.id).status == "cancelled"
    cancellations = db.session.scalars(
        db.select(OutboxMessage).filter_by(kind="cancellation")
    ).all()
    assert len(cancellations) == 2
