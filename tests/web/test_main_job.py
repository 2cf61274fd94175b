"""The whole job through the command line: load, import, match, approve,
run-due and feedback, on a small program whose right answer is known."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime, time, timedelta
from email import message_from_bytes, policy
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import Result
from flask import Flask

from web.extensions import db
from web.models import MentoringSession, Request, Series

PROGRAM = """
name = "Spring pilot"
slug = "pilot"
kind = "intervention"
topics = ["reading", "behaviour", "assessment", "robotics"]
sessions = 2
session_minutes = 60
window_start = 2027-03-01
window_end = 2027-03-26
min_days_between = 7
hours = "Mon-Fri 09:00-17:00"
buffer_minutes = 0
min_notice_hours = 24
site_rule = "any"
mentor_capacity = 2
approval = "required"
"""

# Mentor Maya takes one mentee for reading; Noor takes two, reading or
# behaviour. Greedily giving both reading requests to Noor would leave the
# behaviour request without a mentor: the optimum matches all three.
ROSTER = """email,name,role,site,title,timezone,offers,wants,capacity,hours,calendar
maya@example.org,Maya,mentor,North,,America/Chicago,reading,,1,,
noor@example.org,Noor,mentor,North,,America/Chicago,reading;behaviour,,,,noor.ics
otto@example.org,Otto,mentor,East,,Europe/Berlin,assessment,,,,
ada@example.org,Ada,mentee,North,,America/Chicago,,reading,,Mon-Fri 13:00-15:00,
bo@example.org,Bo,mentee,North,,America/Chicago,,reading,,,
cy@example.org,Cy,mentee,North,,America/Chicago,,behaviour,,,
dee@example.org,Dee,mentee,South,,America/New_York,,robotics,,,
eli@example.org,Eli,mentee,South,,America/New_York,,assessment,,,
"""

# Noor teaches every weekday morning 09:00-12:00 Chicago time.
NOOR_ICS = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Test//EN\r\n"
    "BEGIN:VEVENT\r\nUID:class@example.org\r\nDTSTAMP:20270101T000000Z\r\n"
    "DTSTART;TZID=America/Chicago:20270301T090000\r\n"
    "DTEND;TZID=America/Chicago:20270301T120000\r\n"
    "RRULE:FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR\r\nSUMMARY:Classes\r\n"
    "END:VEVENT\r\nEND:VCALENDAR\r\n"
)

# Each person's hours, written out by hand rather than parsed by Torace.
WEEKDAYS = range(5)
DEFAULT = (time(9), time(17))
HOURS = {
    "maya@example.org": ("America/Chicago", DEFAULT),
    "noor@example.org": ("America/Chicago", DEFAULT),
    "otto@example.org": ("Europe/Berlin", DEFAULT),
    "ada@example.org": ("America/Chicago", (time(13), time(15))),
    "bo@example.org": ("America/Chicago", DEFAULT),
    "cy@example.org": ("America/Chicago", DEFAULT),
    "dee@example.org": ("America/New_York", DEFAULT),
    "eli@example.org": ("America/New_York", DEFAULT),
}
NOW = "2027-02-20T12:00:00Z"


def noor_busy() -> list[tuple[datetime, datetime]]:
    chicago = ZoneInfo("America/Chicago")
    busy, day = [], date(2027, 3, 1)
    while day <= date(2027, 3, 31):
        if day.weekday() in WEEKDAYS:
            busy.append(
                (
                    datetime.combine(day, time(9), chicago).astimezone(UTC),
                    datetime.combine(day, time(12), chicago).astimezone(UTC),
                )
            )
        day += timedelta(days=1)
    return busy


def inside_hours(email: str, start: datetime, end: datetime) -> bool:
    zone, (opens, closes) = HOURS[email]
    local_start, local_end = (
        start.astimezone(ZoneInfo(zone)),
        end.astimezone(ZoneInfo(zone)),
    )
    return (
        local_start.date() == local_end.date()
        and local_start.weekday() in WEEKDAYS
        and opens <= local_start.time()
        and local_end.time() <= closes
    )


@pytest.fixture
def files(tmp_path: Path) -> Path:
    (tmp_path / "program.toml").write_text(PROGRAM)
    (tmp_path / "roster.csv").write_text(ROSTER)
    (tmp_path / "noor.ics").write_text(NOOR_ICS, newline="")
    return tmp_path


@pytest.fixture
def matched(torace, files: Path) -> Result:  # type: ignore[no-untyped-def]
    torace("program", "load", str(files / "program.toml"))
    torace("roster", "import", "pilot", str(files / "roster.csv"))
    return torace("match", "pilot", "--now", NOW)


def sessions() -> list[MentoringSession]:
    return db.session.scalars(db.select(MentoringSession)).all()


def test_match_matches_every_matchable_request(matched: Result) -> None:
    assert "requests: 5  matched: 4  unmatched: 1" in matched.output
    assert "dee@example.org (robotics)" in matched.output
    statuses = {
        r.mentee.email: r.status for r in db.session.scalars(db.select(Request))
    }
    assert statuses == {
        "ada@example.org": "matched",
        "bo@example.org": "matched",
        "cy@example.org": "matched",
        "dee@example.org": "unmatched",
        "eli@example.org": "matched",
    }


def test_no_mentor_is_above_capacity(matched: Result) -> None:
    capacity = {"maya@example.org": 1, "noor@example.org": 2, "otto@example.org": 2}
    loads: dict[str, int] = {}
    for series in db.session.scalars(db.select(Series)):
        loads[series.mentor.email] = loads.get(series.mentor.email, 0) + 1

    assert all(loads[email] <= capacity[email] for email in loads)


def test_sessions_inside_hours_and_free_time(matched: Result) -> None:
    busy = noor_busy()
    window_start = datetime(2027, 3, 1, tzinfo=UTC)
    for session in sessions():
        series = session.series
        for person in (series.mentor, series.mentee):
            assert inside_hours(person.email, session.start, session.end), (
                person.email,
                session.start,
            )
        if series.mentor.email == "noor@example.org":
            assert not any(s < session.end and session.start < e for s, e in busy)
        assert session.start >= window_start
        assert session.end - session.start == timedelta(minutes=60)


def test_series_keep_the_gap_and_people_never_overlap(matched: Result) -> None:
    for series in db.session.scalars(db.select(Series)):
        first, second = series.sessions
        zone = ZoneInfo(series.mentor.timezone)
        days = (
            second.start.astimezone(zone).date() - first.start.astimezone(zone).date()
        )
        assert days >= timedelta(days=7)
    by_person: dict[int, list[MentoringSession]] = {}
    for session in sessions():
        for person_id in (session.series.mentor_id, session.series.mentee_id):
            by_person.setdefault(person_id, []).append(session)
    for held in by_person.values():
        held.sort(key=lambda s: s.start)
        assert all(a.end <= b.start for a, b in zip(held, held[1:], strict=False))


def test_approve_run_due_and_feedback_end_to_end(  # type: ignore[no-untyped-def]
    matched: Result, torace, app: Flask
) -> None:
    torace("approve", "pilot", "--all")
    first = min(sessions(), key=lambda s: s.start)

    torace("run-due", "--now", NOW)
    mail_dir = app.config["TORACE"].resolved_mail_dir
    written = [
        message_from_bytes(p.read_bytes(), policy=policy.default)
        for p in mail_dir.glob("*.eml")
    ]
    invitations = [m for m in written if m["Subject"].startswith("Invitation")]
    assert len(invitations) == 2 * len(sessions())

    after = (first.end + timedelta(minutes=5)).isoformat()
    torace("run-due", "--now", after)
    requests = [
        message_from_bytes(p.read_bytes(), policy=policy.default)
        for p in mail_dir.glob("*.eml")
    ]
    feedback = [m for m in requests if "How was your mentoring" in m["Subject"]]
    assert len(feedback) == 2

    body = feedback[0].get_body(("plain",)).get_content()  # type: ignore[union-attr]
    rate = re.search(r"3 of 5: http://127\.0\.0\.1:5000(\S+)", body)
    assert rate is not None
    client = app.test_client()
    assert client.get(rate.group(1)).status_code == 200
    assert client.post(rate.group(1)).status_code == 200

    export = torace("feedback", "export", "pilot", "--format", "csv").output
    rows = list(csv.DictReader(io.StringIO(export)))
    assert [(r["rating"], r["person_email"]) for r in rows] == [
        ("3", feedback[0]["To"].addresses[0].addr_spec)
    ]


def test_rejected_pair_is_not_proposed_again(matched: Result, torace) -> None:  # type: ignore[no-untyped-def]
    from web.overrides import reject

    first = db.session.scalars(db.select(Series).order_by(Series.id)).first()
    assert first is not None
    pair = (first.mentee_id, first.mentor_id)
    reject(first, "admin:lead@example.org", "Same school team already")

    torace("match", "pilot", "--now", NOW)

    again = [
        s
        for s in db.session.scalars(db.select(Series))
        if (s.mentee_id, s.mentor_id) == pair and s.status != "cancelled"
    ]
    assert again == []


def test_unreadable_calendar_is_named_in_the_reason(torace, files: Path) -> None:  # type: ignore[no-untyped-def]
    # Nothing listens on port 9 of the loopback address.
    ada = "ada@example.org,Ada,mentee,North,,America/Chicago,,reading,,"
    ada += "Mon-Fri 13:00-15:00,"
    roster = ROSTER.replace(ada, ada + "http://127.0.0.1:9/ada.ics")
    (files / "roster.csv").write_text(roster)
    torace("program", "load", str(files / "program.toml"))
    torace("roster", "import", "pilot", str(files / "roster.csv"))

    result = torace("match", "pilot", "--now", NOW)

    ada = db.session.scalars(db.select(Request).join(Request.mentee)).all()
    reason = next(
        r.unmatched_reason for r in ada if r.mentee.email == "ada@example.org"
    )
    assert "Ada's calendar could not be read" in reason
    assert "ada@example.org (reading)" in result.output
