"""A speed-mentoring event through the command line and its pages."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from flask import Flask
from flask.cli import ScriptInfo

from web.cli import main
from web.extensions import db
from web.models import Admin, OutboxMessage, Request, Series

EVENT = """
name = "Speed night"
slug = "speed"
kind = "speed"
topics = ["careers", "technology"]
speed_start = 2027-03-04T15:30:00-06:00
speed_round_minutes = 10
speed_rounds = 3
sessions = 1
session_minutes = 10
window_start = 2027-03-04
window_end = 2027-03-04
min_days_between = 0
hours = "Thu 15:00-17:00"
buffer_minutes = 0
min_notice_hours = 0
site_rule = "any"
mentor_capacity = 6
approval = "{approval}"
grid_minutes = 10
"""
HEADER = "email,name,role,site,title,timezone,offers,wants,capacity,hours,calendar"
ROSTER = [
    "m1@example.org,Mia,mentor,North,,America/Chicago,careers,,,,",
    "m2@example.org,Max,mentor,North,,America/Chicago,technology,,,,",
    "e1@example.org,Eve,mentee,North,,America/Chicago,,careers,,,",
    "e2@example.org,Eli,mentee,North,,America/New_York,,technology,,,",
    "e3@example.org,Eva,mentee,North,,America/Chicago,,careers;technology,,,",
]
FIRST_ROUND = datetime(2027, 3, 4, 21, 30, tzinfo=UTC)
NOW = "2027-03-01T12:00:00Z"


@pytest.fixture
def cli(app: Flask):  # type: ignore[no-untyped-def]
    runner = CliRunner()

    def run(*args: str, ok: bool = True) -> Result:
        result = runner.invoke(main, list(args), obj=ScriptInfo(create_app=lambda: app))
        if ok:
            assert result.exit_code == 0, result.output
        return result

    return run


@pytest.fixture
def load(cli, tmp_path: Path):  # type: ignore[no-untyped-def]
    def run(approval: str = "auto", text: str | None = None) -> None:
        (tmp_path / "speed.toml").write_text(text or EVENT.format(approval=approval))
        (tmp_path / "roster.csv").write_text("\n".join([HEADER, *ROSTER]) + "\n")
        cli("program", "load", str(tmp_path / "speed.toml"))
        cli("roster", "import", "speed", str(tmp_path / "roster.csv"))

    return run


def all_series() -> list[Series]:
    return list(db.session.scalars(db.select(Series).order_by(Series.id)))


def test_match_stores_each_meeting_as_one_session_series(load, cli) -> None:  # type: ignore[no-untyped-def]
    load()

    result = cli("match", "speed", "--now", NOW)

    series = all_series()
    # Two mentors, three mentees, three rounds: each mentee meets both
    # mentors, so six meetings over three rounds.
    assert len(series) == 6
    assert all(len(s.sessions) == 1 for s in series)
    pairs = [(s.mentor_id, s.mentee_id) for s in series]
    assert len(set(pairs)) == len(pairs)
    assert "unmatched: 0" in result.output


def test_meetings_fall_on_round_times(load, cli) -> None:  # type: ignore[no-untyped-def]
    load()

    cli("match", "speed", "--now", NOW)

    rounds = [FIRST_ROUND + timedelta(minutes=10 * k) for k in range(3)]
    for series in all_series():
        (session,) = series.sessions
        assert session.start in rounds
        assert session.end - session.start == timedelta(minutes=10)


def test_nobody_has_two_meetings_at_once(load, cli) -> None:  # type: ignore[no-untyped-def]
    load()

    cli("match", "speed", "--now", NOW)

    held = Counter()
    for series in all_series():
        start = series.sessions[0].start
        held[(series.mentor_id, start)] += 1
        held[(series.mentee_id, start)] += 1
    assert set(held.values()) == {1}


def test_auto_approval_invites_and_queues_schedules(load, cli) -> None:  # type: ignore[no-untyped-def]
    load()

    cli("match", "speed", "--now", NOW)

    assert {s.status for s in all_series()} == {"invited"}
    schedules = db.session.scalars(
        db.select(OutboxMessage).filter_by(kind="speed-schedule")
    ).all()
    assert sorted(m.recipient for m in schedules) == sorted(
        row.split(",")[0] for row in ROSTER
    )
    invitations = db.session.scalars(
        db.select(OutboxMessage).filter_by(kind="invitation")
    ).all()
    assert len(invitations) == 2 * 6


def test_requests_are_marked_matched(load, cli) -> None:  # type: ignore[no-untyped-def]
    load()

    cli("match", "speed", "--now", NOW)

    statuses = {r.status for r in db.session.scalars(db.select(Request))}
    assert statuses == {"matched"}


def schedule_mail(person: str) -> str:
    row = db.session.scalar(
        db.select(OutboxMessage).filter_by(kind="speed-schedule", recipient=person)
    )
    message = message_from_bytes(row.raw, policy=policy.default)
    return message.get_body(("plain",)).get_content()  # type: ignore[union-attr]


def test_schedule_mail_lists_rounds_in_own_zone(load, cli) -> None:  # type: ignore[no-untyped-def]
    load()

    cli("match", "speed", "--now", NOW)

    body = schedule_mail("e2@example.org")
    # 21:30 UTC is 16:30 in New York (EST, before the March change).
    assert re.search(r"Round \d, Thu 04 Mar 16:[345]0-16:[45]0 EST, table \d", body)
    assert "(mentor)" in body


def test_schedule_link_shows_personal_schedule(load, cli, app: Flask) -> None:  # type: ignore[no-untyped-def]
    load()
    cli("match", "speed", "--now", NOW)
    body = schedule_mail("m1@example.org")
    link = re.search(r"http://127\.0\.0\.1:5000(/l/speed-schedule/\S+)", body)
    assert link is not None

    page = app.test_client().get(link.group(1))

    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Your schedule: Speed night" in text
    assert text.count("(mentee)") == 3


def test_tampered_schedule_link_is_not_found(load, cli, app: Flask) -> None:  # type: ignore[no-untyped-def]
    load()
    cli("match", "speed", "--now", NOW)

    page = app.test_client().get("/l/speed-schedule/not-a-token")

    assert page.status_code == 404


def test_event_page_needs_login(load, cli, app: Flask) -> None:  # type: ignore[no-untyped-def]
    load()
    cli("match", "speed", "--now", NOW)

    page = app.test_client().get("/programs/speed/speed")

    assert page.status_code == 302
    assert "/login" in page.headers["Location"]


def login(app: Flask):  # type: ignore[no-untyped-def]
    app.config["WTF_CSRF_ENABLED"] = False
    admin = Admin(email="lead@example.org", organisation_wide=True)
    admin.set_password("a long password")
    db.session.add(admin)
    db.session.commit()
    client = app.test_client()
    response = client.post(
        "/login", data={"email": admin.email, "password": "a long password"}
    )
    assert response.status_code == 302
    return client


def test_event_page_shows_a_table_per_round(load, cli, app: Flask) -> None:  # type: ignore[no-untyped-def]
    load()
    cli("match", "speed", "--now", NOW)
    client = login(app)

    page = client.get("/programs/speed/speed")

    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert text.count("<table>") == 3
    assert "Round 1: Thu 04 Mar 21:30–21:40" in text
    assert "Mia" in text and "Eve" in text


def test_required_approval_waits_then_page_approves(load, cli, app: Flask) -> None:  # type: ignore[no-untyped-def]
    load(approval="required")
    cli("match", "speed", "--now", NOW)
    assert {s.status for s in all_series()} == {"pending-approval"}
    client = login(app)

    response = client.post("/programs/speed/speed/approve")

    assert response.status_code == 302
    assert {s.status for s in all_series()} == {"invited"}
    assert db.session.scalar(
        db.select(db.func.count(OutboxMessage.id)).filter_by(kind="speed-schedule")
    ) == len(ROSTER)


def test_approve_event_command_approves_pending_meetings(load, cli) -> None:  # type: ignore[no-untyped-def]
    load(approval="required")
    cli("match", "speed", "--now", NOW)

    result = cli("program", "approve-event", "speed", "--now", NOW)

    assert "approved 6 meetings" in result.output
    assert {s.status for s in all_series()} == {"invited"}


def test_second_match_is_refused(load, cli) -> None:  # type: ignore[no-untyped-def]
    load()
    cli("match", "speed", "--now", NOW)

    result = cli("match", "speed", "--now", NOW, ok=False)

    assert result.exit_code != 0
    assert "already planned" in result.output


def test_missing_speed_setting_is_rejected(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "speed.toml"
    path.write_text(EVENT.format(approval="auto").replace("speed_rounds = 3\n", ""))

    result = cli("program", "load", str(path), ok=False)

    assert "a speed program needs speed_rounds" in result.output


def test_speed_start_without_offset_is_rejected(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "speed.toml"
    text = EVENT.format(approval="auto").replace("15:30:00-06:00", "15:30:00")
    path.write_text(text)

    result = cli("program", "load", str(path), ok=False)

    assert "speed_start" in result.output
    assert "UTC offset" in result.output


def test_event_outside_window_is_rejected(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "speed.toml"
    text = EVENT.format(approval="auto").replace("2027-03-04T", "2027-03-05T")
    path.write_text(text)

    result = cli("program", "load", str(path), ok=False)

    assert "outside the window 2027-03-04 to 2027-03-04" in result.output


def test_zero_rounds_is_rejected(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "speed.toml"
    text = EVENT.format(approval="auto").replace("speed_rounds = 3", "speed_rounds = 0")
    path.write_text(text)

    result = cli("program", "load", str(path), ok=False)

    assert "speed_rounds = 0; use a whole number from 1 to 40" in result.output


def test_plain_approve_keeps_round_times_and_sends_schedules(load, cli) -> None:  # type: ignore[no-untyped-def]
    load(approval="required")
    cli("match", "speed", "--now", NOW)
    planned = {s.id: s.sessions[0].start for s in all_series()}

    cli("approve", "speed", "--all", "--now", NOW)

    db.session.expire_all()
    assert {s.id: s.sessions[0].start for s in all_series()} == planned
    assert {s.status for s in all_series()} == {"invited"}
    assert db.session.scalar(
        db.select(db.func.count(OutboxMessage.id)).filter_by(kind="speed-schedule")
    ) == len(ROSTER)
