"""Feedback through links: follow-up wishes and who may read comments."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.web.factories import booked_series, held
from web.booking import approve
from web.extensions import db
from web.links import link_url
from web.models import AuditEvent, FollowUp, Series


def feedback_path(series: Series, person_id: int) -> str:
    return urlsplit(link_url("feedback", person_id, series.sessions[0].id)).path


@pytest.fixture
def series(app: Flask) -> Series:
    series = booked_series(sessions=1)
    approve([series], "admin")
    return held(series)


def test_keep_meeting_yes_creates_one_follow_up(
    series: Series, client: FlaskClient
) -> None:
    url = feedback_path(series, series.mentee_id)

    client.post(url, data={"rating": "5", "keep_meeting": "yes"})
    client.post(url, data={"rating": "4", "keep_meeting": "yes"})

    wishes = db.session.scalars(db.select(FollowUp)).all()
    assert [(w.series_id, w.person_id, w.status) for w in wishes] == [
        (series.id, series.mentee_id, "open")
    ]


def test_keep_meeting_no_creates_no_follow_up(
    series: Series, client: FlaskClient
) -> None:
    client.post(
        feedback_path(series, series.mentee_id),
        data={"rating": "3", "keep_meeting": "no"},
    )

    assert db.session.scalars(db.select(FollowUp)).all() == []


def test_follow_up_is_audited(series: Series, client: FlaskClient) -> None:
    client.post(
        feedback_path(series, series.mentor_id),
        data={"rating": "5", "keep_meeting": "yes"},
    )

    actions = db.session.scalars(db.select(AuditEvent.action)).all()
    assert "followup.requested" in actions
    assert "link.feedback" in actions


def test_comment_hidden_from_the_other_participant_by_default(
    series: Series, client: FlaskClient
) -> None:
    client.post(
        feedback_path(series, series.mentee_id),
        data={"rating": "4", "comment": "Loved the role play"},
    )

    page = client.get(feedback_path(series, series.mentor_id))

    assert b"Loved the role play" not in page.data
    assert b"seen by the administrator only" in page.data


def test_comment_shown_to_the_other_when_program_allows(
    series: Series, client: FlaskClient
) -> None:
    series.program.options = {"comments_visible": True}
    db.session.commit()
    client.post(
        feedback_path(series, series.mentee_id),
        data={"rating": "4", "comment": "Loved the role play"},
    )

    page = client.get(feedback_path(series, series.mentor_id))

    assert b"Loved the role play" in page.data


def test_own_answer_is_filled_in_again(series: Series, client: FlaskClient) -> None:
    url = feedback_path(series, series.mentee_id)
    client.post(url, data={"rating": "2", "helped": "The checklist"})

    page = client.get(url)

    assert b'value="2" required checked' in page.data
    assert b"The checklist" in page.data
