"""Put calendar fixtures on a CalDAV server, one resource per UID."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path

import icalendar
import requests

from .servers import CalDAVServer

_counter = itertools.count()


@dataclass(frozen=True)
class Rejection:
    """A PUT the server refused, with its status."""

    uid: str
    status: int


def split_by_uid(path: Path) -> dict[str, bytes]:
    """Split a fixture into one VCALENDAR per UID, each with the file's VTIMEZONEs."""
    source = icalendar.Calendar.from_ical(path.read_bytes())
    zones = [c for c in source.subcomponents if c.name == "VTIMEZONE"]
    groups: dict[str, list[icalendar.Component]] = {}
    for component in source.subcomponents:
        if component.name in ("VEVENT", "VFREEBUSY"):
            groups.setdefault(str(component["UID"]), []).append(component)

    resources = {}
    for uid, components in groups.items():
        calendar = icalendar.Calendar()
        for name, value in source.property_items(recursive=False)[1:-1]:
            if name != "METHOD":
                calendar.add(name, value)
        for zone in zones:
            calendar.add_component(zone)
        for component in components:
            calendar.add_component(component)
        resources[uid] = calendar.to_ical()
    return resources


def session_for(server: CalDAVServer) -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    session.auth = (server.username, server.password)
    return session


def new_calendar(server: CalDAVServer, label: str) -> str:
    """Create an empty calendar collection and return its URL."""
    url = f"{server.home_url}{label}-{next(_counter)}/"
    response = session_for(server).request("MKCALENDAR", url, timeout=10)
    response.raise_for_status()
    return url


def upload_fixture(
    server: CalDAVServer, calendar_url: str, path: Path
) -> list[Rejection]:
    """PUT every UID of a fixture; return the PUTs the server rejected."""
    session = session_for(server)
    rejected = []
    for index, (uid, body) in enumerate(split_by_uid(path).items()):
        response = session.put(
            f"{calendar_url}event-{index}.ics",
            data=body,
            headers={"Content-Type": "text/calendar; charset=utf-8"},
            timeout=10,
        )
        if response.status_code >= 300:
            rejected.append(Rejection(uid, response.status_code))
    return rejected
