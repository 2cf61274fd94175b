"""Each program kind through load, roster import, match and stored series."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from flask import Flask
from flask.cli import ScriptInfo

from web.cli import main
from web.extensions import db
from web.models import Membership, Person, Program, Request, Series

HEADER = "email,name,role,site,title,timezone,offers,wants,capacity,hours,calendar"


def program_text(**values: object) -> str:
    """A program file: a March 2027 window with every key set."""
    settings: dict[str, object] = {
        "name": "Trial",
        "slug": "trial",
        "kind": "intervention",
        "topics": ["reading", "behaviour", "assessment"],
        "sessions": 1,
        "session_minutes": 60,
        "window_start": "2027-03-01",
        "window_end": "2027-03-26",
        "min_days_between": 7,
        "hours": "Mon-Fri 09:00-17:00",
        "buffer_minutes": 0,
        "min_notice_hours": 24,
        "site_rule": "any",
        "mentor_capacity": 3,
        "approval": "required",
    }
    settings.update(values)
    lines = []
    for key, value in settings.items():
        if isinstance(value, str) and key.startswith("window"):
            lines.append(f"{key} = {value}")
        elif isinstance(value, str):
            lines.append(f'{key} = "{value}"')
        elif isinstance(value, list):
            lines.append(f"{key} = {_toml_list(value)}")
        elif isinstance(value, bool):
            lines.append(f"{key} = {str(value).lower()}")
        else:
            lines.append(f"{key} = {value}")
    return "\n".join(lines) + "\n"


def _toml_list(values: list) -> str:  # type: ignore[type-arg]
    items = [_toml_list(v) if isinstance(v, list) else f'"{v}"' for v in values]
    return "[" + ", ".join(items) + "]"


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
def setup(cli, tmp_path: Path):  # type: ignore[no-untyped-def]
    """Load a program and import a roster (rows without the header)."""

    def run(program: str, rows: list[str]) -> None:
        (tmp_path / "program.toml").write_text(program)
        (tmp_path / "roster.csv").write_text("\n".join([HEADER, *rows]) + "\n")
        cli("program", "load", str(tmp_path / "program.toml"))
        slug = next(
            line.split('"')[1]
            for line in program.splitlines()
            if line.startswith("slug")
        )
        cli("roster", "import", slug, str(tmp_path / "roster.csv"))

    return run


def all_series() -> list[Series]:
    return list(db.session.scalars(db.select(Series).order_by(Series.id)))


def request_of(email: str, topic: str | None = None) -> Request:
    requests = db.session.scalars(db.select(Request)).all()
    return next(
        r
        for r in requests
        if r.mentee.email == email and (topic is None or r.topic.name == topic)
    )


NOW = "2027-02-20T12:00:00Z"


# --- development plan ---------------------------------------------------------


def test_development_plan_gives_each_topic_its_own_mentor(setup, cli) -> None:  # type: ignore[no-untyped-def]
    setup(
        program_text(kind="development-plan", min_days_between=0),
        [
            "m1@example.org,M1,mentor,North,,UTC,reading;behaviour;assessment,,,,",
            "m2@example.org,M2,mentor,North,,UTC,reading;behaviour;assessment,,,,",
            "m3@example.org,M3,mentor,North,,UTC,reading;behaviour;assessment,,,,",
            "ann@example.org,Ann,mentee,North,,UTC,,reading;behaviour;assessment,,,",
        ],
    )

    result = cli("match", "trial", "--now", NOW)

    assert "matched: 3  unmatched: 0" in result.output
    series = all_series()
    assert len(series) == 3
    assert all(len(s.sessions) == 1 for s in series)
    assert len({s.mentor_id for s in series}) == 3
    assert len({s.match.request_id for s in series}) == 3


def test_development_plan_with_two_sessions_is_rejected(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "plan.toml"
    path.write_text(program_text(kind="development-plan", sessions=2))

    result = cli("program", "load", str(path), ok=False)

    assert result.exit_code != 0
    assert "sessions = 2" in result.output
    assert "set sessions = 1" in result.output


def test_engine_gets_one_session_for_development_plan_in_database(  # type: ignore[no-untyped-def]
    setup, cli
) -> None:
    setup(
        program_text(kind="development-plan", min_days_between=0),
        [
            "m1@example.org,M1,mentor,North,,UTC,reading,,,,",
            "ann@example.org,Ann,mentee,North,,UTC,,reading,,,",
        ],
    )
    program = db.session.scalar(db.select(Program))
    program.sessions = 3  # as if stored before the file check existed
    db.session.commit()

    cli("match", "trial", "--now", NOW)

    assert [len(s.sessions) for s in all_series()] == [1]


# --- one-off ------------------------------------------------------------------


def test_one_off_matches_within_minutes_and_keeps_notice(setup, cli) -> None:  # type: ignore[no-untyped-def]
    setup(
        program_text(
            kind="one-off",
            window_start="2027-01-25",
            window_end="2027-01-29",
            min_notice_hours=4,
            min_days_between=0,
            approval="auto",
            hours="Mon-Fri 08:00-17:00",
        ),
        [
            "m1@example.org,M1,mentor,North,,UTC,reading,,,,",
            "ann@example.org,Ann,mentee,North,,UTC,,reading,,,",
        ],
    )
    now = datetime(2027, 1, 25, 8, 0, tzinfo=UTC)

    result = cli("match", "trial", "--now", now.isoformat())

    assert "approved automatically: 1 series" in result.output
    (series,) = all_series()
    assert series.status == "invited"
    # Hours open at 08:00 UTC and the notice is 4 hours: 12:00 is the first.
    assert series.sessions[0].start == now + timedelta(hours=4)


# --- informational interviews ----------------------------------------------------

ROLES = ["assistant principal", "instructional coach"]


def test_informational_matches_title_at_another_site_only(setup, cli) -> None:  # type: ignore[no-untyped-def]
    setup(
        program_text(kind="informational", topics=ROLES, min_days_between=0),
        [
            "near@example.org,Near,mentor,North,Assistant Principal,UTC,,,,,",
            "far@example.org,Far,mentor,South,Assistant Principal,UTC,,,,,",
            "ann@example.org,Ann,mentee,North,Teacher,UTC,,assistant principal,,,",
        ],
    )

    cli("match", "trial", "--now", NOW)

    (series,) = all_series()
    assert series.mentor.email == "far@example.org"
    assert "Mentor works as Assistant Principal." in series.match.reasons


def test_informational_matches_a_role_the_mentor_offers(setup, cli) -> None:  # type: ignore[no-untyped-def]
    setup(
        program_text(kind="informational", topics=ROLES, min_days_between=0),
        [
            "coach@example.org,Coach,mentor,South,Coach,UTC,instructional coach,,,,",
            "ann@example.org,Ann,mentee,North,Teacher,UTC,,instructional coach,,,",
        ],
    )

    result = cli("match", "trial", "--now", NOW)

    assert "matched: 1  unmatched: 0" in result.output
    (series,) = all_series()
    assert series.mentor.email == "coach@example.org"


def test_informational_without_other_site_mentor_names_role(setup, cli) -> None:  # type: ignore[no-untyped-def]
    setup(
        program_text(kind="informational", topics=ROLES, min_days_between=0),
        [
            "near@example.org,Near,mentor,North,Assistant Principal,UTC,,,,,",
            "ann@example.org,Ann,mentee,North,Teacher,UTC,,assistant principal,,,",
        ],
    )

    result = cli("match", "trial", "--now", NOW)

    assert "matched: 0  unmatched: 1" in result.output
    assert "'assistant principal'" in request_of("ann@example.org").unmatched_reason


# --- synonyms and related topics ----------------------------------------------


def test_synonym_group_matches_other_spelling(setup, cli) -> None:  # type: ignore[no-untyped-def]
    setup(
        program_text(synonyms=[["reading", "behaviour"]]),
        [
            "m1@example.org,M1,mentor,North,,UTC,reading,,,,",
            "ann@example.org,Ann,mentee,North,,UTC,,behaviour,,,",
        ],
    )

    cli("match", "trial", "--now", NOW)

    (series,) = all_series()
    assert "a synonym of behaviour" in series.match.reasons[0]


def test_related_group_matches_at_lower_score(setup, cli) -> None:  # type: ignore[no-untyped-def]
    setup(
        program_text(related=[["reading", "assessment"]]),
        [
            "m1@example.org,M1,mentor,North,,UTC,reading,,,,",
            "ann@example.org,Ann,mentee,North,,UTC,,assessment,,,",
        ],
    )

    cli("match", "trial", "--now", NOW)

    (series,) = all_series()
    assert "a topic related to assessment" in series.match.reasons[0]


@pytest.mark.parametrize("key", ["synonyms", "related"])
def test_group_naming_unknown_topic_is_rejected(cli, tmp_path: Path, key: str) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "program.toml"
    path.write_text(program_text(**{key: [["reading", "phonics"]]}))

    result = cli("program", "load", str(path), ok=False)

    assert result.exit_code != 0
    assert f"{key} group 1 names 'phonics', which is not in topics" in result.output


def test_group_that_is_not_a_list_of_lists_is_rejected(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "program.toml"
    path.write_text(program_text(synonyms=["reading", "behaviour"]))

    result = cli("program", "load", str(path), ok=False)

    assert "synonyms must be a list of lists of topic names" in result.output


# --- paused people ----------------------------------------------------------------


def test_paused_membership_gets_no_match(setup, cli) -> None:  # type: ignore[no-untyped-def]
    setup(
        program_text(),
        [
            "rest@example.org,Rest,mentor,North,,UTC,reading,,,,",
            "work@example.org,Work,mentor,North,,UTC,reading,,,,",
            "ann@example.org,Ann,mentee,North,,UTC,,reading,,,",
            "bob@example.org,Bob,mentee,North,,UTC,,reading,,,",
        ],
    )
    resting = db.session.scalar(
        db.select(Membership).join(Person).filter(Person.email == "rest@example.org")
    )
    resting.paused = True
    db.session.commit()

    cli("match", "trial", "--now", NOW)

    assert {s.mentor.email for s in all_series()} == {"work@example.org"}


def test_paused_person_gets_no_match(setup, cli) -> None:  # type: ignore[no-untyped-def]
    setup(
        program_text(),
        [
            "rest@example.org,Rest,mentor,North,,UTC,reading,,,,",
            "ann@example.org,Ann,mentee,North,,UTC,,reading,,,",
        ],
    )
    person = db.session.scalar(db.select(Person).filter_by(email="rest@example.org"))
    person.paused = True
    db.session.commit()

    result = cli("match", "trial", "--now", NOW, ok=False)

    assert all_series() == []
    assert "every mentor is paused or has capacity 0" in result.output


def test_paused_mentee_request_stays_open(setup, cli) -> None:  # type: ignore[no-untyped-def]
    setup(
        program_text(),
        [
            "m1@example.org,M1,mentor,North,,UTC,reading,,,,",
            "ann@example.org,Ann,mentee,North,,UTC,,reading,,,",
            "bob@example.org,Bob,mentee,North,,UTC,,reading,,,",
        ],
    )
    person = db.session.scalar(db.select(Person).filter_by(email="ann@example.org"))
    person.paused = True
    db.session.commit()

    result = cli("match", "trial", "--now", NOW)

    assert "requests: 1  matched: 1" in result.output
    assert request_of("ann@example.org").status == "open"
    assert [s.mentee.email for s in all_series()] == ["bob@example.org"]


# --- monthly capacity --------------------------------------------------------------


def set_monthly(email: str, sessions: int) -> None:
    membership = db.session.scalar(
        db.select(Membership).join(Person).filter(Person.email == email)
    )
    membership.monthly_capacity = sessions
    db.session.commit()


def test_monthly_capacity_moves_a_request_to_another_mentor(setup, cli) -> None:  # type: ignore[no-untyped-def]
    setup(
        program_text(sessions=2),
        [
            "busy@example.org,Busy,mentor,North,,UTC,reading,,,,",
            "spare@example.org,Spare,mentor,North,,UTC,reading,,,,",
            "ann@example.org,Ann,mentee,North,,UTC,,reading,,,",
            "bob@example.org,Bob,mentee,North,,UTC,,reading,,,",
            "cy@example.org,Cy,mentee,North,,UTC,,reading,,,",
        ],
    )
    set_monthly("busy@example.org", 2)

    result = cli("match", "trial", "--now", NOW)

    assert "matched: 3  unmatched: 0" in result.output
    march = [
        session
        for s in all_series()
        if s.mentor.email == "busy@example.org"
        for session in s.sessions
        if session.start.month == 3
    ]
    assert len(march) <= 2


def test_monthly_capacity_leaves_request_unmatched_with_reason(setup, cli) -> None:  # type: ignore[no-untyped-def]
    setup(
        program_text(sessions=2),
        [
            "busy@example.org,Busy,mentor,North,,UTC,reading,,,,",
            "ann@example.org,Ann,mentee,North,,UTC,,reading,,,",
            "bob@example.org,Bob,mentee,North,,UTC,,reading,,,",
        ],
    )
    set_monthly("busy@example.org", 3)

    result = cli("match", "trial", "--now", NOW)

    assert "matched: 1  unmatched: 1" in result.output
    reason = request_of("bob@example.org").unmatched_reason
    assert "Busy may hold 3 session(s) a month and March 2027 is full" in reason
    assert "monthly_capacity" in reason


def test_monthly_capacity_counts_sessions_already_held(
    setup, cli, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    setup(
        program_text(),
        [
            "busy@example.org,Busy,mentor,North,,UTC,reading,,,,",
            "ann@example.org,Ann,mentee,North,,UTC,,reading,,,",
        ],
    )
    set_monthly("busy@example.org", 1)
    cli("match", "trial", "--now", NOW)
    (tmp_path / "more.csv").write_text(
        HEADER + "\nbob@example.org,Bob,mentee,North,,UTC,,reading,,,\n"
    )
    cli("roster", "import", "trial", str(tmp_path / "more.csv"))

    result = cli("match", "trial", "--now", NOW)

    assert "matched: 0  unmatched: 1" in result.output
    assert "March 2027 is full" in request_of("bob@example.org").unmatched_reason


# --- settings that cannot be planned ------------------------------------------------


def test_invalid_timezone_is_rejected_at_load(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "program.toml"
    path.write_text(program_text(timezone="Mars/Olympus"))

    result = cli("program", "load", str(path), ok=False)

    assert "timezone = 'Mars/Olympus' is not an IANA time zone" in result.output
    assert "America/Chicago" in result.output


def test_invalid_stored_timezone_is_refused_before_matching(setup, cli) -> None:  # type: ignore[no-untyped-def]
    setup(program_text(), ["ann@example.org,Ann,mentee,North,,UTC,,reading,,,"])
    program = db.session.scalar(db.select(Program))
    program.options = {"timezone": "Central"}
    db.session.commit()

    result = cli("match", "trial", "--now", NOW, ok=False)

    assert result.exit_code != 0
    assert "timezone = 'Central' is not an IANA time zone" in result.output


def test_valid_timezone_moves_the_window(setup, cli) -> None:  # type: ignore[no-untyped-def]
    setup(
        program_text(
            timezone="Pacific/Auckland",
            window_start="2027-03-01",
            window_end="2027-03-01",
            hours="Mon-Sun 00:00-24:00",
            min_notice_hours=0,
        ),
        [
            "m1@example.org,M1,mentor,North,,UTC,reading,,,,",
            "ann@example.org,Ann,mentee,North,,UTC,,reading,,,",
        ],
    )

    cli("match", "trial", "--now", "2027-02-01T00:00:00Z")

    (series,) = all_series()
    # 1 March in Auckland (UTC+13) begins at 11:00 UTC on 28 February.
    assert series.sessions[0].start == datetime(2027, 2, 28, 11, 0, tzinfo=UTC)


def test_sessions_that_cannot_fit_the_window_are_rejected(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "program.toml"
    path.write_text(
        program_text(sessions=3, window_start="2027-03-01", window_end="2027-03-10")
    )

    result = cli("program", "load", str(path), ok=False)

    assert "3 sessions at least 7 days apart need 14 days" in result.output
    assert "min_days_between" in result.output


def test_window_ending_before_start_is_rejected(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "program.toml"
    path.write_text(program_text(window_start="2027-03-10", window_end="2027-03-01"))

    result = cli("program", "load", str(path), ok=False)

    assert "window_end 2027-03-01 is before window_start 2027-03-10" in result.output


def test_capacity_zero_everywhere_is_refused(setup, cli) -> None:  # type: ignore[no-untyped-def]
    setup(
        program_text(mentor_capacity=0),
        [
            "m1@example.org,M1,mentor,North,,UTC,reading,,,,",
            "ann@example.org,Ann,mentee,North,,UTC,,reading,,,",
        ],
    )

    result = cli("match", "trial", "--now", NOW, ok=False)

    assert result.exit_code != 0
    assert "every mentor is paused or has capacity 0" in result.output
    assert "mentor_capacity" in result.output
    assert request_of("ann@example.org").status == "open"


def test_topic_without_mentor_still_matches_the_rest(setup, cli) -> None:  # type: ignore[no-untyped-def]
    setup(
        program_text(),
        [
            "m1@example.org,M1,mentor,North,,UTC,reading,,,,",
            "ann@example.org,Ann,mentee,North,,UTC,,reading,,,",
            "bob@example.org,Bob,mentee,North,,UTC,,assessment,,,",
        ],
    )

    result = cli("match", "trial", "--now", NOW)

    assert "matched: 1  unmatched: 1" in result.output
    assert "bob@example.org (assessment)" in result.output
    assert "No mentor offers the topic 'assessment'" in result.output
