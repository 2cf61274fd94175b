"""A program, roster and public calendars written outside this project,
run through load, import, match (auto-approved), run-due and feedback.

The checks rebuild hours and busy time on their own: hours are written out
below by hand, and busy time is expanded straight from each file with
recurring_ical_events, without Torace's calendar reader.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from email import message_from_bytes, policy
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest
import recurring_ical_events
import x_wr_timezone
from click.testing import Result

from web.extensions import db
from web.models import Feedback, MentoringSession, OutboxMessage, Request, Series

DATA = Path(__file__).resolve().parent.parent / "data" / "external"
SLUG = "hcpl-skills-exchange-2027"
NOW = "2027-01-25T12:00:00Z"
WINDOW = (datetime(2027, 1, 31, tzinfo=UTC), datetime(2027, 3, 14, tzinfo=UTC))

MON_FRI = {0, 1, 2, 3, 4}
HOURS = {  # email: (zone, weekdays, opens, closes), from the roster by hand
    "rortiz@hcpl.example.org": ("America/Los_Angeles", MON_FRI, time(9), time(17)),
    "jpark@hcpl.example.org": ("America/Los_Angeles", MON_FRI, time(9), time(17)),
    "hvogel@hcpl.example.org": ("Europe/Berlin", {0, 1, 2, 3}, time(17), time(20)),
    "abrennan@hcpl.example.org": ("America/New_York", MON_FRI, time(9), time(17)),
    "treyes@hcpl.example.org": ("America/Los_Angeles", MON_FRI, time(9), time(17)),
    "dwhitaker@hcpl.example.org": ("America/Los_Angeles", MON_FRI, time(9), time(17)),
    "lmarchetti@hcpl.example.org": ("America/Los_Angeles", MON_FRI, time(9), time(17)),
    "gokafor@hcpl.example.org": ("America/Los_Angeles", MON_FRI, time(9), time(17)),
    "siverson@hcpl.example.org": ("America/Los_Angeles", MON_FRI, time(9), time(17)),
    "mlin@hcpl.example.org": ("America/Los_Angeles", MON_FRI, time(12), time(17)),
    "nhaddad@hcpl.example.org": ("America/Los_Angeles", MON_FRI, time(9), time(17)),
    "ofitch@hcpl.example.org": ("America/Los_Angeles", {1, 2, 3}, time(10), time(15)),
}
CAPACITY = {
    "rortiz@hcpl.example.org": 2,
    "jpark@hcpl.example.org": 2,
    "hvogel@hcpl.example.org": 1,
    "abrennan@hcpl.example.org": 2,
    "treyes@hcpl.example.org": 2,
}
CALENDAR = {}  # email: calendar file, read from the roster's last column
for line in (DATA / "roster.csv").read_text(encoding="utf-8-sig").splitlines()[1:]:
    CALENDAR[line.split(",")[0].lower()] = DATA / line.rsplit(",", 1)[1].strip()


def inside_hours(email: str, start: datetime, end: datetime) -> bool:
    zone, days, opens, closes = HOURS[email]
    local_start = start.astimezone(ZoneInfo(zone))
    local_end = end.astimezone(ZoneInfo(zone))
    return (
        local_start.date() == local_end.date()
        and local_start.weekday() in days
        and opens <= local_start.time()
        and local_end.time() <= closes
    )


def busy_from_file(path: Path, zone: str) -> list[tuple[datetime, datetime]]:
    """Opaque, not cancelled occurrences, expanded with recurring_ical_events."""
    calendar = x_wr_timezone.to_standard(
        icalendar.Calendar.from_ical(path.read_bytes())
    )
    owner = ZoneInfo(zone)
    busy = []
    for event in recurring_ical_events.of(calendar).between(*WINDOW):
        if str(event.get("STATUS", "")).upper() == "CANCELLED":
            continue
        if str(event.get("TRANSP", "")).upper() == "TRANSPARENT":
            continue
        start, end = (
            event["DTSTART"].dt,
            event["DTEND"].dt if "DTEND" in event else None,
        )
        if not isinstance(start, datetime):
            last = end if isinstance(end, date) else start + timedelta(days=1)
            busy.append(
                (
                    datetime.combine(start, time(0), owner).astimezone(UTC),
                    datetime.combine(last, time(0), owner).astimezone(UTC),
                )
            )
            continue
        end = end or start + event.get("DURATION").dt
        start = start if start.tzinfo else start.replace(tzinfo=owner)
        end = end if end.tzinfo else end.replace(tzinfo=owner)
        busy.append((start.astimezone(UTC), end.astimezone(UTC)))
    return busy


def rating_link(row: OutboxMessage, rating: int) -> str:
    message = message_from_bytes(row.raw, policy=policy.default)
    body = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    found = re.search(rf"{rating} of 5: http://127\.0\.0\.1:5000(\S+)", body)
    assert found is not None, body
    return found.group(1)


@pytest.fixture
def ran(torace) -> Result:  # type: ignore[no-untyped-def]
    torace("program", "load", str(DATA / "program.toml"))
    torace("roster", "import", SLUG, str(DATA / "roster.csv"))
    return torace("match", SLUG, "--now", NOW)


def test_every_matchable_request_is_matched(ran: Result) -> None:
    requests = db.session.scalars(db.select(Request)).all()
    unmatched = [r for r in requests if r.status != "matched"]

    assert len(requests) == 9
    # One mentor offers data literacy and takes one mentee: one of the two
    # data-literacy requests must wait; every other request can be placed.
    assert [r.topic.name for r in unmatched] == ["data literacy"]
    assert "approved automatically: 8 series" in ran.output


def test_sessions_respect_hours_busy_time_and_capacity(ran: Result) -> None:
    loads: dict[str, int] = {}
    for series in db.session.scalars(db.select(Series)):
        loads[series.mentor.email] = loads.get(series.mentor.email, 0) + 1
        for person in (series.mentor, series.mentee):
            busy = busy_from_file(CALENDAR[person.email], person.timezone)
            for session in series.sessions:
                assert inside_hours(person.email, session.start, session.end), (
                    person.email,
                    session.start,
                )
                clash = [b for b in busy if b[0] < session.end and session.start < b[1]]
                assert clash == [], (person.email, session.start, clash)

    assert all(loads[email] <= CAPACITY[email] for email in loads)


def test_run_due_sends_feedback_requests_that_record_answers(  # type: ignore[no-untyped-def]
    ran: Result, torace, app
) -> None:
    last = max(s.end for s in db.session.scalars(db.select(MentoringSession)))
    torace("run-due", "--now", NOW)
    torace("run-due", "--now", (last + timedelta(hours=1)).isoformat())

    requests = db.session.scalars(
        db.select(OutboxMessage).filter_by(kind="feedback-request")
    ).all()
    assert len(requests) == 2 * len(
        db.session.scalars(db.select(MentoringSession)).all()
    )
    rating_links = [rating_link(row, 3) for row in requests]
    client = app.test_client()
    for link in rating_links[:5]:
        assert client.post(link).status_code == 200

    assert len(db.session.scalars(db.select(Feedback)).all()) == 5
    export = torace("feedback", "export", SLUG, "--format", "csv").output
    assert len(export.strip().splitlines()) == 1 + 5
