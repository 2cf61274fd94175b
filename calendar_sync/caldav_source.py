"""CalDAV calendars (RFC 4791): discovery, busy time, events and change checks."""

from __future__ import annotations

import hashlib
import logging
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urljoin, urlsplit
from zoneinfo import ZoneInfo

import icalendar
import requests

from .base import BusyReport, EventSpec, ReadOptions
from .errors import NotFoundError, ServerError
from .feed import new_session, raise_for_status, redact_url, request_error
from .ics import read_ics
from .quirks import GENERIC, ServerQuirks

logger = logging.getLogger(__name__)

PROVIDER = "caldav"

DAV = "DAV:"
CALDAV = "urn:ietf:params:xml:ns:caldav"
CALSERVER = "http://calendarserver.org/ns/"
_NAMESPACES = {"d": DAV, "c": CALDAV, "cs": CALSERVER}

_XML_HEADERS = {"Content-Type": "application/xml; charset=utf-8"}


@dataclass(frozen=True, slots=True)
class CalendarInfo:
    """A calendar collection found on a CalDAV server."""

    url: str
    name: str
    supports_events: bool


class _DAVClient:
    """Plain WebDAV requests with CalendarError mapping for one account."""

    def __init__(
        self,
        username: str | None,
        password: str | None,
        timeout: float,
        calendar: str,
    ) -> None:
        self.session = new_session()
        if username is not None:
            self.session.auth = (username, password or "")
        self.timeout = timeout
        self.calendar = calendar

    def request(
        self,
        method: str,
        url: str,
        body: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> requests.Response:
        """Send one request and raise the CalendarError for a failed response."""
        try:
            response = self.session.request(
                method,
                url,
                data=body.encode("utf-8") if body is not None else None,
                headers=headers,
                timeout=self.timeout,
            )
        except requests.RequestException as exc:
            raise request_error(exc, url, PROVIDER, self.calendar) from exc
        raise_for_status(response, PROVIDER, self.calendar)
        return response

    def multistatus(
        self, method: str, url: str, body: str, depth: str
    ) -> list[tuple[str, ET.Element]]:
        """Send a PROPFIND or REPORT and return (absolute href, response) pairs."""
        headers = {**_XML_HEADERS, "Depth": depth}
        response = self.request(method, url, body, headers)
        try:
            root = ET.fromstring(response.content)
        except ET.ParseError as exc:
            raise ServerError(
                f"{method} {redact_url(url)} returned invalid XML: {exc}",
                provider=PROVIDER,
                calendar=self.calendar,
            ) from exc

        results = []
        for item in root.findall("d:response", _NAMESPACES):
            href = item.findtext("d:href", default="", namespaces=_NAMESPACES)
            results.append((urljoin(url, href.strip()), item))
        return results


def _found_prop(response: ET.Element, path: str) -> ET.Element | None:
    """Find a property inside the propstat whose status is 200."""
    for propstat in response.findall("d:propstat", _NAMESPACES):
        status = propstat.findtext("d:status", default="", namespaces=_NAMESPACES)
        if " 200 " not in f"{status} ":
            continue
        found = propstat.find(f"d:prop/{path}", _NAMESPACES)
        if found is not None:
            return found
    return None


def _href_in(response: ET.Element, path: str, base: str) -> str | None:
    prop = _found_prop(response, path)
    if prop is None:
        return None
    href = prop.findtext("d:href", default="", namespaces=_NAMESPACES).strip()
    return urljoin(base, href) if href else None


_DISCOVERY_PROPFIND = """<?xml version="1.0" encoding="utf-8"?>
<d:propfind xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">
  <d:prop>
    <d:resourcetype/>
    <d:displayname/>
    <d:current-user-principal/>
    <c:calendar-home-set/>
    <c:supported-calendar-component-set/>
  </d:prop>
</d:propfind>"""


def discover_calendars(
    url: str,
    username: str | None,
    password: str | None,
    timeout: float = 10.0,
) -> list[CalendarInfo]:
    """List the calendars reachable from a server, principal or calendar URL."""
    client = _DAVClient(username, password, timeout, redact_url(url))
    start = client.multistatus("PROPFIND", url, _DISCOVERY_PROPFIND, "0")
    if not start:
        raise NotFoundError(
            f"{redact_url(url)} returned no WebDAV properties",
            provider=PROVIDER,
            calendar=client.calendar,
        )
    own_url, own = start[0]
    if _is_calendar(own):
        return [_calendar_info(own_url, own)]

    home = _href_in(own, "c:calendar-home-set", url)
    if home is None:
        principal = _href_in(own, "d:current-user-principal", url)
        if principal is None:
            raise NotFoundError(
                f"{redact_url(url)} names no principal; check the URL and the "
                "user name",
                provider=PROVIDER,
                calendar=client.calendar,
            )
        found = client.multistatus("PROPFIND", principal, _DISCOVERY_PROPFIND, "0")
        home = (
            _href_in(found[0][1], "c:calendar-home-set", principal) if found else None
        )
    if home is None:
        raise NotFoundError(
            f"{redact_url(url)} has no calendar-home-set; is it a CalDAV server?",
            provider=PROVIDER,
            calendar=client.calendar,
        )

    members = client.multistatus("PROPFIND", home, _DISCOVERY_PROPFIND, "1")
    calendars = [
        _calendar_info(href, item) for href, item in members if _is_calendar(item)
    ]
    logger.info("found %d calendars under %s", len(calendars), redact_url(home))
    return calendars


def _is_calendar(response: ET.Element) -> bool:
    resourcetype = _found_prop(response, "d:resourcetype")
    return resourcetype is not None and (
        resourcetype.find("c:calendar", _NAMESPACES) is not None
    )


def _calendar_info(url: str, response: ET.Element) -> CalendarInfo:
    name_prop = _found_prop(response, "d:displayname")
    name = (name_prop.text or "").strip() if name_prop is not None else ""
    if not name:
        name = urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1]

    components = _found_prop(response, "c:supported-calendar-component-set")
    # RFC 4791 section 5.2.3: without the property, every component is allowed.
    supports_events = components is None or any(
        comp.get("name", "").upper() == "VEVENT"
        for comp in components.findall("c:comp", _NAMESPACES)
    )
    return CalendarInfo(url=url, name=name, supports_events=supports_events)


def event_uid(key: str) -> str:
    """Derive the event UID from an idempotency key, the same on every retry."""
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]
    return f"{digest}@torace"


def _caldav_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


_CALENDAR_QUERY = """<?xml version="1.0" encoding="utf-8"?>
<c:calendar-query xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">
  <d:prop><d:getetag/><c:calendar-data/></d:prop>
  <c:filter>
    <c:comp-filter name="VCALENDAR">
      <c:comp-filter name="{component}">{inner}</c:comp-filter>
    </c:comp-filter>
  </c:filter>
</c:calendar-query>"""

_FREE_BUSY_QUERY = """<?xml version="1.0" encoding="utf-8"?>
<c:free-busy-query xmlns:c="urn:ietf:params:xml:ns:caldav">
  <c:time-range start="{start}" end="{end}"/>
</c:free-busy-query>"""

_STATE_PROPFIND = """<?xml version="1.0" encoding="utf-8"?>
<d:propfind xmlns:d="DAV:" xmlns:cs="http://calendarserver.org/ns/">
  <d:prop><d:sync-token/><cs:getctag/><d:getetag/></d:prop>
</d:propfind>"""


class CalDAVSource:
    """One CalDAV calendar collection, read for busy time and written with events."""

    provider = PROVIDER

    def __init__(
        self,
        url: str,
        username: str | None,
        password: str | None,
        options: ReadOptions,
        timeout: float = 10.0,
        *,
        quirks: ServerQuirks = GENERIC,
    ) -> None:
        self.url = url if url.endswith("/") else url + "/"
        self.calendar = redact_url(self.url)
        self.options = options
        self.quirks = quirks
        self._client = _DAVClient(username, password, timeout, self.calendar)

    def read_busy(self, start: datetime, end: datetime) -> BusyReport:
        """Read the busy intervals overlapping ``[start, end)``, raising on failure."""
        if self.quirks.freebusy_query_trusted:
            return self.read_free_busy_query(start, end)
        events = self.fetch_events(start, end)
        if not events:
            return BusyReport()
        return read_ics(events, start, end, self.options, self.calendar)

    def read_free_busy_query(self, start: datetime, end: datetime) -> BusyReport:
        """Send a free-busy-query REPORT and read the VFREEBUSY the server returns."""
        body = _FREE_BUSY_QUERY.format(start=_caldav_time(start), end=_caldav_time(end))
        headers = {**_XML_HEADERS, "Depth": "1"}
        response = self._client.request("REPORT", self.url, body, headers)
        return read_ics(response.content, start, end, self.options, self.calendar)

    def fetch_events(self, start: datetime, end: datetime) -> str:
        """Fetch the raw events that may touch the window, as one iCalendar text."""
        margin = self.quirks.time_range_margin
        time_range = (
            f'<c:time-range start="{_caldav_time(start - margin)}" '
            f'end="{_caldav_time(end + margin)}"/>'
        )
        bodies = self._query("VEVENT", time_range)
        if self.quirks.time_range_misses_rdate:
            bodies.update(self._query("VEVENT", '<c:prop-filter name="RDATE"/>'))
        if self.quirks.stores_freebusy_objects:
            bodies.update(self._query("VFREEBUSY", time_range))
        logger.info("read %d events from %s", len(bodies), self.calendar)
        return "\n".join(bodies.values())

    def _query(self, component: str, inner: str) -> dict[str, str]:
        body = _CALENDAR_QUERY.format(component=component, inner=inner)
        bodies = {}
        for href, item in self._client.multistatus("REPORT", self.url, body, "1"):
            data = _found_prop(item, "c:calendar-data")
            if data is not None and data.text:
                bodies[href] = data.text
        return bodies

    def event_url(self, event: EventSpec) -> str:
        """Return the URL of the resource that contains ``event``."""
        return urljoin(self.url, event_uid(event.key).replace("@", "-") + ".ics")

    def upsert_event(self, event: EventSpec) -> str:
        """PUT the event at a URL derived from its key; a retry overwrites it."""
        url = self.event_url(event)
        headers = {"Content-Type": "text/calendar; charset=utf-8"}
        self._client.request("PUT", url, build_event(event).decode("utf-8"), headers)
        logger.info("stored event %s in %s", event_uid(event.key), self.calendar)
        return url

    def cancel_event(self, event: EventSpec) -> None:
        """DELETE the event's resource; an event already gone is fine."""
        try:
            self._client.request("DELETE", self.event_url(event))
        except NotFoundError:
            logger.info("event %s already absent", event_uid(event.key))

    def changed_since(self, state: str | None) -> tuple[bool, str | None]:
        """Compare the collection's sync token (or CTag, or ETag) with ``state``.

        Returns whether the calendar may have changed and the state to pass
        next time. A server that reports none of the three always counts as
        changed.
        """
        found = self._client.multistatus("PROPFIND", self.url, _STATE_PROPFIND, "0")
        new_state = None
        if found:
            for path in ("d:sync-token", "cs:getctag", "d:getetag"):
                prop = _found_prop(found[0][1], path)
                value = (prop.text or "").strip() if prop is not None else ""
                if value:
                    new_state = f"{path}={value}"
                    break
        changed = state is None or new_state is None or new_state != state
        return changed, new_state


def build_event(event: EventSpec) -> bytes:
    """Serialise an EventSpec as a VCALENDAR with its VTIMEZONE."""
    zone = ZoneInfo(event.timezone)
    vevent = icalendar.Event()
    vevent.add("UID", event_uid(event.key))
    vevent.add("DTSTAMP", datetime.now(UTC))
    vevent.add("DTSTART", event.start.astimezone(zone))
    vevent.add("DTEND", event.end.astimezone(zone))
    vevent.add("SUMMARY", event.summary)
    if event.description:
        vevent.add("DESCRIPTION", event.description)
    if event.location:
        vevent.add("LOCATION", event.location)
    vevent.add("SEQUENCE", event.sequence)
    vevent.add("STATUS", "CONFIRMED")
    vevent.add("TRANSP", "OPAQUE")

    organizer = icalendar.vCalAddress(f"mailto:{event.organizer.email}")
    organizer.params["CN"] = event.organizer.name
    vevent.add("ORGANIZER", organizer)
    for person in event.attendees:
        attendee = icalendar.vCalAddress(f"mailto:{person.email}")
        attendee.params["CN"] = person.name
        attendee.params["ROLE"] = "REQ-PARTICIPANT"
        attendee.params["PARTSTAT"] = "NEEDS-ACTION"
        attendee.params["RSVP"] = "TRUE"
        vevent.add("ATTENDEE", attendee)

    calendar = icalendar.Calendar()
    calendar.add("PRODID", "-//Torace//calendar_sync//EN")
    calendar.add("VERSION", "2.0")
    calendar.add_component(vevent)
    calendar.add_missing_timezones()
    return calendar.to_ical()
