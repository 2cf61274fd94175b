"""``torace busy`` on all four kinds of source, and ``torace slots``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.calendar_sync.http_server import FeedServer, serve_folder
from tests.calendar_sync.servers import CalDAVServer, start_radicale, start_xandikos
from tests.calendar_sync.uploads import new_calendar, upload_fixture
from web.cli import main

CALENDARS = Path(__file__).resolve().parent.parent / "calendar_sync" / "calendars"
# A weekly one-hour series from Tue 6 Jan 2026 15:00 New York time: 20:00 UTC
# in January, 19:00 UTC once the United States is on summer time.
SERIES = "dst_weekly.ics"
JANUARY = [
    {"start": f"2026-01-{day:02d}T20:00:00Z", "end": f"2026-01-{day:02d}T21:00:00Z"}
    for day in (6, 13, 20, 27)
]


def busy(*args: str, env: dict[str, str] | None = None) -> list[dict[str, str]]:
    result = CliRunner().invoke(
        main,
        [
            "busy",
            *args,
            "--start",
            "2026-01-01T00:00:00Z",
            "--end",
            "2026-02-01T00:00:00Z",
            "--format",
            "json",
        ],
        env=env,
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def feeds() -> Iterator[FeedServer]:
    with serve_folder(CALENDARS) as server:
        yield server


@pytest.fixture(scope="module", params=["radicale", "xandikos"])
def caldav_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[CalDAVServer]:
    start = start_radicale if request.param == "radicale" else start_xandikos
    server = start(tmp_path_factory.mktemp(request.param))
    yield server
    server.stop()


def test_busy_reads_an_ics_file() -> None:
    assert busy(str(CALENDARS / SERIES)) == JANUARY


def test_busy_recognises_a_feed_url(feeds: FeedServer) -> None:
    assert busy(feeds.feed_url(SERIES)) == JANUARY


def test_busy_recognises_a_caldav_url(caldav_server: CalDAVServer) -> None:
    url = new_calendar(caldav_server, "cli")
    assert upload_fixture(caldav_server, url, CALENDARS / SERIES) == []

    found = busy(
        url,
        "--username",
        caldav_server.username,
        env={"TORACE_CALDAV_PASSWORD": caldav_server.password},
    )

    assert found == JANUARY


def test_busy_rejects_a_bad_zone() -> None:
    result = CliRunner().invoke(
        main,
        [
            "busy",
            str(CALENDARS / SERIES),
            "--start",
            "2026-01-01",
            "--end",
            "2026-02-01",
            "--timezone",
            "Mars/Base",
        ],
    )

    assert result.exit_code != 0
    assert "Mars/Base" in result.output


def test_slots_for_two_people_in_two_zones(tmp_path: Path) -> None:
    # Los Angeles 08:00-17:00 and Berlin 09:00-18:00 share only 15:00-16:00
    # UTC in July: a 45-minute session fits at 15:00 and 15:15.
    request = {
        "length_minutes": 45,
        "interval_minutes": 15,
        "from": "2026-07-06T00:00:00Z",
        "to": "2026-07-07T00:00:00Z",
        "participants": [
            {"timezone": "America/Los_Angeles", "hours": "Mon-Fri 08:00-17:00"},
            {"timezone": "Europe/Berlin", "hours": "Mon-Fri 09:00-18:00"},
        ],
    }
    path = tmp_path / "request.json"
    path.write_text(json.dumps(request))

    result = CliRunner().invoke(main, ["slots", str(path)])

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == [
        {"start": "2026-07-06T15:00:00Z", "end": "2026-07-06T15:45:00Z"},
        {"start": "2026-07-06T15:15:00Z", "end": "2026-07-06T16:00:00Z"},
    ]


def test_slots_reads_calendars_next_to_the_request(tmp_path: Path) -> None:
    (tmp_path / "busy.ics").write_bytes((CALENDARS / SERIES).read_bytes())
    request = {
        "length_minutes": 60,
        "from": "2026-01-06T19:00:00Z",
        "to": "2026-01-06T22:00:00Z",
        "participants": [{"timezone": "UTC", "calendars": ["busy.ics"]}],
    }
    path = tmp_path / "request.json"
    path.write_text(json.dumps(request))

    result = CliRunner().invoke(main, ["slots", str(path)])

    starts = [slot["start"] for slot in json.loads(result.stdout)]
    assert starts == ["2026-01-06T19:00:00Z", "2026-01-06T21:00:00Z"]


def test_sync_command_reads_each_calendar(torace, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from tests.web.factories import make_person
    from web.extensions import db
    from web.models import BusyBlock, CalendarConnection

    person = make_person("m@example.org")
    person.calendars.append(
        CalendarConnection(kind="ics-file", url=str(CALENDARS / SERIES))
    )
    db.session.commit()

    result = torace("sync", "--now", "2026-01-01T00:00:00Z")

    assert "calendars: 1  read: 1" in result.output
    assert db.session.scalars(db.select(BusyBlock)).all() != []


@pytest.mark.parametrize(
    ("request_body", "message"),
    [
        (
            {
                "length_minutes": 30,
                "from": "2027-01-01T00:00:00Z",
                "to": "2099-01-01T00:00:00Z",
                "participants": [{}],
            },
            "at most 366 days",
        ),
        (
            {
                "length_minutes": 30,
                "from": "2027-01-01T00:00:00Z",
                "to": "2027-01-02T00:00:00Z",
                "participants": [],
            },
            "non-empty list",
        ),
        (
            {
                "length_minutes": "thirty",
                "from": "2027-01-01T00:00:00Z",
                "to": "2027-01-02T00:00:00Z",
                "participants": [{}],
            },
            "'length_minutes'",
        ),
        (
            {
                "length_minutes": 30,
                "from": "2027-01-01T00:00:00Z",
                "to": "2027-01-02T00:00:00Z",
                "participants": [{"calendars": ["no.ics"]}],
            },
            "no.ics",
        ),
        (
            {
                "length_minutes": 30,
                "from": "2027-01-01T00:00:00Z",
                "to": "2027-01-02T00:00:00Z",
                "participants": [{"busy": [["x"]]}],
            },
            "[start, end]",
        ),
        ({}, "missing key(s) length_minutes"),
    ],
)
def test_bad_slot_request_gets_a_message(
    tmp_path: Path, request_body: dict[str, object], message: str
) -> None:
    path = tmp_path / "request.json"
    path.write_text(json.dumps(request_body))

    result = CliRunner().invoke(main, ["slots", str(path)])

    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output
