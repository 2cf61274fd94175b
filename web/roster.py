"""Importing a program's people from a roster CSV file."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from matching.hours import HoursError, parse_hours
from web.audit import record
from web.extensions import db
from web.models import CalendarConnection, Membership, Person, Program, Request

COLUMNS = (
    "email",
    "name",
    "role",
    "site",
    "title",
    "timezone",
    "offers",
    "wants",
    "capacity",
    "hours",
    "calendar",
)
REQUIRED_COLUMNS = ("email", "name", "role", "timezone")
ROLES = ("mentor", "mentee", "both")
EMAIL = re.compile(r"^[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+$")


class RosterError(ValueError):
    """A roster has bad rows; nothing was imported."""

    def __init__(self, path: Path, problems: list[str]) -> None:
        self.problems = problems
        lines = "\n".join(f"  {problem}" for problem in problems)
        super().__init__(
            f"{path}: nothing imported, {len(problems)} problem(s):\n{lines}"
        )


@dataclass
class RosterRow:
    line: int
    email: str
    name: str
    role: str
    site: str
    title: str
    timezone: str
    offers: list[str]
    wants: list[str]
    capacity: int | None
    hours: str
    calendar: str
    tags: str = ""


@dataclass
class ImportSummary:
    created: int = 0
    updated: int = 0
    requests: int = 0
    calendars: int = 0
    people: list[str] = field(default_factory=list)


def import_roster(program: Program, path: Path, actor: str = "cli") -> ImportSummary:
    """Import every row of ``path`` into ``program``, or nothing if any row is bad."""
    rows = read_roster(program, path)
    summary = ImportSummary()
    for row in rows:
        _import_row(program, row, path.parent, summary)
    record(actor, "roster.imported", program, file=path.name, rows=len(rows))
    db.session.commit()
    return summary


def read_roster(program: Program, path: Path) -> list[RosterRow]:
    """Parse and check every row; raise RosterError listing each bad one."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise RosterError(path, ["file not found; check the path"]) from None
    except UnicodeDecodeError as error:
        raise RosterError(
            path, [f"not UTF-8 text ({error}); save it as UTF-8"]
        ) from None

    reader = csv.DictReader(text.splitlines())
    header = [name.strip() for name in reader.fieldnames or []]
    missing = [name for name in REQUIRED_COLUMNS if name not in header]
    if missing and len(header) == 1 and ";" in header[0]:
        raise RosterError(
            path,
            [
                "line 1: the columns are separated by ';'; save the file as "
                "comma-separated CSV (in a spreadsheet: CSV UTF-8, comma)"
            ],
        )
    if missing:
        raise RosterError(
            path,
            [
                f"line 1: missing column(s) {', '.join(missing)}; "
                f"the header is {','.join(COLUMNS)}"
            ],
        )

    rows: list[RosterRow] = []
    problems: list[str] = []
    seen: dict[str, int] = {}
    for raw in reader:
        # line_num counts physical lines, so blank lines and quoted line
        # breaks keep the numbers a spreadsheet shows.
        line = reader.line_num
        extra = raw.pop(None, None)
        values = {k.strip(): (v or "").strip() for k, v in raw.items() if k}
        if not any(values.values()):
            continue
        if extra and any(value.strip() for value in extra):
            problems.append(
                f"line {line}: {len(header) + len(extra)} values but the header "
                f"has {len(header)} columns; remove the extra values or quote "
                "a value that contains a comma"
            )
            continue
        row, row_problems = _check_row(program, line, values, path.parent)
        problems += row_problems
        if row is not None:
            if row.email in seen:
                problems.append(
                    f"line {line}, column email: {row.email!r} already on line "
                    f"{seen[row.email]}; keep one row per person"
                )
            seen[row.email] = line
            rows.append(row)
    if problems:
        raise RosterError(path, problems)
    return rows


def _check_row(
    program: Program, line: int, values: dict[str, str], base: Path
) -> tuple[RosterRow | None, list[str]]:
    problems = []

    def bad(column: str, message: str) -> None:
        problems.append(f"line {line}, column {column}: {message}")

    email = values.get("email", "").lower()
    if not EMAIL.match(email):
        bad(
            "email",
            f"{values.get('email', '')!r} is not an email address; "
            "write it like name@school.org",
        )
    if not values.get("name"):
        bad("name", "empty; write the person's name")
    role = values.get("role", "").lower()
    if role not in ROLES:
        bad(
            "role",
            f"{values.get('role', '')!r} is not a role; use mentor, mentee or both",
        )
    zone = values.get("timezone", "")
    if not _valid_zone(zone):
        bad(
            "timezone",
            f"{zone!r} is not an IANA time zone; "
            "write one like America/Chicago or Europe/Berlin",
        )
    hours = values.get("hours", "")
    if hours:
        try:
            parse_hours(hours)
        except HoursError as error:
            bad("hours", str(error))
    capacity = _capacity(values.get("capacity", ""))
    if capacity == -1:
        bad(
            "capacity",
            f"{values.get('capacity')!r} is not a whole number; "
            "write 0 or more, or leave it empty for the program's capacity",
        )

    offers = _topics(program, line, "offers", values.get("offers", ""), problems)
    wants = _topics(program, line, "wants", values.get("wants", ""), problems)
    if role == "mentee" and offers:
        bad("offers", "a mentee offers no topics; set role to both or clear offers")
    if role == "mentor" and wants:
        bad("wants", "a mentor wants no topics; set role to both or clear wants")
    calendar = _calendar(values.get("calendar", ""), base, bad)

    if problems:
        return None, problems
    return RosterRow(
        line=line,
        email=email,
        name=values["name"],
        role=role,
        site=values.get("site", ""),
        title=values.get("title", ""),
        timezone=zone,
        offers=offers,
        wants=wants,
        capacity=capacity if capacity != -1 else None,
        hours=hours,
        calendar=calendar,
        tags=values.get("tags", ""),
    ), []


def _valid_zone(zone: str) -> bool:
    if not zone or zone not in _zones():
        return False
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


_ZONES: set[str] = set()


def _zones() -> set[str]:
    if not _ZONES:
        _ZONES.update(available_timezones())
    return _ZONES


def _capacity(text: str) -> int | None:
    if not text:
        return None
    if not text.isdigit():
        return -1
    return int(text)


def _topics(
    program: Program, line: int, column: str, text: str, problems: list[str]
) -> list[str]:
    names = []
    for name in (part.strip() for part in text.split(";")):
        if not name:
            continue
        topic = program.topic_named(name)
        if topic is None:
            known = "; ".join(t.name for t in program.topics)
            problems.append(
                f"line {line}, column {column}: unknown topic {name!r}; "
                f"program {program.slug} has: {known}"
            )
        else:
            names.append(topic.name)
    return names


def _calendar(text: str, base: Path, bad) -> str:
    if not text or text.startswith(("http://", "https://")):
        return text
    path = (base / text).resolve()
    if not path.is_file():
        bad(
            "calendar",
            f"{text!r} is not a file next to the roster ({path}); "
            "fix the path or give an http(s) calendar URL",
        )
    return str(path)


def _import_row(
    program: Program, row: RosterRow, base: Path, summary: ImportSummary
) -> None:
    person = db.session.scalar(db.select(Person).filter_by(email=row.email))
    if person is None:
        person = Person(email=row.email)
        db.session.add(person)
        summary.created += 1
    else:
        summary.updated += 1
    person.name, person.site, person.title = row.name, row.site, row.title
    person.timezone, person.hours = row.timezone, row.hours
    if row.tags:
        person.tags = row.tags
    db.session.flush()

    membership = db.session.scalar(
        db.select(Membership).filter_by(program_id=program.id, person_id=person.id)
    )
    if membership is None:
        membership = Membership(program=program, person=person)
        db.session.add(membership)
    membership.role, membership.offers, membership.capacity = (
        row.role,
        row.offers,
        row.capacity,
    )

    summary.requests += _add_requests(program, person, row.wants)
    if row.calendar:
        summary.calendars += _connect_calendar(person, row.calendar)
    summary.people.append(row.email)


def _add_requests(program: Program, person: Person, wants: list[str]) -> int:
    added = 0
    for name in wants:
        topic = program.topic_named(name)
        assert topic is not None  # checked by read_roster
        exists = db.session.scalar(
            db.select(Request).filter_by(
                program_id=program.id, mentee_id=person.id, topic_id=topic.id
            )
        )
        if exists is None:
            db.session.add(Request(program=program, mentee=person, topic=topic))
            added += 1
    return added


def _connect_calendar(person: Person, spec: str) -> int:
    kind = "url" if spec.startswith(("http://", "https://")) else "ics-file"
    if any(c.url == spec for c in person.calendars):
        return 0
    person.calendars.append(CalendarConnection(kind=kind, url=spec))
    return 1
