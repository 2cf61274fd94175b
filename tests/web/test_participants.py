"""The mentor's self-service page, mentee requests, calls and volunteering."""

from __future__ import annotations

from datetime import date
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.web.factories import make_person, make_program
from tests.web.snapshot import snapshot
from web.cli_calls import (
    PoolError,
    mentor_pool,
    send_call_for_mentors,
    send_call_for_requests,
)
from web.extensions import db
from web.links import link_url
from web.models import (
    AuditEvent,
    DateOverride,
    Membership,
    OutboxMessage,
    Person,
    Program,
    Request,
    Topic,
)


def path_of(url: str) -> str:
    return urlsplit(url).path


@pytest.fixture
def program(app: Flask) -> Program:
    program = make_program()
    program.topics.append(Topic(name="classroom management"))
    db.session.commit()
    return program


@pytest.fixture
def mentor(program: Program) -> Person:
    person = make_person("mentor@example.org")
    db.session.add(
        Membership(
            program=program, person=person, role="mentor", offers=["literacy coaching"]
        )
    )
    db.session.commit()
    return person


@pytest.fixture
def mentee(program: Program) -> Person:
    person = make_person("mentee@example.org", site="South")
    db.session.add(Membership(program=program, person=person, role="mentee"))
    db.session.commit()
    return person


def page_url(person: Person) -> str:
    return path_of(link_url("my-mentoring", person.id, person.id))


def membership_of(person: Person, program: Program) -> Membership:
    return db.session.scalars(
        db.select(Membership).filter_by(person_id=person.id, program_id=program.id)
    ).one()


def test_mentoring_page_lists_program_topics(
    mentor: Person, client: FlaskClient
) -> None:
    response = client.get(page_url(mentor))

    assert response.status_code == 200
    assert b"classroom management" in response.data
    assert b"literacy coaching" in response.data


def test_mentoring_offers_and_capacity_are_saved(
    mentor: Person, program: Program, client: FlaskClient
) -> None:
    membership = membership_of(mentor, program)

    response = client.post(
        page_url(mentor),
        data={
            "section": "program",
            "membership": str(membership.id),
            "offers": ["classroom management", "literacy coaching"],
            "capacity": "2",
            "monthly_capacity": "4",
        },
    )

    assert response.status_code == 200
    db.session.refresh(membership)
    assert membership.offers == ["classroom management", "literacy coaching"]
    assert membership.capacity == 2
    assert membership.monthly_capacity == 4


def test_mentoring_change_is_audited_with_before_and_after(
    mentor: Person, program: Program, client: FlaskClient
) -> None:
    membership = membership_of(mentor, program)

    client.post(
        page_url(mentor),
        data={"section": "program", "membership": str(membership.id), "capacity": "1"},
    )

    event = db.session.scalars(
        db.select(AuditEvent).filter_by(action="mentoring.program")
    ).one()
    assert event.actor == "link:mentor@example.org"
    assert event.detail["before"]["capacity"] is None
    assert event.detail["after"]["capacity"] == 1


def test_unknown_topic_is_rejected_and_nothing_stored(
    mentor: Person, program: Program, client: FlaskClient
) -> None:
    membership = membership_of(mentor, program)
    before = snapshot()

    response = client.post(
        page_url(mentor),
        data={
            "section": "program",
            "membership": str(membership.id),
            "offers": ["knitting"],
            "capacity": "2",
        },
    )

    assert response.status_code == 422
    assert b"&#39;knitting&#39; is not a topic" in response.data
    assert snapshot() == before


def test_bad_capacity_names_the_value(
    mentor: Person, program: Program, client: FlaskClient
) -> None:
    membership = membership_of(mentor, program)
    before = snapshot()

    response = client.post(
        page_url(mentor),
        data={"section": "program", "membership": str(membership.id), "capacity": "-3"},
    )

    assert response.status_code == 422
    assert b"&#39;-3&#39; is not a whole number" in response.data
    assert snapshot() == before


def test_membership_of_someone_else_is_rejected(
    mentor: Person, program: Program, client: FlaskClient
) -> None:
    other = make_person("other@example.org")
    theirs = Membership(program=program, person=other, role="mentor", offers=[])
    db.session.add(theirs)
    db.session.commit()
    before = snapshot()

    response = client.post(
        page_url(mentor),
        data={"section": "program", "membership": str(theirs.id), "capacity": "9"},
    )

    assert response.status_code == 422
    assert snapshot() == before


def test_weekly_hours_are_validated_with_the_parser_message(
    mentor: Person, client: FlaskClient
) -> None:
    before = snapshot()

    response = client.post(
        page_url(mentor), data={"section": "hours", "hours": "Mon-Fri 9-5"}
    )

    assert response.status_code == 422
    assert b"Mon-Fri 9-5" in response.data
    assert snapshot() == before


def test_weekly_hours_are_saved(mentor: Person, client: FlaskClient) -> None:
    client.post(
        page_url(mentor),
        data={"section": "hours", "hours": "Mon-Thu 07:30-15:30;  Fri 08:00-12:00"},
    )

    db.session.refresh(mentor)
    assert mentor.hours == "Mon-Thu 07:30-15:30; Fri 08:00-12:00"


def test_date_override_for_leave_is_stored_empty(
    mentor: Person, client: FlaskClient
) -> None:
    client.post(
        page_url(mentor),
        data={"section": "override", "day": "2027-01-18", "note": "Holiday"},
    )

    override = db.session.scalars(db.select(DateOverride)).one()
    assert (override.person_id, override.day, override.hours, override.note) == (
        mentor.id,
        date(2027, 1, 18),
        "",
        "Holiday",
    )


def test_date_override_with_bad_hours_stores_nothing(
    mentor: Person, client: FlaskClient
) -> None:
    response = client.post(
        page_url(mentor),
        data={"section": "override", "day": "2027-01-18", "day_hours": "9-12"},
    )

    assert response.status_code == 422
    assert db.session.scalars(db.select(DateOverride)).all() == []


def test_date_override_with_bad_date_names_it(
    mentor: Person, client: FlaskClient
) -> None:
    response = client.post(
        page_url(mentor), data={"section": "override", "day": "18/01/2027"}
    )

    assert response.status_code == 422
    assert b"18/01/2027" in response.data


def test_date_override_can_be_removed(mentor: Person, client: FlaskClient) -> None:
    override = DateOverride(person_id=mentor.id, day=date(2027, 1, 19), hours="")
    db.session.add(override)
    db.session.commit()

    client.post(
        page_url(mentor),
        data={"section": "override-remove", "override": str(override.id)},
    )

    assert db.session.scalars(db.select(DateOverride)).all() == []


def test_pause_and_resume_one_program(
    mentor: Person, program: Program, client: FlaskClient
) -> None:
    membership = membership_of(mentor, program)
    data = {"section": "pause", "membership": str(membership.id)}

    client.post(page_url(mentor), data={**data, "paused": "1"})
    db.session.refresh(membership)
    paused = membership.paused
    client.post(page_url(mentor), data={**data, "paused": "0"})
    db.session.refresh(membership)

    assert paused is True
    assert membership.paused is False
    actions = db.session.scalars(
        db.select(AuditEvent.action).filter(AuditEvent.action.like("mentoring.%"))
    ).all()
    assert actions == ["mentoring.paused", "mentoring.resumed"]


def test_mentoring_page_of_a_mentee_link_is_refused(
    mentor: Person, mentee: Person, client: FlaskClient
) -> None:
    url = path_of(link_url("my-mentoring", mentee.id, mentor.id))

    response = client.get(url)

    assert response.status_code == 404


def request_url(mentee: Person, program: Program) -> str:
    return path_of(link_url("request", mentee.id, program.id))


def test_mentee_request_creates_an_open_request(
    mentee: Person, program: Program, client: FlaskClient
) -> None:
    response = client.post(
        request_url(mentee, program),
        data={
            "topic": "classroom management",
            "note": "Year 9 class",
            "hours": "Mon-Fri 13:00-16:00",
        },
    )

    assert response.status_code == 200
    request = db.session.scalars(db.select(Request)).one()
    assert (request.topic.name, request.status, request.note) == (
        "classroom management",
        "open",
        "Year 9 class",
    )
    db.session.refresh(mentee)
    assert mentee.hours == "Mon-Fri 13:00-16:00"


def test_mentee_request_twice_creates_one_row(
    mentee: Person, program: Program, client: FlaskClient
) -> None:
    url = request_url(mentee, program)

    client.post(url, data={"topic": "literacy coaching"})
    second = client.post(url, data={"topic": "literacy coaching"})

    assert b"Nothing changed" in second.data
    assert len(db.session.scalars(db.select(Request)).all()) == 1


def test_two_topics_rejected_outside_development_plans(
    mentee: Person, program: Program, client: FlaskClient
) -> None:
    response = client.post(
        request_url(mentee, program),
        data={"topic": ["literacy coaching", "classroom management"]},
    )

    assert response.status_code == 422
    assert db.session.scalars(db.select(Request)).all() == []


def test_development_plan_takes_several_topics(
    mentee: Person, program: Program, client: FlaskClient
) -> None:
    program.kind = "development-plan"
    db.session.commit()

    client.post(
        request_url(mentee, program),
        data={"topic": ["literacy coaching", "classroom management"]},
    )

    topics = db.session.scalars(
        db.select(Topic.name).join(Request, Request.topic_id == Topic.id)
    ).all()
    assert sorted(topics) == ["classroom management", "literacy coaching"]


def test_request_with_bad_hours_stores_nothing(
    mentee: Person, program: Program, client: FlaskClient
) -> None:
    before = snapshot()

    response = client.post(
        request_url(mentee, program),
        data={"topic": "literacy coaching", "hours": "whenever"},
    )

    assert response.status_code == 422
    assert snapshot() == before


def test_request_link_of_a_non_member_is_refused(
    program: Program, client: FlaskClient
) -> None:
    stranger = make_person("stranger@example.org")
    db.session.commit()

    response = client.get(request_url(stranger, program))

    assert response.status_code == 404


def test_call_for_requests_goes_to_every_mentee_once(
    mentee: Person, mentor: Person, program: Program
) -> None:
    second = make_person("second@example.org")
    db.session.add(Membership(program=program, person=second, role="both"))
    db.session.commit()

    first = send_call_for_requests(program)
    again = send_call_for_requests(program)

    assert first == 2
    assert again == 0
    recipients = db.session.scalars(
        db.select(OutboxMessage.recipient).filter_by(kind="call-for-requests")
    ).all()
    assert sorted(recipients) == ["mentee@example.org", "second@example.org"]


@pytest.fixture
def one_off(app: Flask) -> Program:
    program = make_program("urgent")
    program.kind = "one-off"
    program.topics.append(Topic(name="remote teaching"))
    db.session.commit()
    return program


def test_mentor_pool_all_is_every_mentor(mentor: Person, mentee: Person) -> None:
    assert [p.email for p in mentor_pool("all")] == ["mentor@example.org"]


def test_mentor_pool_by_site_matches_case_insensitively(
    mentor: Person, program: Program
) -> None:
    south = make_person("south@example.org", site="South")
    db.session.add(Membership(program=program, person=south, role="mentor"))
    db.session.commit()

    assert [p.email for p in mentor_pool("south")] == ["south@example.org"]


def test_mentor_pool_unknown_names_the_value(mentor: Person) -> None:
    with pytest.raises(PoolError, match="'Atlantis'"):
        mentor_pool("Atlantis")


def test_call_for_mentors_rejects_other_program_kinds(
    mentor: Person, program: Program
) -> None:
    with pytest.raises(PoolError, match="one-off"):
        send_call_for_mentors(program, [mentor])


def test_volunteer_link_makes_a_mentor_for_that_topic(
    mentor: Person, one_off: Program, client: FlaskClient
) -> None:
    topic = one_off.topic_named("remote teaching")
    assert topic is not None
    url = path_of(link_url("volunteer", mentor.id, topic.id))

    page = client.get(url)
    client.post(url)
    replay = client.post(url)

    assert b"Volunteer for remote teaching" in page.data
    assert b"Nothing changed" in replay.data
    membership = membership_of(mentor, one_off)
    assert (membership.role, membership.offers) == ("mentor", ["remote teaching"])


def test_volunteer_mentee_becomes_both(
    mentee: Person, program: Program, client: FlaskClient
) -> None:
    topic = program.topic_named("classroom management")
    assert topic is not None

    client.post(path_of(link_url("volunteer", mentee.id, topic.id)))

    membership = membership_of(mentee, program)
    assert (membership.role, membership.offers) == ("both", ["classroom management"])


def test_call_for_mentors_mail_carries_one_link_per_topic(
    mentor: Person, one_off: Program
) -> None:
    send_call_for_mentors(one_off, mentor_pool("all"))

    message = db.session.scalars(
        db.select(OutboxMessage).filter_by(kind="call-for-mentors")
    ).one()
    assert message.raw.count(b"/l/volunteer/") >= 2 * len(one_off.topics)


def test_preferences_turn_calls_off_and_on(mentee: Person, client: FlaskClient) -> None:
    url = path_of(link_url("preferences", mentee.id, mentee.id))

    client.post(url, data={"mail": "essential"})
    db.session.refresh(mentee)
    off = mentee.unsubscribed
    client.post(url, data={"mail": "all"})
    db.session.refresh(mentee)

    assert off is True
    assert mentee.unsubscribed is False
