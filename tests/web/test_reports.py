"""Program reports, checked against the rows each test creates.

The rows: mentor Ana (North) mentors Sam (South, teacher) and Lee (North,
teacher) on literacy coaching; mentor Bo (South) has no mentee. Kim
(North, principal) has an open request for classroom management and Jo
(East) withdrew one. Sam's series held session 1 (session 2 cancelled);
Lee's held both. Sam rated 5 and wants to keep meeting, Ana rated Sam's
session 4, Lee rated session 1 a 3.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.web.factories import make_person, make_program, make_series
from web.extensions import db
from web.models import (
    Admin,
    Feedback,
    FollowUp,
    Membership,
    Person,
    Program,
    Request,
    Topic,
)
from web.reports import program_report

ASKED_AT = datetime(2027, 2, 1, tzinfo=UTC)


def mentee(email: str, site: str, title: str) -> Person:
    person = make_person(email, site=site)
    person.title = title
    return person


def held(session) -> None:
    session.status = "completed"
    session.feedback_requested_at = ASKED_AT


@pytest.fixture
def program(app: Flask) -> Program:
    program = make_program()
    ana = make_person("ana@example.org", site="North")
    bo = make_person("bo@example.org", site="South")
    db.session.add(Membership(program=program, person=bo, role="mentor"))
    sam = mentee("sam@example.org", "South", "teacher")
    lee = mentee("lee@example.org", "North", "teacher")
    kim = mentee("kim@example.org", "North", "principal")
    jo = mentee("jo@example.org", "East", "teacher")

    first = make_series(program, ana, sam, sessions=2, status="completed")
    second = make_series(program, ana, lee, sessions=2, status="completed")
    # Added after the series: make_series asks for the first topic by name.
    classroom = Topic(name="classroom management")
    program.topics.append(classroom)
    held(first.sessions[0])
    first.sessions[1].status = "cancelled"
    first.status = "completed"
    for session in second.sessions:
        held(session)
    second.status = "completed"
    db.session.add_all(
        [
            Request(program=program, mentee=kim, topic=classroom, status="open"),
            Request(program=program, mentee=jo, topic=classroom, status="withdrawn"),
            Feedback(session=first.sessions[0], person=sam, rating=5),
            Feedback(session=first.sessions[0], person=ana, rating=4),
            Feedback(session=second.sessions[0], person=lee, rating=3),
            FollowUp(series=first, person=sam),
        ]
    )
    db.session.commit()
    return program


def as_dict(table) -> dict[str, tuple]:
    return {row[0]: row[1:] for row in table.rows}


def test_summary_counts(program: Program) -> None:
    summary = dict(program_report(program)["summary"].rows)

    assert summary["requests"] == 3
    assert summary["matched"] == 2
    assert summary["matched_share"] == pytest.approx(2 / 3, abs=1e-4)
    assert summary["pairs"] == 2
    assert summary["sessions_held"] == 3


def test_summary_feedback_response_rate(program: Program) -> None:
    summary = dict(program_report(program)["summary"].rows)

    assert summary["feedback_requests_sent"] == 6
    assert summary["feedback_answers"] == 3
    assert summary["response_rate"] == pytest.approx(0.5)
    assert summary["mean_rating"] == pytest.approx(4.0)
    assert summary["follow_up_wishes"] == 1


def test_summary_cross_site_share(program: Program) -> None:
    summary = dict(program_report(program)["summary"].rows)

    assert summary["cross_site_pairs"] == 1
    assert summary["cross_site_share"] == pytest.approx(0.5)


def test_rating_distribution(program: Program) -> None:
    ratings = dict(program_report(program)["ratings"].rows)

    assert ratings == {1: 0, 2: 0, 3: 1, 4: 1, 5: 1}


def test_by_topic(program: Program) -> None:
    topics = as_dict(program_report(program)["topics"])

    assert topics["literacy coaching"] == (2, 2, 1.0, 3, 6, 3, 0.5, 4.0)
    assert topics["classroom management"] == (1, 0, 0.0, 0, 0, 0, None, None)


def test_by_site_of_mentee(program: Program) -> None:
    sites = as_dict(program_report(program)["sites"])

    assert set(sites) == {"North", "South"}
    assert sites["North"][:3] == (2, 1, 0.5)
    assert sites["South"][:3] == (1, 1, 1.0)


def test_access_by_title(program: Program) -> None:
    titles = as_dict(program_report(program)["titles"])

    assert titles == {"principal": (1, 0, 0.0), "teacher": (2, 2, 1.0)}


def test_mentor_load_includes_idle_mentors(program: Program) -> None:
    mentors = as_dict(program_report(program)["mentors"])

    assert mentors["ana@example.org"][2:] == (2, 3, 2, 4.0)
    assert mentors["bo@example.org"][2:] == (0, 0, 0, None)


def test_follow_ups_listed(program: Program) -> None:
    rows = program_report(program)["follow-ups"].rows

    assert [(r[1], r[2], r[3], r[4]) for r in rows] == [
        ("sam@example.org", "mentee", "literacy coaching", "open")
    ]


@pytest.fixture
def admin_client(app: Flask, program: Program) -> FlaskClient:
    app.config["WTF_CSRF_ENABLED"] = False
    for email, wide in (("lead@example.org", True), ("pat@example.org", False)):
        account = Admin(email=email, organisation_wide=wide)
        account.set_password("correct horse")
        db.session.add(account)
    db.session.commit()
    client = app.test_client()
    client.post(
        "/login", data={"email": "lead@example.org", "password": "correct horse"}
    )
    return client


EXPECTED_COLUMNS = {
    "summary": ["metric", "value"],
    "topics": [
        "topic",
        "requests",
        "matched",
        "matched_share",
        "sessions_held",
        "feedback_requests_sent",
        "feedback_answers",
        "response_rate",
        "mean_rating",
    ],
    "sites": [
        "site",
        "requests",
        "matched",
        "matched_share",
        "sessions_held",
        "feedback_requests_sent",
        "feedback_answers",
        "response_rate",
        "mean_rating",
    ],
    "titles": ["title", "requests", "matched", "matched_share"],
    "mentors": [
        "mentor_email",
        "mentor_name",
        "site",
        "series",
        "sessions_held",
        "ratings_from_mentees",
        "mean_rating_from_mentees",
    ],
    "ratings": ["rating", "answers"],
    "follow-ups": ["series", "person_email", "role", "topic", "status", "created_at"],
}


@pytest.mark.parametrize("name", sorted(EXPECTED_COLUMNS))
def test_csv_export_has_the_header_row(admin_client: FlaskClient, name: str) -> None:
    response = admin_client.get(f"/programs/pilot/reports/{name}.csv")

    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert rows[0] == EXPECTED_COLUMNS[name]


def test_csv_ratings_rows(admin_client: FlaskClient) -> None:
    response = admin_client.get("/programs/pilot/reports/ratings.csv")

    reader = csv.DictReader(io.StringIO(response.get_data(as_text=True)))
    assert {row["rating"]: row["answers"] for row in reader} == {
        "1": "0",
        "2": "0",
        "3": "1",
        "4": "1",
        "5": "1",
    }


def test_csv_unknown_table_is_404(admin_client: FlaskClient) -> None:
    assert admin_client.get("/programs/pilot/reports/nope.csv").status_code == 404


def test_report_page_has_accessible_svg_charts(admin_client: FlaskClient) -> None:
    page = admin_client.get("/programs/pilot/reports").get_data(as_text=True)

    assert page.count("<svg") == 4
    assert "<title" in page
    assert 'role="img"' in page
    assert "Answers per rating" in page
    assert "ana@example.org" in page


def test_report_needs_login(app: Flask, program: Program) -> None:
    response = app.test_client().get("/programs/pilot/reports")

    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_program_admin_of_another_program_gets_404(
    admin_client: FlaskClient, app: Flask
) -> None:
    make_program("other")
    pat = db.session.scalars(db.select(Admin).filter_by(email="pat@example.org")).one()
    pat.programs = [
        db.session.scalars(db.select(Program).filter_by(slug="other")).one()
    ]
    db.session.commit()
    client = app.test_client()
    client.post(
        "/login", data={"email": "pat@example.org", "password": "correct horse"}
    )

    assert client.get("/programs/pilot/reports").status_code == 404
    assert client.get("/programs/pilot/reports/summary.csv").status_code == 404
    assert client.get("/programs/other/reports").status_code == 200
