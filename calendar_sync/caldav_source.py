"""CalDAV calendars (RFC 4791): discovery, busy time, events and change checks.

The transport is the caldav library's DAVClient, bound to the calendar's own
host: no RFC 6764 DNS discovery, no rate-limit sleeps, no retries, no proxy
or netrc from the environment, and no request to any other host.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Coroutine, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any, ClassVar, TypeVar
from urllib.parse import urljoin, urlsplit
from zoneinfo import ZoneInfo

import icalendar
import niquests
from caldav.calendarobjectresource import Event
from caldav.collection import Calendar, CalendarSet, Principal
from caldav.davclient import DAVClient
from caldav.elements import cdav, dav
from caldav.elements.base import BaseElement
from caldav.lib import error as dav_error
from caldav.response import DAVResponse, PropfindResult
from lxml import etree

from .base import BusyReport, EventSpec, ReadOptions
from .errors import (
    AuthError,
    CalendarError,
    InvalidDataError,
    NotFoundError,
    ProviderTimeoutError,
    RateLimitedError,
    ServerError,
)
from .feed import redact_url, retry_after_seconds
from .ics import read_ics
from .quirks import GENERIC, ServerQuirks

logger = logging.getLogger(__name__)

PROVIDER = "caldav"

_T = TypeVar("_T")

_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True, slots=True)
class CalendarInfo:
    """A calendar collection found on a CalDAV server."""

    url: str
    name: str
    supports_events: bool


class _GetCTag(BaseElement):
    """CalendarServer's collection tag (getctag), which caldav has no element for."""

    tag: ClassVar[str] = "{http://calendarserver.org/ns/}getctag"


def _origin(url: str) -> tuple[str, str, int]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    return scheme, (parts.hostname or ""), parts.port or _DEFAULT_PORTS.get(scheme, 0)


def _same_host(allowed: tuple[str, str, int], url: str) -> bool:
    """Tell whether ``url`` is on the allowed origin, or its https upgrade."""
    target = _origin(url)
    if target == allowed:
        return True
    # The one cross-origin step allowed: http to https on the default ports,
    # the redirect servers send when a user typed http://.
    scheme, host, port = allowed
    return (scheme, port) == ("http", 80) and target == ("https", host, 443)


def _foreign_host_error(target: str, host: str, calendar: str) -> CalendarError:
    return CalendarError(
        f"the server pointed to {redact_url(target)}, which is not on {host}; "
        "Torace only talks to the host it was given",
        provider=PROVIDER,
        calendar=calendar,
    )


def _pinned_session(url: str, calendar: str) -> niquests.Session:
    """Build a session whose every request, redirects included, stays on url's host."""
    allowed = _origin(url)

    def reject_other_hosts(
        request: niquests.PreparedRequest | niquests.Response,
    ) -> None:
        target = request.url or ""
        if isinstance(request, niquests.PreparedRequest) and not _same_host(
            allowed, target
        ):
            raise _foreign_host_error(target, allowed[1], calendar)

    # By default niquests asks the CA about certificate revocation (OCSP or
    # CRL) and may follow Alt-Svc to HTTP/3 on another host. Both would leave
    # the calendar's host.
    session = niquests.Session(revocation_configuration=None, disable_http3=True)
    session.trust_env = False
    session.hooks["pre_request"].append(reject_other_hosts)
    return session


class _DAVClient(DAVClient):
    """A DAVClient for one account that raises CalendarError for every failure."""

    def __init__(
        self,
        url: str,
        username: str | None,
        password: str | None,
        timeout: float,
        calendar: str,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme.lower() not in _DEFAULT_PORTS or not parts.hostname:
            raise CalendarError(
                f"{redact_url(url)!r} is not an http(s) URL; give the calendar "
                "server's full address, starting with https://",
                provider=PROVIDER,
                calendar=calendar,
            )
        super().__init__(
            url=url,
            username=username,
            password=(password or "") if username is not None else password,
            # Basic credentials go with the first request, as they did before
            # caldav. Without auth_type, caldav waits for a 401 challenge.
            auth_type="basic" if username is not None else None,
            timeout=timeout,  # type: ignore[arg-type]  # niquests takes seconds as float
            enable_rfc6764=False,
            rate_limit_handle=False,
        )
        self.label = calendar
        self.base = url
        self.session.close()
        self.session = _pinned_session(url, calendar)

    def resolve(self, href: str) -> str:
        """Resolve an href from a response, raising if it is on another host."""
        target = urljoin(self.base, href)
        if not _same_host(_origin(self.base), target):
            raise _foreign_host_error(target, _origin(self.base)[1], self.label)
        return target

    def request(
        self,
        url: str,
        method: str = "GET",
        body: str = "",
        headers: Mapping[str, str] | None = None,
        rate_limit_time_slept: float = 0,
    ) -> DAVResponse:
        """Send one request and raise the CalendarError for a failed response.

        caldav raises for some statuses only, with the status and reason
        folded into its message, and treats a 404 to DELETE as success. Every
        request of the library passes here, where the method, URL and
        headers are still at hand.
        """
        where = f"{method} {redact_url(str(url))}"
        try:
            response = super().request(
                url, method, body, headers or {}, rate_limit_time_slept
            )
        except dav_error.RateLimitError as exc:
            status = exc.status or 429
            raise RateLimitedError(
                f"{where} failed with HTTP {status} {_phrase(status)}",
                provider=PROVIDER,
                calendar=self.label,
                retry_after=retry_after_seconds(exc.retry_after),
            ) from exc
        except dav_error.AuthorizationError as exc:
            raise AuthError(
                f"{where} failed with HTTP {exc.status} {exc.reason}; check the "
                "user name and password",
                provider=PROVIDER,
                calendar=self.label,
            ) from exc
        except niquests.exceptions.Timeout as exc:
            raise ProviderTimeoutError(
                f"{redact_url(str(url))} timed out",
                provider=PROVIDER,
                calendar=self.label,
            ) from exc
        except niquests.exceptions.RequestException as exc:
            raise ServerError(
                f"{where} failed: {type(exc).__name__}",
                provider=PROVIDER,
                calendar=self.label,
            ) from exc
        except etree.XMLSyntaxError as exc:
            raise self._invalid(f"{where} returned invalid XML: {exc}") from exc

        self._raise_for_status(response, where)
        self._check_multistatus(response, method, body, where)
        return response

    def _raise_for_status(self, response: DAVResponse, where: str) -> None:
        status = response.status
        if status < 300:
            return

        reason = response.reason or _phrase(status)
        message = f"{where} failed with HTTP {status} {reason}"
        if status in (404, 410):
            raise NotFoundError(message, provider=PROVIDER, calendar=self.label)
        if status >= 500:
            raise ServerError(message, provider=PROVIDER, calendar=self.label)
        raise CalendarError(message, provider=PROVIDER, calendar=self.label)

    def _check_multistatus(
        self, response: DAVResponse, method: str, body: str | bytes, where: str
    ) -> None:
        """Raise unless a PROPFIND or REPORT response is a multistatus.

        caldav reads any other body as no results, which would turn a login
        page into an empty, free calendar. The response to a free-busy-query
        is iCalendar text instead (RFC 4791 section 7.10), which ``read_ics``
        checks.
        """
        if method not in ("PROPFIND", "REPORT"):
            return
        tree = response.tree
        if tree is not None and tree.tag in (dav.MultiStatus.tag, "xml"):
            return
        text = body.decode("utf-8") if isinstance(body, bytes) else body
        if method == "REPORT" and "free-busy-query" in text:
            return
        content_type = response.headers.get("Content-Type", "none")
        raise self._invalid(
            f"{where} returned no WebDAV multistatus (Content-Type {content_type}); "
            "check that the URL is a CalDAV calendar"
        )

    def _invalid(self, message: str) -> InvalidDataError:
        return InvalidDataError(message, provider=PROVIDER, calendar=self.label)


def _synchronous(value: _T | Coroutine[Any, Any, _T]) -> _T:
    """Narrow caldav's sync-or-async return type: this client is synchronous."""
    if isinstance(value, Coroutine):
        value.close()
        raise TypeError("caldav returned a coroutine to a synchronous client")
    return value


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


@contextmanager
def _library_errors(calendar: str) -> Iterator[None]:
    """Turn what caldav raises for a response it cannot use into a CalendarError.

    HTTP failures never get here: ``_DAVClient.request`` raised for them.
    """
    try:
        yield
    except dav_error.NotFoundError as exc:
        raise NotFoundError(
            "the server reported the resource missing",
            provider=PROVIDER,
            calendar=calendar,
        ) from exc
    except dav_error.DAVError as exc:
        raise InvalidDataError(
            f"the server's response could not be read ({type(exc).__name__})",
            provider=PROVIDER,
            calendar=calendar,
        ) from exc


def _properties(
    client: _DAVClient, url: str, props: list[BaseElement]
) -> dict[str, Any]:
    """PROPFIND ``props`` at depth 0 and return the first response's values.

    Calendar.get_properties would log library assertion errors, and return
    None for every property, when a server names no resource at all.
    """
    body = dav.Propfind() + (dav.Prop() + props)
    xml = etree.tostring(body.xmlelement(), encoding="utf-8", xml_declaration=True)
    with _library_errors(client.label):
        results = client.propfind(url, xml.decode("utf-8"), depth=0).results or []
    if results and results[0].status == 404:
        # Xandikos responds this way to a PROPFIND on a missing collection.
        raise NotFoundError(
            f"PROPFIND {redact_url(url)} reported HTTP 404 inside its multistatus",
            provider=PROVIDER,
            calendar=client.label,
        )
    if not results:
        raise NotFoundError(
            f"{redact_url(url)} returned no WebDAV properties",
            provider=PROVIDER,
            calendar=client.label,
        )
    first = results[0]
    return first.properties if isinstance(first, PropfindResult) else {}


_DISCOVERY_PROPS = (
    dav.ResourceType,
    dav.DisplayName,
    dav.CurrentUserPrincipal,
    cdav.CalendarHomeSet,
)


def discover_calendars(
    url: str,
    username: str | None,
    password: str | None,
    timeout: float = 10.0,
) -> list[CalendarInfo]:
    """List the calendars reachable from a server, principal or calendar URL."""
    label = redact_url(url)
    with _DAVClient(url, username, password, timeout, label) as client:
        own = _properties(client, url, [prop() for prop in _DISCOVERY_PROPS])
        if cdav.Calendar.tag in (own.get(dav.ResourceType.tag) or []):
            props = {dav.DisplayName.tag: own.get(dav.DisplayName.tag)}
            return [_calendar_info(client.calendar(url=url, props=props), label)]

        home = _calendar_home(client, url, own)
        with _library_errors(label):
            found = _synchronous(home.get_calendars())
        calendars = [_calendar_info(calendar, label) for calendar in found]
    logger.info(
        "found %d calendars under %s", len(calendars), redact_url(str(home.url))
    )
    return calendars


def _calendar_home(client: _DAVClient, url: str, own: dict[str, Any]) -> CalendarSet:
    """Find the calendar-home-set on ``url`` itself or on its principal."""
    home = own.get(cdav.CalendarHomeSet.tag)
    principal_href = own.get(dav.CurrentUserPrincipal.tag)
    if home:
        principal = Principal(client=client, url=url)
    elif principal_href:
        principal = Principal(client=client, url=client.resolve(principal_href))
        found = _properties(client, str(principal.url), [cdav.CalendarHomeSet()])
        home = found.get(cdav.CalendarHomeSet.tag)
    else:
        raise NotFoundError(
            f"{redact_url(url)} names no principal; check the URL and the user name",
            provider=PROVIDER,
            calendar=client.label,
        )
    if not home:
        raise NotFoundError(
            f"{redact_url(url)} has no calendar-home-set; is it a CalDAV server?",
            provider=PROVIDER,
            calendar=client.label,
        )

    # caldav returns a list when the property contains several hrefs.
    # NOTE: resolve() rejects a home on another host, so iCloud, whose home
    # is on a per-account host (pNN-caldav.icloud.com), cannot be discovered.
    first = home[0] if isinstance(home, list) else home
    principal.calendar_home_set = client.resolve(first)
    return principal.calendar_home_set


def _calendar_info(calendar: Calendar, label: str) -> CalendarInfo:
    url = str(calendar.url)
    name = str(calendar.props.get(dav.DisplayName.tag) or "").strip()
    if not name:
        name = urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1]

    # RFC 4791 section 5.2.3: without the property, every component is
    # allowed, and caldav then lists the RFC's defaults, VEVENT among them.
    with _library_errors(label):
        components = _synchronous(calendar.get_supported_components())
    supports_events = any(str(c).upper() == "VEVENT" for c in components)
    return CalendarInfo(url=url, name=name, supports_events=supports_events)


def resource_name(key: str) -> str:
    """Derive the event's resource name from its key, the same on every retry.

    The key itself becomes the event's UID, so the event matches the emailed
    invitation of the same session; the name is a hash so any key is safe in
    a URL.
    """
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]
    return f"{digest}-torace"


def _calendar_query(component: str, condition: BaseElement) -> str:
    """Build a calendar-query REPORT body asking for the raw calendar data."""
    component_filter = cdav.CompFilter(component) + condition
    query = cdav.CalendarQuery() + [
        dav.Prop() + [dav.GetEtag(), cdav.CalendarData()],
        cdav.Filter() + (cdav.CompFilter("VCALENDAR") + component_filter),
    ]
    xml = etree.tostring(query.xmlelement(), encoding="utf-8", xml_declaration=True)
    return xml.decode("utf-8")


_STATE_PROPS = (
    ("d:sync-token", dav.SyncToken),
    ("cs:getctag", _GetCTag),
    ("d:getetag", dav.GetEtag),
)


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
        self._client = _DAVClient(self.url, username, password, timeout, self.calendar)
        self._collection = self._client.calendar(url=self.url)

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
        with _library_errors(self.calendar):
            answer = _synchronous(self._collection.freebusy_request(start, end))
        return read_ics(answer.data or "", start, end, self.options, self.calendar)

    def fetch_events(self, start: datetime, end: datetime) -> str:
        """Fetch the raw events that may touch the window, as one iCalendar text."""
        margin = self.quirks.time_range_margin
        time_range = cdav.TimeRange(start - margin, end + margin)
        bodies = self._query("VEVENT", time_range)
        if self.quirks.time_range_misses_rdate:
            bodies.update(self._query("VEVENT", cdav.PropFilter("RDATE")))
        if self.quirks.stores_freebusy_objects:
            bodies.update(self._query("VFREEBUSY", time_range))
        logger.info("read %d events from %s", len(bodies), self.calendar)
        return "\n".join(bodies.values())

    def _query(self, component: str, condition: BaseElement) -> dict[str, str]:
        """Send one calendar-query and return the calendar data by href.

        Calendar.search is not used: it drops VFREEBUSY objects and data it
        cannot parse, filters times in the process's own time zone, and
        replaces a presence filter such as RDATE with a fetch of everything.
        """
        body = _calendar_query(component, condition)
        with _library_errors(self.calendar):
            response = self._client.report(self.url, body, depth=1)
            results = response.parse_calendar_query()
        return {item.href: item.calendar_data for item in results if item.calendar_data}

    def event_url(self, event: EventSpec) -> str:
        """Return the URL of the resource that contains ``event``."""
        # Not caldav's URL from the UID (which keeps "@" as %40): events
        # written before the move to caldav must still be found.
        return urljoin(self.url, resource_name(event.key) + ".ics")

    def upsert_event(self, event: EventSpec) -> str:
        """PUT the event at a URL derived from its key; a retry overwrites it."""
        url = self.event_url(event)
        resource = Event(self._client, url=url, parent=self._collection)
        # raw_data sends these bytes once, as they are: no SEQUENCE bump, no
        # cleaned-up second PUT after a failure.
        with _library_errors(self.calendar):
            resource.save(raw_data=build_event(event))
        logger.info("stored event %s in %s", event.key, self.calendar)
        return url

    def cancel_event(self, event: EventSpec) -> None:
        """DELETE the event's resource; an event already gone is fine."""
        resource = Event(
            self._client, url=self.event_url(event), parent=self._collection
        )
        try:
            with _library_errors(self.calendar):
                resource.delete()
        except NotFoundError:
            logger.info("event %s already absent", event.key)

    def changed_since(self, state: str | None) -> tuple[bool, str | None]:
        """Compare the collection's sync token (or CTag, or ETag) with ``state``.

        Returns whether the calendar may have changed and the state to pass
        next time. A server that reports none of the three always counts as
        changed. Only the token is read: a sync-collection REPORT would also
        send every changed object, which the caller reads anyway.
        """
        found = _properties(self._client, self.url, [p() for _, p in _STATE_PROPS])
        new_state = None
        for name, prop in _STATE_PROPS:
            value = found.get(prop.tag)
            if isinstance(value, str) and value.strip():
                new_state = f"{name}={value.strip()}"
                break
        changed = state is None or new_state is None or new_state != state
        return changed, new_state


def build_event(event: EventSpec) -> bytes:
    """Serialise an EventSpec as a VCALENDAR with its VTIMEZONE."""
    zone = ZoneInfo(event.timezone)
    vevent = icalendar.Event()
    vevent.add("UID", event.key)
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
