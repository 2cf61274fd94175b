"""A mail scanner opens every link of every email: nothing may change."""

from __future__ import annotations

import importlib
import re
import time
from datetime import timedelta
from email import message_from_bytes, policy
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.web.factories import booked_series, make_person, make_program, make_series
from tests.web.snapshot import snapshot
from web import booking, due
from web.booking import approve, cancel_session, series_fingerprint
from web.cli_calls import mentor_pool, send_call_for_mentors, send_call_for_requests
from web.extensions import db
from web.links import MAX_AGE, link_url
from web.models import Admin, CalendarConnection, Membership, OutboxMessage, Topic

BASE = "http://127.0.0.1:5000"
URL = re.compile(re.escape(BASE) + r"/[^\s\"'<>]+")
ALWAYS = {
    "invitation",
    "cancellation",
    "reminder",
    "feedback-request",
    "fresh-link",
    "call-for-requests",
    "call-for-mentors",
}


def template_exists(app: Flask, name: str) -> bool:
    folder = Path(app.root_path) / (app.template_folder or "templates")
    return (folder / "email" / f"{name}.txt").exists()


def queue_fresh_link(client: FlaskClient, series, monkeypatch) -> None:
    signed_at = time.time() - MAX_AGE["confirm"].total_seconds() - 60
    monkeypatch.setattr("itsdangerous.timed.time.time", lambda: signed_at)
    url = link_url(
        "confirm",
        series.mentee_id,
        series.id,
        series_fingerprint(series, series.mentee),
    )
    monkeypatch.undo()
    client.post(urlsplit(url).path, data={"fresh": "1"})


def queue_optional_kinds(app: Flask, series) -> set[str]:
    """Queue the kinds whose code may not exist yet; return those queued."""
    queued = set()
    if hasattr(due, "send_nudges") and template_exists(app, "nudge"):
        due.send_nudges(series.approved_at + timedelta(hours=100))
        queued.add("nudge")
    try:
        sync = importlib.import_module("web.sync")
    except ImportError:
        sync = None
    if hasattr(sync, "mark_needs_reconnect") and template_exists(app, "reconnect"):
        connection = CalendarConnection(
            person=series.mentor, kind="google", url="primary"
        )
        db.session.add(connection)
        db.session.flush()
        sync.mark_needs_reconnect(connection, "invalid_grant")  # type: ignore[union-attr]
        db.session.commit()
        queued.add("reconnect")
    if hasattr(booking, "request_approval") and template_exists(
        app, "approval_request"
    ):
        admin = Admin(email="lead@example.org", organisation_wide=True)
        admin.set_password("correct horse")
        db.session.add(admin)
        pending = make_series(
            series.program,
            make_person("mentor2@example.org"),
            make_person("mentee2@example.org"),
            sessions=1,
        )
        booking.request_approval(pending.program)
        queued.add("approval-request")
    return queued


@pytest.fixture
def every_email(app: Flask, client: FlaskClient, monkeypatch) -> set[str]:
    """Queue one email of each kind; return the kinds expected."""
    series = booked_series(sessions=2)
    approve([series], "admin")
    expected = ALWAYS | queue_optional_kinds(app, series)
    first, second = series.sessions

    cancel_session(second, series.mentor)
    due.send_reminders(first.start - timedelta(hours=2))
    due.send_feedback_requests(first.end + timedelta(minutes=1))
    queue_fresh_link(client, series, monkeypatch)
    send_call_for_requests(series.program)

    one_off = make_program("urgent")
    one_off.kind = "one-off"
    one_off.topics.append(Topic(name="remote teaching"))
    db.session.add(Membership(program=one_off, person=series.mentor, role="both"))
    db.session.commit()
    send_call_for_mentors(one_off, mentor_pool("all"))

    app.config["LINK_RATE_LIMITS"] = {"address": (10**6, 60), "token": (10**6, 60)}
    app.extensions.pop("torace.link_limiter", None)
    return expected


def mailed_links() -> tuple[set[str], list[str]]:
    """The kinds in the outbox and every link in every decoded part and header."""
    kinds, links = set(), set()
    for row in db.session.scalars(db.select(OutboxMessage)):
        kinds.add(row.kind)
        message = message_from_bytes(row.raw, policy=policy.default)
        links.update(URL.findall(message.get("List-Unsubscribe", "")))
        for part in message.walk():
            if part.get_content_maintype() == "text":
                links.update(URL.findall(part.get_content()))
    return kinds, sorted(links)


def test_every_email_kind_was_built(every_email: set[str]) -> None:
    kinds, _ = mailed_links()

    assert every_email <= kinds


def test_mails_carry_each_participant_link_purpose(every_email: set[str]) -> None:
    _, links = mailed_links()
    purposes = {urlsplit(link).path.split("/")[2] for link in links if "/l/" in link}

    wanted = {
        "confirm",
        "decline",
        "cancel-session",
        "another-time",
        "feedback",
        "rate",
        "unsubscribe",
        "preferences",
        "my-mentoring",
        "request",
        "volunteer",
    }
    assert wanted <= purposes


def test_opening_every_link_changes_nothing(
    every_email: set[str], client: FlaskClient
) -> None:
    _, links = mailed_links()
    before = snapshot()
    codes = {}

    for link in links:
        parts = urlsplit(link)
        codes[link] = client.get(parts.path, query_string=parts.query).status_code

    assert snapshot() == before
    assert all(code < 500 for code in codes.values()), codes
    assert len(links) > 40
