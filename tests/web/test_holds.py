import pytest
from flask import Flask
from sqlalchemy.exc import IntegrityError

from tests.web.factories import make_person, make_program, make_series
from web.booking import cancel_session
from web.extensions import db
from web.holds import OverlapError
from web.models import BookedTime


def test_active_session_holds_time_for_both_people(app: Flask) -> None:
    program = make_program()
    series = make_series(
        program, make_person("m@example.org"), make_person("e@example.org"), sessions=2
    )

    holds = db.session.scalars(db.select(BookedTime)).all()

    assert len(holds) == 4
    assert {h.person_id for h in holds} == {series.mentor_id, series.mentee_id}


def test_overlapping_session_for_one_person_is_rejected(app: Flask) -> None:
    program = make_program()
    mentor = make_person("m@example.org")
    make_series(program, mentor, make_person("e1@example.org"), sessions=1)

    with pytest.raises((OverlapError, IntegrityError)):
        make_series(program, mentor, make_person("e2@example.org"), sessions=1)
    db.session.rollback()


def test_cancelled_session_releases_its_time(app: Flask) -> None:
    from web.booking import approve

    program = make_program()
    mentor = make_person("m@example.org")
    series = make_series(program, mentor, make_person("e1@example.org"), sessions=1)
    approve([series], "admin")
    cancel_session(series.sessions[0], series.mentee)

    make_series(program, mentor, make_person("e2@example.org"), sessions=1)

    assert len(db.session.scalars(db.select(BookedTime)).all()) == 2
