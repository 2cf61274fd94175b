"""Loading a program from its TOML file."""

from __future__ import annotations

import tomllib
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

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
SINGLE_SESSION_KINDS = ("development-plan", "informational", "speed")
OPTION_INTEGERS = {
    "grid_minutes": (1, 240),
    "confirm_nudge_hours": (1, 24 * 30),
    "speed_round_minutes": (1, 120),
    "speed_rounds": (1, 40),
}
SPEED_KEYS = ("speed_start", "speed_round_minutes", "speed_rounds")


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
    problems += _check_sessions_fit(values)
    problems += _check_option_integers(data)
    problems += _check_timezone(data)
    for key in ("synonyms", "related"):
        problems += _check_topic_groups(key, data, values)
    if values["kind"] == "speed":
        problems += _check_speed(data, values)
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


def _check_sessions_fit(values: dict[str, Any]) -> list[str]:
    """Reject a session count that a kind forbids or the window cannot hold."""
    kind, sessions = values["kind"], values.get("sessions")
    if sessions is None:
        return []
    if kind in SINGLE_SESSION_KINDS and sessions != 1:
        return [
            f"sessions = {sessions}; a {kind} program books one session per"
            " request, so set sessions = 1"
        ]

    start, end, gap = (
        values.get("window_start"),
        values.get("window_end"),
        values.get("min_days_between"),
    )
    if start is None or end is None or gap is None or end < start:
        return []
    needed = (sessions - 1) * gap
    if (end - start).days < needed:
        return [
            f"{sessions} sessions at least {gap} days apart need {needed} days"
            f" from window_start to window_end, but {start} to {end} is"
            f" {(end - start).days}; move window_end later, lower"
            " min_days_between or lower sessions"
        ]
    return []


def _check_option_integers(data: dict[str, Any]) -> list[str]:
    problems = []
    for key, (low, high) in OPTION_INTEGERS.items():
        if key not in data:
            continue
        value = data[key]
        if (
            not isinstance(value, int)
            or isinstance(value, bool)
            or not low <= value <= high
        ):
            problems.append(
                f"{key} = {value!r}; use a whole number from {low} to {high}"
            )
    return problems


def _check_timezone(data: dict[str, Any]) -> list[str]:
    if "timezone" not in data:
        return []
    zone = data["timezone"]
    if isinstance(zone, str) and zone in available_timezones():
        try:
            ZoneInfo(zone)
            return []
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return [
        f"timezone = {zone!r} is not an IANA time zone; write one like"
        ' timezone = "America/Chicago", or leave it out for UTC'
    ]


def _check_topic_groups(
    key: str, data: dict[str, Any], values: dict[str, Any]
) -> list[str]:
    """Check synonym or related groups: lists of two or more program topics."""
    if key not in data:
        return []
    groups = data[key]
    example = f'{key} = [["classroom management", "behavior management"]]'
    if not isinstance(groups, list) or not all(
        isinstance(group, list) and all(isinstance(name, str) for name in group)
        for group in groups
    ):
        return [f"{key} must be a list of lists of topic names, e.g. {example}"]

    topics = {t.casefold() for t in values.get("topics", [])}
    problems = []
    for number, group in enumerate(groups, start=1):
        if len({name.strip().casefold() for name in group}) < 2:
            problems.append(
                f"{key} group {number} {group!r} needs at least two different topics"
            )
        for name in group:
            if name.strip().casefold() not in topics:
                problems.append(
                    f"{key} group {number} names {name!r}, which is not in"
                    " topics; add it to topics or fix the spelling"
                )
    return problems


def _check_speed(data: dict[str, Any], values: dict[str, Any]) -> list[str]:
    """Check the speed event settings and that the event lies in the window."""
    missing = [key for key in SPEED_KEYS if key not in data]
    if missing:
        return [
            f"a speed program needs {', '.join(missing)}; for example"
            " speed_start = 2027-03-04T15:30:00-06:00, speed_round_minutes = 10,"
            " speed_rounds = 6"
        ]
    start = parse_speed_start(data["speed_start"])
    if start is None:
        return [
            f"speed_start = {data['speed_start']!r}; write a date and time with"
            " its UTC offset, like 2027-03-04T15:30:00-06:00"
        ]

    minutes, rounds = data["speed_round_minutes"], data["speed_rounds"]
    first, last = values.get("window_start"), values.get("window_end")
    if not isinstance(minutes, int) or not isinstance(rounds, int) or not first:
        return []
    if not last:
        return []
    zone = _zone_or_utc(data.get("timezone"))
    opens = datetime.combine(first, time(0), zone)
    closes = datetime.combine(last + timedelta(days=1), time(0), zone)
    ends = start + timedelta(minutes=minutes * rounds)
    if start < opens or ends > closes:
        return [
            f"the speed event runs {start.isoformat()} to {ends.isoformat()}, outside"
            f" the window {first} to {last}; move speed_start or the window"
        ]
    return []


def parse_speed_start(value: Any) -> datetime | None:
    """Read speed_start as an aware datetime, or None if it has no offset."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return None
    if not isinstance(value, datetime) or value.utcoffset() is None:
        return None
    return value


def _zone_or_utc(name: Any) -> ZoneInfo:
    try:
        return ZoneInfo(name) if isinstance(name, str) else ZoneInfo("UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


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
