from pathlib import Path

import pytest
from flask import Flask

from tests.web.test_programs import GOOD
from web.extensions import db
from web.models import CalendarConnection, Membership, Person, Program, Request
from web.programs import load_program_file
from web.roster import RosterError, import_roster

HEADER = "email,name,role,site,title,timezone,offers,wants,capacity,hours,calendar\n"


@pytest.fixture
def program(app: Flask, tmp_path: Path) -> Program:
    path = tmp_path / "program.toml"
    path.write_text(GOOD)
    return load_program_file(path)


def write(tmp_path: Path, rows: str) -> Path:
    (tmp_path / "cal.ics").write_text("BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n")
    path = tmp_path / "roster.csv"
    path.write_text(HEADER + rows)
    return path


def test_roster_creates_people_requests_and_calendars(
    program: Program, tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        (
            "ana@example.org,Ana,mentor,North,Teacher,America/Chicago,"
            "classroom management,,2,,cal.ics\n"
            "ben@example.org,Ben,mentee,South,Teacher,America/New_York,,"
            "social-emotional learning;classroom management,,Mon-Fri 09:00-12:00,\n"
        ),
    )

    summary = import_roster(program, path)

    assert (summary.created, summary.requests, summary.calendars) == (2, 2, 1)
    ben = db.session.scalar(db.select(Person).filter_by(email="ben@example.org"))
    assert ben.hours == "Mon-Fri 09:00-12:00"
    wants = db.session.scalars(db.select(Request).filter_by(mentee_id=ben.id)).all()
    assert sorted(r.topic.name for r in wants) == [
        "classroom management",
        "social-emotional learning",
    ]
    connection = db.session.scalar(db.select(CalendarConnection))
    assert connection.url == str((tmp_path / "cal.ics").resolve())


def test_every_bad_row_is_reported_and_nothing_imported(
    program: Program, tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        (
            "ana@example.org,Ana,mentor,North,,America/Chicago,"
            "classroom management,,,,\n"
            "not-an-email,Ben,mentee,South,,America/New_York,,"
            "classroom management,,,\n"
            "cy@example.org,Cy,mentee,South,,Mars/Olympus,,knitting,,,\n"
            "di@example.org,Di,mentee,South,,UTC,,classroom management,,9-5,\n"
        ),
    )

    with pytest.raises(RosterError) as error:
        import_roster(program, path)

    problems = error.value.problems
    assert any(p.startswith("line 3, column email: 'not-an-email'") for p in problems)
    assert any(
        p.startswith("line 4, column timezone: 'Mars/Olympus'") for p in problems
    )
    topic = next(p for p in problems if p.startswith("line 4, column wants"))
    assert "'knitting'" in topic and "classroom management" in topic
    assert any(p.startswith("line 5, column hours") for p in problems)
    assert db.session.scalars(db.select(Person)).all() == []


def test_import_again_updates_people_by_email(program: Program, tmp_path: Path) -> None:
    row = (
        "ana@example.org,Ana,mentor,North,,America/Chicago,classroom management,,2,,\n"
    )
    import_roster(program, write(tmp_path, row))

    summary = import_roster(
        program, write(tmp_path, row.replace("North", "South").replace(",2,", ",4,"))
    )

    assert (summary.created, summary.updated) == (0, 1)
    people = db.session.scalars(db.select(Person)).all()
    assert [p.site for p in people] == ["South"]
    membership = db.session.scalar(db.select(Membership))
    assert membership.capacity == 4


def test_missing_calendar_file_is_a_row_error(program: Program, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "ana@example.org,Ana,mentor,North,,UTC,classroom management,,,,missing.ics\n",
    )

    with pytest.raises(RosterError, match="line 2, column calendar"):
        import_roster(program, path)


def test_missing_header_column_is_reported(program: Program, tmp_path: Path) -> None:
    path = tmp_path / "roster.csv"
    path.write_text("email,name\nana@example.org,Ana\n")

    with pytest.raises(RosterError, match="line 1: missing column"):
        import_roster(program, path)


def test_semicolon_separated_file_is_named(program: Program, tmp_path: Path) -> None:
    path = tmp_path / "roster.csv"
    path.write_text(HEADER.replace(",", ";") + "ana@example.org;Ana;mentor\n")

    with pytest.raises(RosterError, match="separated by ';'"):
        import_roster(program, path)


def test_row_with_extra_values_is_reported(program: Program, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "ana@example.org,Ana,mentor,North,,UTC,classroom management,,,,,surplus\n",
    )

    with pytest.raises(RosterError, match="line 2: 12 values but the header has 11"):
        import_roster(program, path)


def test_line_numbers_count_blank_lines(program: Program, tmp_path: Path) -> None:
    path = write(tmp_path, "\nnot-an-email,Ben,mentee,South,,UTC,,,,,\n")

    with pytest.raises(RosterError, match="line 3, column email"):
        import_roster(program, path)
