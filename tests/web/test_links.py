import re
import time
from email import message_from_bytes, policy
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.web.factories import booked_series, held
from tests.web.snapshot import snapshot
from web.booking import approve, participant_links, series_fingerprint
from web.extensions import db
from web.links import MAX_AGE, link_url
from web.models import Feedback, OutboxMessage, Series

LINK = re.compile(r"http://127\.0\.0\.1:5000(/l/[^\s\"<>]+)")


def path_of(url: str) -> str:
    return urlsplit(url).path


@pytest.fixture
def series(app: Flask) -> Series:
    series = booked_series(sessions=2)
    approve([series], "admin")
    return series


def mail_links() -> list[str]:
    rows = db.session.scalars(db.select(OutboxMessage)).all()
    found = set()
    for row in rows:
        message = message_from_bytes(row.raw, policy=policy.default)
        for part in message.walk():
            if part.get_content_maintype() == "text":
                found.update(LINK.findall(part.get_content()))
        for header in ("List-Unsubscribe",):
            found.update(LINK.findall(message.get(header, "")))
    return sorted(found)


def test_get_of_every_mailed_link_changes_nothing(
    series: Series, client: FlaskClient
) -> None:
    links = mail_links()
    assert any("/l/confirm/" in link for link in links)
    before = snapshot()

    for link in links:
        response = client.get(link)
        assert response.status_code == 200, link

    assert snapshot() == before


def test_confirm_link_post_confirms_for_that_person(
    series: Series, client: FlaskClient
) -> None:
    url = participant_links(series, series.mentee)["confirm"]

    response = client.post(path_of(url))

    assert response.status_code == 200
    assert b"your sessions are confirmed" in response.data
    db.session.refresh(series)
    assert series.mentee_confirmed
    assert not series.mentor_confirmed


def test_replayed_post_changes_nothing_more(
    series: Series, client: FlaskClient
) -> None:
    url = path_of(participant_links(series, series.mentee)["confirm"])
    client.post(url)
    before = snapshot()

    response = client.post(url)

    assert response.status_code == 200
    assert b"earlier state" in response.data
    assert snapshot() == before


def test_outdated_decline_link_cannot_undo_a_confirmation(
    series: Series, client: FlaskClient
) -> None:
    decline = path_of(participant_links(series, series.mentee)["decline"])
    client.post(path_of(participant_links(series, series.mentee)["confirm"]))

    client.post(decline)

    db.session.refresh(series)
    assert series.status == "invited"
    assert series.mentee_confirmed


@pytest.mark.parametrize(
    "mangle",
    [
        lambda token: token[:-2] + ("AA" if token[-2:] != "AA" else "BB"),
        lambda token: token[: len(token) // 2],
        lambda token: "not-a-token",
        lambda token: token.replace(".", "", 1),
    ],
)
def test_tampered_tokens_get_the_same_plain_page(
    series: Series, client: FlaskClient, mangle
) -> None:
    token = path_of(participant_links(series, series.mentee)["confirm"]).split("/")[-1]
    before = snapshot()

    response = client.post(f"/l/confirm/{mangle(token)}")

    assert response.status_code == 404
    assert b"This link is not valid" in response.data
    assert snapshot() == before


def test_token_for_another_purpose_is_rejected(
    series: Series, client: FlaskClient
) -> None:
    token = path_of(participant_links(series, series.mentee)["decline"]).split("/")[-1]

    response = client.post(f"/l/confirm/{token}")

    assert response.status_code == 404
    db.session.refresh(series)
    assert not series.mentee_confirmed


def test_expired_link_offers_a_fresh_one_to_its_own_person(
    series: Series, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    signed_at = time.time() - MAX_AGE["confirm"].total_seconds() - 60
    monkeypatch.setattr("itsdangerous.timed.time.time", lambda: signed_at)
    url = path_of(
        link_url(
            "confirm",
            series.mentee_id,
            series.id,
            series_fingerprint(series, series.mentee),
        )
    )
    monkeypatch.undo()

    page = client.get(url)
    sent = client.post(url, data={"fresh": "1"})

    assert page.status_code == 410
    assert b"Send me a fresh link" in page.data
    assert sent.status_code == 410
    fresh = db.session.scalars(
        db.select(OutboxMessage).filter_by(kind="fresh-link")
    ).all()
    assert [m.recipient for m in fresh] == ["mentee@example.org"]
    assert not db.session.get(Series, series.id).mentee_confirmed


def test_link_signed_with_previous_key_still_works(
    series: Series, client: FlaskClient, app: Flask
) -> None:
    url = path_of(participant_links(series, series.mentee)["confirm"])
    settings = app.config["TORACE"]
    rotated = type(settings)(
        **{**settings.__dict__, "secret_keys": (*settings.secret_keys, "new-key")}
    )
    app.config["TORACE"] = rotated

    response = client.post(url)

    assert b"your sessions are confirmed" in response.data


def test_rating_link_records_once_and_feedback_form_updates(
    series: Series, client: FlaskClient
) -> None:
    session = held(series).sessions[0]
    rate = path_of(link_url("rate", series.mentee_id, session.id, extra="4"))
    form = path_of(link_url("feedback", series.mentee_id, session.id))

    client.post(rate)
    client.post(rate)
    client.post(
        form, data={"rating": "2", "comment": "Too short", "keep_meeting": "yes"}
    )

    answers = db.session.scalars(db.select(Feedback)).all()
    assert len(answers) == 1
    assert (answers[0].rating, answers[0].comment, answers[0].keep_meeting) == (
        2,
        "Too short",
        True,
    )


def test_one_click_unsubscribe_post_without_cookies(series: Series, app: Flask) -> None:
    url = path_of(link_url("unsubscribe", series.mentee_id, series.mentee_id))
    fresh_client = app.test_client(use_cookies=False)

    response = fresh_client.post(url, data={"List-Unsubscribe": "One-Click"})

    assert response.status_code == 200
    db.session.refresh(series.mentee)
    assert series.mentee.unsubscribed


def test_second_person_confirms_after_the_first(
    series: Series, client: FlaskClient
) -> None:
    mentee_link = path_of(participant_links(series, series.mentee)["confirm"])
    mentor_link = path_of(participant_links(series, series.mentor)["confirm"])

    client.post(mentee_link)
    response = client.post(mentor_link)

    assert b"your sessions are confirmed" in response.data
    db.session.refresh(series)
    assert series.status == "confirmed"


def test_cancel_link_still_works_after_confirmation(
    series: Series, client: FlaskClient
) -> None:
    session = series.sessions[0]
    cancel = path_of(participant_links(series, series.mentee, session)["cancel"])
    for person in (series.mentee, series.mentor):
        client.post(path_of(participant_links(series, person)["confirm"]))

    client.post(cancel)

    db.session.refresh(session)
    assert session.status == "cancelled"


def test_feedback_before_the_session_is_rejected(
    series: Series, client: FlaskClient
) -> None:
    rate = path_of(link_url("rate", series.mentee_id, series.sessions[0].id, extra="4"))

    response = client.post(rate)

    assert response.status_code == 422
    assert b"once the session has taken place" in response.data
    assert db.session.scalars(db.select(Feedback)).all() == []


def test_link_pages_cannot_be_framed_or_leak_referrers(
    series: Series, client: FlaskClient
) -> None:
    response = client.get(path_of(participant_links(series, series.mentee)["confirm"]))

    assert response.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["Referrer-Policy"] == "no-referrer"
