"""Commands that work without a database (busy, slots) and the demo."""

from __future__ import annotations

import json
import os
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click
from flask import current_app
from flask.cli import with_appcontext
from werkzeug.serving import run_simple

from calendar_sync.base import BusyInterval, ReadOptions
from calendar_sync.errors import CalendarError
from web.cli_common import parse_instant

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _iso(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _interval_json(intervals: list[BusyInterval]) -> list[dict[str, str]]:
    return [{"start": _iso(b.start), "end": _iso(b.end)} for b in intervals]


@click.command()
@click.argument("source")
@click.option(
    "--start", required=True, help="Range start, ISO 8601 (UTC if no offset)."
)
@click.option("--end", required=True, help="Range end, ISO 8601 (UTC if no offset).")
@click.option(
    "--timezone",
    "zone",
    default="UTC",
    show_default=True,
    help="The owner's IANA zone, for floating times and all-day events.",
)
@click.option("--owner", help="The owner's email, to read their PARTSTAT.")
@click.option(
    "--username", help="CalDAV user; the password is read from TORACE_CALDAV_PASSWORD."
)
@click.option("--format", "fmt", type=click.Choice(["json"]), default="json")
def busy(
    source: str,
    start: str,
    end: str,
    zone: str,
    owner: str | None,
    username: str | None,
    fmt: str,
) -> None:
    """Print the busy intervals of one calendar SOURCE as JSON in UTC.

    SOURCE is an .ics file, an ICS feed URL or a CalDAV calendar URL.
    """
    from calendar_sync.sources import open_source

    begin, finish = parse_instant(start, "--start"), parse_instant(end, "--end")
    assert begin is not None and finish is not None
    if finish <= begin:
        raise click.BadParameter("must be after --start", param_hint="--end")
    options = ReadOptions(owner_timezone=_zone(zone), owner_email=owner)
    try:
        calendar = open_source(
            source,
            base_dir=Path.cwd(),
            options=options,
            username=username,
            password=os.environ.get("TORACE_CALDAV_PASSWORD"),
        )
        report = calendar.read_busy(begin, finish)
    except CalendarError as error:
        raise click.ClickException(str(error)) from None
    for warning in report.warnings:
        uid = f" (UID {warning.uid})" if warning.uid else ""
        click.echo(f"warning: {warning.calendar}{uid}: {warning.message}", err=True)
    click.echo(json.dumps(_interval_json(report.intervals), indent=2))


def _zone(name: str) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise click.BadParameter(
            f"{name!r} is not an IANA time zone; write one like America/Chicago",
            param_hint="--timezone",
        ) from None
    return name


@click.command()
@click.argument("request_file", type=click.Path(exists=True, path_type=Path))
def slots(request_file: Path) -> None:
    """Print the free slots described by REQUEST_FILE (JSON) as JSON in UTC."""
    from matching.hours import HoursError
    from matching.slots import find_slots

    try:
        data = json.loads(request_file.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise click.ClickException(
            f"{request_file} is not valid JSON: {error}"
        ) from None
    try:
        query, people = _slot_request(data, request_file.parent)
        found = find_slots(query, people)
    except SlotRequestError as error:
        raise click.ClickException(f"{request_file}: {error}") from None
    except (HoursError, CalendarError, ValueError) as error:
        raise click.ClickException(f"{request_file}: {error}") from None
    click.echo(
        json.dumps(
            [{"start": _iso(s.start), "end": _iso(s.end)} for s in found], indent=2
        )
    )


class SlotRequestError(ValueError):
    """A slot request file has a missing or invalid value."""


MAX_SLOT_RANGE = timedelta(days=366)
"""Longest ``from``-``to`` range one request may ask about; a finer grid over a
longer range would list millions of slots."""

SLOT_EXAMPLE = (
    '{"length_minutes": 45, "from": "2027-01-11T00:00:00Z", '
    '"to": "2027-01-16T00:00:00Z", "participants": [{"timezone": '
    '"America/Chicago", "hours": "Mon-Fri 09:00-17:00"}]}'
)


def _slot_request(data: Any, base: Path) -> tuple[Any, list[Any]]:
    from matching.model import Availability
    from matching.slots import SlotQuery

    if not isinstance(data, dict):
        raise SlotRequestError(f"the request must be a JSON object like {SLOT_EXAMPLE}")
    missing = [
        k for k in ("length_minutes", "from", "to", "participants") if k not in data
    ]
    if missing:
        raise SlotRequestError(
            f"missing key(s) {', '.join(missing)}; a request looks like {SLOT_EXAMPLE}"
        )
    start, end = _instant(data["from"], "from"), _instant(data["to"], "to")
    if end <= start:
        raise SlotRequestError(f"'to' {data['to']} must be after 'from' {data['from']}")
    if end - start > MAX_SLOT_RANGE:
        raise SlotRequestError(
            f"'from' to 'to' spans {(end - start).days} days; ask for at most "
            f"{MAX_SLOT_RANGE.days} days at a time"
        )
    interval = data.get("interval_minutes")
    query = SlotQuery(
        length_minutes=_minutes(data, "length_minutes", low=1),
        start=start,
        end=end,
        interval_minutes=None
        if interval is None
        else _minutes(data, "interval_minutes", low=1),
        now=None if data.get("now") is None else _instant(data["now"], "now"),
        buffer_before_minutes=_minutes(data, "buffer_before_minutes"),
        buffer_after_minutes=_minutes(data, "buffer_after_minutes"),
        min_notice_minutes=_minutes(data, "min_notice_minutes"),
    )
    participants = data["participants"]
    if not isinstance(participants, list) or not participants:
        raise SlotRequestError("'participants' must be a non-empty list of objects")
    people = [
        Availability(
            timezone=person.get("timezone", "UTC"),
            hours=person.get("hours") or "Mon-Sun 00:00-24:00",
            busy=tuple(sorted(_participant_busy(person, number, query, base))),
        )
        for number, person in enumerate(participants, start=1)
        if _is_participant(person, number)
    ]
    return query, people


def _is_participant(person: Any, number: int) -> bool:
    if not isinstance(person, dict):
        raise SlotRequestError(
            f"participant {number} must be an object with timezone, hours, "
            "calendars and busy"
        )
    for key, kind in (
        ("timezone", str),
        ("hours", str),
        ("calendars", list),
        ("busy", list),
    ):
        if (
            key in person
            and person[key] is not None
            and not isinstance(person[key], kind)
        ):
            raise SlotRequestError(
                f"participant {number}: {key!r} must be a {kind.__name__}"
            )
    return True


def _participant_busy(
    person: dict[str, Any], number: int, query: Any, base: Path
) -> list[tuple[datetime, datetime]]:
    from calendar_sync.sources import open_source

    busy = []
    for pair in person.get("busy") or []:
        if not isinstance(pair, list) or len(pair) != 2:
            raise SlotRequestError(
                f"participant {number}: each busy entry must be [start, end], "
                f"not {pair!r}"
            )
        busy.append((_instant(pair[0], "busy"), _instant(pair[1], "busy")))
    options = ReadOptions(owner_timezone=person.get("timezone", "UTC"))
    margin = timedelta(days=1)
    for path in person.get("calendars") or []:
        calendar = open_source(str(path), base_dir=base, options=options)
        report = calendar.read_busy(query.start - margin, query.end + margin)
        busy += [(b.start, b.end) for b in report.intervals]
    return busy


def _minutes(data: dict[str, Any], key: str, low: int = 0) -> int:
    value = data.get(key, 0)
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise SlotRequestError(
            f"{key!r} is {value!r}; give a whole number of minutes, {low} or more"
        )
    return value


def _instant(value: Any, key: str) -> datetime:
    if not isinstance(value, str):
        raise SlotRequestError(
            f"{key!r} is {value!r}; write a time like 2027-01-11T09:00:00Z"
        )
    try:
        instant = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise SlotRequestError(
            f"{key!r} is {value!r}; write a time like 2027-01-11T09:00:00Z"
        ) from None
    return instant if instant.tzinfo else instant.replace(tzinfo=UTC)


@click.command()
@click.option("--no-serve", is_flag=True, help="Stop after writing the mail.")
@click.option("--port", default=5000, show_default=True, help="Port to serve on.")
@with_appcontext
def demo(no_serve: bool, port: int) -> None:
    """Load the bundled example, match, approve, write the mail, then serve."""
    from flask_migrate import upgrade

    from web.demo import run_demo

    upgrade(directory=current_app.extensions["migrate"].directory)
    password = os.environ.get("TORACE_ADMIN_PASSWORD") or secrets.token_urlsafe(9)
    report = run_demo(EXAMPLES / "demo", password)
    for line in report:
        click.echo(line)
    if no_serve:
        return
    base_url = current_app.config["TORACE"].base_url
    if f":{port}" not in base_url:
        click.echo(
            f"note: links in the mail start with {base_url}; set "
            f"TORACE_BASE_URL=http://127.0.0.1:{port} to match --port",
            err=True,
        )
    # Flask's app.run() refuses to block inside a `flask` CLI command, so the
    # development server is started directly.
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    run_simple("127.0.0.1", port, app, threaded=True)
