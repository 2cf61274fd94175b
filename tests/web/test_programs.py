from pathlib import Path

import pytest
from flask import Flask

from web.extensions import db
from web.models import Program
from web.programs import ProgramFileError, load_program_file

GOOD = """
name = "Social-emotional learning, spring"
slug = "sel-spring"
kind = "intervention"
topics = ["social-emotional learning", "classroom management"]
sessions = 3
session_minutes = 45
window_start = 2027-01-11
window_end = 2027-02-19
min_days_between = 7
hours = "Mon-Thu 07:30-15:30; Fri 08:00-12:00"
buffer_minutes = 10
min_notice_hours = 24
site_rule = "other-preferred"
mentor_capacity = 3
approval = "required"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "program.toml"
    path.write_text(text)
    return path


def test_program_file_creates_program(app: Flask, tmp_path: Path) -> None:
    program = load_program_file(write(tmp_path, GOOD))

    assert program.slug == "sel-spring"
    assert program.sessions == 3
    assert program.window_end.isoformat() == "2027-02-19"
    assert sorted(t.name for t in program.topics) == [
        "classroom management",
        "social-emotional learning",
    ]


def test_loading_again_updates_by_slug(app: Flask, tmp_path: Path) -> None:
    load_program_file(write(tmp_path, GOOD))
    load_program_file(write(tmp_path, GOOD.replace("sessions = 3", "sessions = 2")))

    programs = db.session.scalars(db.select(Program)).all()
    assert len(programs) == 1
    assert programs[0].sessions == 2


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("sessions = 3", "sessions = 4"), "sessions = 4"),
        (('kind = "intervention"', 'kind = "workshop"'), "kind = 'workshop'"),
        (('site_rule = "other-preferred"', 'site_rule = "near"'), "site_rule"),
        (("window_end = 2027-02-19", "window_end = 2026-12-01"), "before window_start"),
        (
            ('hours = "Mon-Thu 07:30-15:30; Fri 08:00-12:00"', 'hours = "weekdays"'),
            "hours",
        ),
        (('approval = "required"', 'approval = "maybe"'), "approval"),
    ],
)
def test_bad_value_is_named(
    app: Flask, tmp_path: Path, change: tuple[str, str], message: str
) -> None:
    with pytest.raises(ProgramFileError, match=message):
        load_program_file(write(tmp_path, GOOD.replace(*change)))

    assert db.session.scalars(db.select(Program)).all() == []


def test_missing_and_unknown_keys_all_reported(app: Flask, tmp_path: Path) -> None:
    text = GOOD.replace('slug = "sel-spring"\n', "") + 'colour = "blue"\n'

    with pytest.raises(ProgramFileError) as error:
        load_program_file(write(tmp_path, text))

    assert "missing key 'slug'" in str(error.value)
    assert "unknown key 'colour'" in str(error.value)


def test_invalid_toml_is_reported(app: Flask, tmp_path: Path) -> None:
    with pytest.raises(ProgramFileError, match="not valid TOML"):
        load_program_file(write(tmp_path, "name = \n"))
