"""Why a request stays unmatched, as stored and printed after torace match."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from flask import Flask
from flask.cli import ScriptInfo

from web.cli import main
from web.extensions import db
from web.models import Membership, Person, Request

PROGRAM = """
name = "Reasons"
slug = "reasons"
kind = "intervention"
topics = ["reading", "robotics"]
sessions = 2
session_minutes = 60
window_start = 2027-03-01
window_end = 2027-03-26
min_days_between = 7
hours = "Mon-Fri 09:00-17:00"
buffer_minutes = 0
min_notice_hours = 24
site_rule = "{site_rule}"
mentor_capacity = 1
approval = "required"
"""
HEADER = "email,name,role,site,title,timezone,offers,wants,capacity,hours,calendar"
NOW = "2027-02-20T12:00:00Z"


@pytest.fixture
def match(app: Flask, tmp_path: Path):  # type: ignore[no-untyped-def]
    """Load the program and a roster, run torace match, return its output."""
    runner = CliRunner()

    def invoke(*args: str) -> Result:
        result = runner.invoke(main, list(args), obj=ScriptInfo(create_app=lambda: app))
        assert result.exit_code == 0, result.output
        return result

    def run(rows: list[str], site_rule: str = "any", before=None) -> str:  # type: ignore[no-untyped-def]
        (tmp_path / "p.toml").write_text(PROGRAM.format(site_rule=site_rule))
        (tmp_path / "r.csv").write_text("\n".join([HEADER, *rows]) + "\n")
        invoke("program", "load", str(tmp_path / "p.toml"))
        invoke("roster", "import", "reasons", str(tmp_path / "r.csv"))
        if before is not None:
            before()
        return invoke("match", "reasons", "--now", NOW).output

    return run


def reason_of(email: str) -> str:
    request = db.session.scalar(
        db.select(Request)
        .join(Person, Request.mentee_id == Person.id)
        .filter(Person.email == email)
    )
    assert request is not None
    assert request.status == "unmatched"
    return request.unmatched_reason


def test_no_mentor_for_topic(match) -> None:  # type: ignore[no-untyped-def]
    output = match(["ann@example.org,Ann,mentee,North,,UTC,,robotics,,,"])

    reason = reason_of("ann@example.org")
    assert "No mentor offers the topic 'robotics'" in reason
    assert "recruit a mentor" in reason
    assert reason in output


def test_site_rule(match) -> None:  # type: ignore[no-untyped-def]
    output = match(
        [
            "m@example.org,M,mentor,South,,UTC,reading,,,,",
            "ann@example.org,Ann,mentee,North,,UTC,,reading,,,",
        ],
        site_rule="same",
    )

    reason = reason_of("ann@example.org")
    assert "none at a site the site rule 'same' allows for site North" in reason
    assert "change the site rule" in reason
    assert reason in output


def test_excluded_same_person(match) -> None:  # type: ignore[no-untyped-def]
    output = match(["both@example.org,Both,both,North,,UTC,reading,reading,,,"])

    reason = reason_of("both@example.org")
    assert "excluded for this mentee (the same person" in reason
    assert reason in output


def test_mentors_full(match) -> None:  # type: ignore[no-untyped-def]
    output = match(
        [
            "m@example.org,M,mentor,North,,UTC,reading,,,,",
            "ann@example.org,Ann,mentee,North,,UTC,,reading,,,",
            "bob@example.org,Bob,mentee,North,,UTC,,reading,,,",
        ]
    )

    reason = reason_of("bob@example.org")
    assert "at capacity; raise a mentor's capacity" in reason
    assert reason in output


def test_no_common_time(match) -> None:  # type: ignore[no-untyped-def]
    # Mornings in UTC against afternoons in UTC never overlap.
    output = match(
        [
            "m@example.org,M,mentor,North,,UTC,reading,,,Mon-Fri 08:00-10:00,",
            "ann@example.org,Ann,mentee,North,,UTC,,reading,,Mon-Fri 13:00-15:00,",
        ]
    )

    reason = reason_of("ann@example.org")
    assert "shares free time for 2 session(s) of 60 minutes 7 days apart" in reason
    assert "widen the window" in reason
    assert reason in output


def test_monthly_capacity(match) -> None:  # type: ignore[no-untyped-def]
    def limit() -> None:
        membership = db.session.scalar(
            db.select(Membership).join(Person).filter(Person.email == "m@example.org")
        )
        membership.monthly_capacity = 1
        db.session.commit()

    output = match(
        [
            "m@example.org,M,mentor,North,,UTC,reading,,,,",
            "ann@example.org,Ann,mentee,North,,UTC,,reading,,,",
        ],
        before=limit,
    )

    reason = reason_of("ann@example.org")
    assert "M may hold 1 session(s) a month and March 2027 is full" in reason
    assert reason in output


def test_matched_request_clears_old_reason(match, app: Flask) -> None:  # type: ignore[no-untyped-def]
    match(["ann@example.org,Ann,mentee,North,,UTC,,reading,,,"])
    assert "No mentor offers" in reason_of("ann@example.org")

    output = match(
        [
            "m@example.org,M,mentor,North,,UTC,reading,,,,",
            "ann@example.org,Ann,mentee,North,,UTC,,reading,,,",
        ]
    )

    request = db.session.scalar(db.select(Request))
    assert "matched: 1" in output
    assert request.status == "matched"
    assert request.unmatched_reason == ""
