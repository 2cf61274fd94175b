"""Loading a program from its TOML file."""

from __future__ import annotations

import tomllib
from datetime import date, datetime
from pathlib import Path
from typing import Any

from matching.hours import HoursError, parse_hours
from web.audit import record
from web.extensions import db
from web.models import Program, Topic
from web.models.programs import PROGRAM_KINDS, SITE_RULES

REQUIRED = ("name", "slug", "kind", "topics", "window_start", "window_end")
INTEGER_KEYS = {
    "sessions": (1, 3),
    "session_minutes": (5, 480),
    "min_days_between": (0, 90),
    "buffer_minutes": (0, 240),
    "min_notice_hours": (0, 24 * 60),
    "mentor_capacity": (0, 1000),
}
OPTION_KEYS = (
    "synonyms",
    "related",
    "speed_start",
    "speed_round_minutes",
    "speed_rounds",
    "comments_visible",
    "all_day_blocks",
    "tentative_blocks",
    "grid_minutes",
    "confirm_nudge_hours",
    "timezone",
)


class ProgramFileError(ValueError):
    """A program file is invalid; the message lists every problem."""


def load_program_file(path: Path, actor: str = "cli") -> Program:
    """Create or update the program described by ``path``; commit on success."""
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        raise ProgramFileError(f"{path}: no such file") from None
    except tomllib.TOMLDecodeError as error:
        raise ProgramFileError(f"{path}: not valid TOML: {error}") from error

    values, problems = validate_program(data)
    if problems:
        lines = "\n".join(f"  {problem}" for problem in problems)
        raise ProgramFileError(f"{path} has {len(problems)} problem(s):\n{lines}")

    program = db.session.scalar(db.select(Program).filter_by(slug=values["slug"]))
    created = program is None
    if program is None:
        program = Program(slug=values["slug"])
        db.session.add(program)
    topics = values.pop("topics")
    for key, value in values.items():
        setattr(program, key, value)
    _sync_topics(program, topics)

    record(actor, "program.created" if created else "program.updated", program)
    db.session.commit()
    return program


def validate_program(data: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Check a program file's keys; return the column values and every problem."""
    problems = [f"missing key {key!r}" for key in REQUIRED if key not in data]
    known = {*REQUIRED, *INTEGER_KEYS, "hours", "site_rule", "approval", *OPTION_KEYS}
    problems += [
        f"unknown key {key!r}; known keys: {', '.join(sorted(known))}"
        for key in data
        if key not in known
    ]
    values: dict[str, Any] = {
        "name": str(data.get("name", "")).strip(),
        "slug": str(data.get("slug", "")).strip(),
        "kind": data.get("kind", "intervention"),
        "hours": data.get("hours", "Mon-Fri 09:00-17:00"),
        "site_rule": data.get("site_rule", "any"),
        "approval": data.get("approval", "required"),
        "options": {key: data[key] for key in OPTION_KEYS if key in data},
    }
    values["options"] = _jsonable(values["options"])

    if values["kind"] not in PROGRAM_KINDS:
        problems.append(
            f"kind = {values['kind']!r}; use one of {', '.join(PROGRAM_KINDS)}"
        )
    if values["site_rule"] not in SITE_RULES:
        problems.append(
            f"site_rule = {values['site_rule']!r}; use one of {', '.join(SITE_RULES)}"
        )
    if values["approval"] not in ("required", "auto"):
        problems.append(f"approval = {values['approval']!r}; use 'required' or 'auto'")
    if values["slug"] and not values["slug"].replace("-", "").isalnum():
        problems.append(
            f"slug = {values['slug']!r}; use letters, digits and '-' only, "
            "e.g. 'sel-spring-2027'"
        )
    try:
        parse_hours(values["hours"])
    except HoursError as error:
        problems.append(f"hours: {error}")

    problems += _check_integers(data, values)
    problems += _check_topics(data, values)
    problems += _check_window(data, values)
    return values, problems


def _check_integers(data: dict[str, Any], values: dict[str, Any]) -> list[str]:
    problems = []
    defaults = {c.name: c.default.arg for c in Program.__table__.columns if c.default}
    for key, (low, high) in INTEGER_KEYS.items():
        value = data.get(key, defaults.get(key))
        if (
            not isinstance(value, int)
            or isinstance(value, bool)
            or not low <= value <= high
        ):
            problems.append(
                f"{key} = {value!r}; use a whole number from {low} to {high}"
            )
        else:
            values[key] = value
    return problems


def _check_topics(data: dict[str, Any], values: dict[str, Any]) -> list[str]:
    topics = data.get("topics", [])
    if not isinstance(topics, list) or not all(isinstance(t, str) for t in topics):
        return ['topics must be a list of strings, e.g. topics = ["literacy"]']
    cleaned = [t.strip() for t in topics if t.strip()]
    if not cleaned and values["kind"] != "informational":
        return ["topics is empty; list at least one topic"]
    folded = [t.casefold() for t in cleaned]
    duplicates = sorted({t for t in cleaned if folded.count(t.casefold()) > 1})
    values["topics"] = cleaned
    if duplicates:
        return [f"topics lists {', '.join(duplicates)} more than once"]
    return []


def _check_window(data: dict[str, Any], values: dict[str, Any]) -> list[str]:
    problems = []
    for key in ("window_start", "window_end"):
        value = data.get(key)
        parsed = _as_date(value)
        if parsed is None:
            if key in data:
                problems.append(f"{key} = {value!r}; write a date like 2027-01-11")
        else:
            values[key] = parsed
    start, end = values.get("window_start"), values.get("window_end")
    if start and end and end < start:
        problems.append(
            f"window_end {end} is before window_start {start}; move one of them"
        )
    return problems


def _as_date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    return None


def _jsonable(options: dict[str, Any]) -> dict[str, Any]:
    return {
        key: value.isoformat() if isinstance(value, date | datetime) else value
        for key, value in options.items()
    }


def _sync_topics(program: Program, names: list[str]) -> None:
    existing = {topic.name.casefold(): topic for topic in program.topics}
    for name in names:
        topic = existing.get(name.casefold())
        if topic is None:
            program.topics.append(Topic(name=name))
        else:
            topic.name = name
