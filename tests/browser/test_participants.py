"""Mentors and mentees using their links in a real browser."""

from __future__ import annotations

import pytest

from tests.web.factories import booked_series, held, make_person, make_program
from web.booking import approve
from web.extensions import db
from web.links import link_url
from web.models import Feedback, Membership, Request, Topic

pytestmark = pytest.mark.browser


def test_mentor_saves_capacity_and_pauses(live_server, page) -> None:
    program = make_program()
    program.topics.append(Topic(name="classroom management"))
    mentor = make_person("mentor@example.org")
    membership = Membership(
        program=program, person=mentor, role="mentor", offers=["literacy coaching"]
    )
    db.session.add(membership)
    db.session.commit()

    page.goto(link_url("my-mentoring", mentor.id, mentor.id))
    page.get_by_label("classroom management").check()
    page.get_by_label("Mentees in this program").fill("2")
    page.get_by_role("button", name=f"Save {program.name}").click()
    page.get_by_role("button", name=f"Pause {program.name}").click()

    assert "(paused)" in page.content()
    db.session.expire_all()
    saved = db.session.get(Membership, membership.id)
    assert saved.offers == ["classroom management", "literacy coaching"]
    assert saved.capacity == 2
    assert saved.paused


def test_mentor_sees_the_hours_error(live_server, page) -> None:
    program = make_program()
    mentor = make_person("mentor@example.org")
    db.session.add(Membership(program=program, person=mentor, role="mentor"))
    db.session.commit()

    page.goto(link_url("my-mentoring", mentor.id, mentor.id))
    page.get_by_label("Hours for mentoring").fill("weekdays")
    page.get_by_role("button", name="Save hours").click()

    assert page.get_by_role("alert").is_visible()
    assert "weekdays" in page.get_by_role("alert").inner_text()


def test_mentee_asks_for_a_topic(live_server, page) -> None:
    program = make_program()
    mentee = make_person("mentee@example.org")
    db.session.add(Membership(program=program, person=mentee, role="mentee"))
    db.session.commit()

    page.goto(link_url("request", mentee.id, program.id))
    page.get_by_label("literacy coaching").check()
    page.get_by_label("Note for your mentor").fill("Phonics in year 2")
    page.get_by_role("button", name="Send my request").click()

    assert "your request is saved" in page.content()
    db.session.expire_all()
    request = db.session.scalars(db.select(Request)).one()
    assert (request.status, request.note) == ("open", "Phonics in year 2")


def test_one_click_rating_saves_after_the_button(live_server, page) -> None:
    series = booked_series(sessions=1)
    approve([series], "admin")
    held(series)
    url = link_url("rate", series.mentee_id, series.sessions[0].id, extra="4")

    page.goto(url)
    before = db.session.scalars(db.select(Feedback)).all()
    page.get_by_role("button", name="Save rating 4").click()

    assert before == []
    assert "your rating of 4 is saved" in page.content()
    db.session.expire_all()
    assert [f.rating for f in db.session.scalars(db.select(Feedback))] == [4]
