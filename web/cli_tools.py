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
        query, people = _slot_request(data, request_file.parent)
    except (ValueError, KeyError, TypeError, HoursError) as error:
        raise click.ClickException(f"{request_file}: {error}") from None
    found = find_slots(query, people)
    click.echo(
        json.dumps(
            [{"start": _iso(s.start), "end": _iso(s.end)} for s in found], indent=2
        )
    )


def _slot_request(data: dict[str, Any], base: Path) -> tuple[Any, list[Any]]:
    from calendar_sync.sources import open_source
    from matching.model import Availability
    from matching.slots import SlotQuery

    for key in ("length_minutes", "from", "to", "participants"):
        if key not in data:
            raise KeyError(f"missing key {key!r}")
    query = SlotQuery(
        length_minutes=int(data["length_minutes"]),
        start=_required(data["from"], "from"),
        end=_required(data["to"], "to"),
        interval_minutes=data.get("interval_minutes"),
        now=parse_instant(data.get("now"), "now"),
        buffer_before_minutes=int(data.get("buffer_before_minutes", 0)),
        buffer_after_minutes=int(data.get("buffer_after_minutes", 0)),
        min_notice_minutes=int(data.get("min_notice_minutes", 0)),
    )
    margin = timedelta(days=1)
    people = []
    for person in data["participants"]:
        zone = person.get("timezone", "UTC")
        busy = [
            (_required(a, "busy"), _required(b, "busy"))
            for a, b in person.get("busy", [])
        ]
        options = ReadOptions(owner_timezone=zone)
        for path in person.get("calendars", []):
            calendar = open_source(str(path), base_dir=base, options=options)
            report = calendar.read_busy(query.start - margin, query.end + margin)
            busy += [(b.start, b.end) for b in report.intervals]
        people.append(
            Availability(
                timezone=zone,
                hours=person.get("hours") or "Mon-Sun 00:00-24:00",
                busy=tuple(sorted(busy)),
            )
        )
    return query, people


def _required(value: str, key: str) -> datetime:
    instant = parse_instant(value, key)
    assert instant is not None
    return instant


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
