"""Commands run ``--as`` an administrator keep to that administrator's programs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from flask import Flask
from flask.cli import ScriptInfo

from tests.web.factories import make_person, make_program, make_series
from web.cli import main
from web.extensions import db
from web.models import Admin, OutboxMessage, Program, Series

Run = Callable[..., Result]
PROGRAM_FILE = """
name = "{name}"
slug = "{slug}"
kind = "intervention"
topics = ["reading"]
sessions = 1
session_minutes = 45
window_start = 2027-03-01
window_end = 2027-03-26
"""
ROSTER = (
    "email,name,role,site,title,timezone,offers,wants,capacity,hours,calendar\n"
    "zed@example.org,Zed,mentee,North,,UTC,,,,,\n"
)


@pytest.fixture
def run(app: Flask) -> Run:
    """Run a ``torace`` command against the test app; return the result."""
    runner = CliRunner()

    def invoke(*args: str, env: dict[str, str] | None = None) -> Result:
        return runner.invoke(
            main, list(args), obj=ScriptInfo(create_app=lambda: app), env=env
        )

    return invoke


@pytest.fixture
def setup(app: Flask) -> dict[str, Series]:
    """Programs pilot and other with a pending series each, and two admins."""
    pilot, other = make_program("pilot"), make_program("other")
    found = {
        "pilot": make_series(
            pilot, make_person("maya@example.org"), make_person("ada@example.org")
        ),
        "other": make_series(
            other, make_person("otto@example.org"), make_person("eli@example.org")
        ),
    }
    for email, wide in (("lead@example.org", True), ("pat@example.org", False)):
        account = Admin(email=email, organisation_wide=wide)
        account.set_password("correct horse")
        account.programs = [] if wide else [pilot]
        db.session.add(account)
    db.session.commit()
    return found


def status_of(series: Series) -> str:
    db.session.expire_all()
    return db.session.get(Series, series.id).status


def test_approve_as_program_admin_on_own_program(
    run: Run, setup: dict[str, Series]
) -> None:
    result = run("--as", "pat@example.org", "approve", "pilot", "--all")

    assert result.exit_code == 0, result.output
    assert status_of(setup["pilot"]) == "invited"


def test_approve_as_program_admin_on_other_program_fails(
    run: Run, setup: dict[str, Series]
) -> None:
    result = run("--as", "pat@example.org", "approve", "other", "--all")

    assert result.exit_code == 1
    assert "does not manage program 'other'" in result.output
    assert status_of(setup["other"]) == "pending-approval"


def test_approve_as_organisation_admin_on_any_program(
    run: Run, setup: dict[str, Series]
) -> None:
    result = run("--as", "lead@example.org", "approve", "other", "--all")

    assert result.exit_code == 0, result.output
    assert status_of(setup["other"]) == "invited"


def test_torace_admin_environment_sets_the_scope(
    run: Run, setup: dict[str, Series]
) -> None:
    result = run("approve", "other", "--all", env={"TORACE_ADMIN": "pat@example.org"})

    assert result.exit_code == 1
    assert status_of(setup["other"]) == "pending-approval"


def test_unknown_admin_is_an_error(run: Run, setup: dict[str, Series]) -> None:
    result = run("--as", "nobody@example.org", "approve", "pilot", "--all")

    assert result.exit_code == 1
    assert "no administrator 'nobody@example.org'" in result.output


def test_approve_records_the_admin_as_actor(run: Run, setup: dict[str, Series]) -> None:
    run("--as", "pat@example.org", "approve", "pilot", "--all")

    db.session.expire_all()
    assert db.session.get(Series, setup["pilot"].id).approved_by == (
        "admin:pat@example.org"
    )


@pytest.mark.parametrize(
    "admin, slug, code",
    [
        ("pat@example.org", "pilot", 0),
        ("pat@example.org", "other", 1),
        ("lead@example.org", "other", 0),
    ],
)
def test_match_keeps_to_the_admins_programs(
    run: Run, setup: dict[str, Series], admin: str, slug: str, code: int
) -> None:
    result = run("--as", admin, "match", slug, "--now", "2026-12-01T00:00:00Z")

    assert result.exit_code == code, result.output


@pytest.mark.parametrize(
    "admin, slug, code",
    [
        ("pat@example.org", "pilot", 0),
        ("pat@example.org", "other", 1),
        ("lead@example.org", "other", 0),
    ],
)
def test_feedback_export_keeps_to_the_admins_programs(
    run: Run, setup: dict[str, Series], admin: str, slug: str, code: int
) -> None:
    result = run("--as", admin, "feedback", "export", slug)

    assert result.exit_code == code, result.output


@pytest.mark.parametrize(
    "admin, slug, code",
    [
        ("pat@example.org", "pilot", 0),
        ("pat@example.org", "other", 1),
        ("lead@example.org", "other", 0),
    ],
)
def test_roster_import_keeps_to_the_admins_programs(
    run: Run,
    setup: dict[str, Series],
    tmp_path: Path,
    admin: str,
    slug: str,
    code: int,
) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_text(ROSTER)

    result = run("--as", admin, "roster", "import", slug, str(roster))

    assert result.exit_code == code, result.output


@pytest.mark.parametrize(
    "admin, slug, code",
    [
        ("pat@example.org", "pilot", 0),
        ("pat@example.org", "other", 1),
        ("pat@example.org", "brand-new", 1),
        ("lead@example.org", "brand-new", 0),
    ],
)
def test_program_load_keeps_to_the_admins_programs(
    run: Run,
    setup: dict[str, Series],
    tmp_path: Path,
    admin: str,
    slug: str,
    code: int,
) -> None:
    path = tmp_path / "program.toml"
    path.write_text(PROGRAM_FILE.format(name="Renamed", slug=slug))

    result = run("--as", admin, "program", "load", str(path))

    assert result.exit_code == code, result.output
    loaded = db.session.scalar(db.select(Program).filter_by(slug=slug))
    names = [] if loaded is None else [loaded.name]
    assert ("Renamed" in names) == (code == 0)


def test_program_admin_cannot_create_administrators(
    run: Run, setup: dict[str, Series]
) -> None:
    result = run(
        "--as",
        "pat@example.org",
        "admin",
        "create",
        "new@example.org",
        env={"TORACE_ADMIN_PASSWORD": "long enough"},
    )

    assert result.exit_code == 1
    assert (
        db.session.scalar(db.select(Admin).filter_by(email="new@example.org")) is None
    )


def test_approve_request_mails_each_program_admin_once(
    run: Run, setup: dict[str, Series]
) -> None:
    first = run("approve", "pilot", "--request")
    second = run("approve", "pilot", "--request")

    assert first.exit_code == 0, first.output
    assert "approval requested from 1 administrator(s)" in first.output
    assert "approval requested from 0 administrator(s)" in second.output
    rows = db.session.scalars(
        db.select(OutboxMessage).filter_by(kind="approval-request")
    ).all()
    assert [r.recipient for r in rows] == ["pat@example.org"]


def test_approve_request_as_other_admin_fails(
    run: Run, setup: dict[str, Series]
) -> None:
    result = run("--as", "pat@example.org", "approve", "other", "--request")

    assert result.exit_code == 1
