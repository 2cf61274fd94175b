"""Ready program files: listing them, copying one, and loading the copy."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from flask import Flask
from flask.cli import ScriptInfo

from web.cli import main
from web.extensions import db
from web.models import Program

KINDS = ["development-plan", "informational", "intervention", "one-off", "speed"]


@pytest.fixture
def torace(app: Flask):  # type: ignore[no-untyped-def]
    runner = CliRunner()

    def run(*args: str) -> Result:
        return runner.invoke(main, list(args), obj=ScriptInfo(create_app=lambda: app))

    return run


def test_templates_lists_every_kind_with_description(torace) -> None:  # type: ignore[no-untyped-def]
    result = torace("program", "templates")

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert [line.split()[0] for line in lines] == KINDS
    assert all(len(line.split(maxsplit=1)) == 2 for line in lines)
    assert "different site" in result.output


@pytest.mark.parametrize("kind", KINDS)
def test_new_file_of_each_kind_loads(torace, tmp_path: Path, kind: str) -> None:  # type: ignore[no-untyped-def]
    target = tmp_path / f"{kind}.toml"

    made = torace("program", "new", kind, str(target), "--slug", f"try-{kind}")
    loaded = torace("program", "load", str(target))

    assert made.exit_code == 0, made.output
    assert loaded.exit_code == 0, loaded.output
    program = db.session.scalar(db.select(Program).filter_by(slug=f"try-{kind}"))
    assert program is not None
    assert program.kind == kind


def test_new_sets_slug_and_name_keeping_comments(torace, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    target = tmp_path / "plan.toml"

    torace(
        "program",
        "new",
        "one-off",
        str(target),
        "--slug",
        "flu-cover",
        "--name",
        'Cover for "flu week"',
    )

    text = target.read_text()
    data = tomllib.loads(text)
    assert data["slug"] == "flu-cover"
    assert data["name"] == 'Cover for "flu week"'
    assert "# Short id used in URLs" in text


def test_new_refuses_to_overwrite_without_force(torace, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    target = tmp_path / "mine.toml"
    target.write_text("keep me")

    refused = torace("program", "new", "speed", str(target))

    assert refused.exit_code != 0
    assert "already exists" in refused.output
    assert target.read_text() == "keep me"


def test_new_with_force_overwrites(torace, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    target = tmp_path / "mine.toml"
    target.write_text("old")

    result = torace("program", "new", "speed", str(target), "--force")

    assert result.exit_code == 0, result.output
    assert tomllib.loads(target.read_text())["kind"] == "speed"


def test_new_rejects_unknown_kind(torace, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = torace("program", "new", "workshop", str(tmp_path / "x.toml"))

    assert result.exit_code != 0
    assert "'workshop' is not a program kind" in result.output
    assert not (tmp_path / "x.toml").exists()


def test_new_rejects_bad_slug(torace, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = torace(
        "program", "new", "speed", str(tmp_path / "x.toml"), "--slug", "a b"
    )

    assert result.exit_code != 0
    assert "letters, digits" in result.output
