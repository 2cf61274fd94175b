"""Microsoft 365 and Outlook.com calendars through MSAL and Microsoft Graph.

Work and school accounts are read with ``getSchedule``, at most 20 schedules
and 60 days per call (Graph documents 20 entities and under 62 days). Personal
accounts are read with ``calendarView`` because ``getSchedule`` does not
support them. A schedule that carries an ``error`` is ``unknown``, never free.
Events are created with a ``transactionId`` and a single-value extended
property that contains the idempotency key, so an unclear failure is followed
by a lookup before any retry.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import msal
import requests

from .base import (
    BusyInterval,
    BusyKind,
    BusyReport,
    CalendarWarning,
    EventSpec,
    ReadOptions,
)
from .errors import (
    AuthError,
    CalendarError,
    InvalidDataError,
    NotFoundError,
    ProviderTimeoutError,
    RateLimitedError,
    ServerError,
)
from .freebusy import clip_intervals, merge_intervals
from .ranges import batched, check_range, split_range
from .zones import iana_name

logger = logging.getLogger(__name__)

PROVIDER = "microsoft"
GRAPH_URL = "https://graph.microsoft.com/v1.0"
SCOPES = ("https://graph.microsoft.com/Calendars.ReadWrite",)
MAX_SCHEDULES_PER_CALL = 20
MAX_SCHEDULE_RANGE = timedelta(days=60)
# Only scheduleItems are read, so the coarsest view keeps replies small.
AVAILABILITY_VIEW_INTERVAL = 1440
CALENDAR_VIEW_PAGE_SIZE = 100

# Fixed ids: changing either makes existing bookings' events unfindable.
TRANSACTION_NAMESPACE = uuid.UUID("8f0b6c2a-4d1e-4e77-9a35-6c0d2b9e1f47")
KEY_PROPERTY_ID = "String {b2f6e0d4-7c1a-4f3e-8d59-0a4c6e2b9d71} Name ToraceKey"

# showAs / schedule item status, compared in lower case. Free time and
# working elsewhere do not block; an unrecognised value blocks like busy.
_STATUS_KINDS: dict[str, BusyKind | None] = {
    "free": None,
    "workingelsewhere": None,
    "tentative": "tentative",
    "busy": "busy",
    "oof": "unavailable",
    "unknown": "busy",
}


class _UnreadableSchedule(Exception):
    """A schedule whose busy time cannot be read. The message gives the reason."""


def transaction_id_for(key: str) -> str:
    """Derive the Graph ``transactionId`` for an idempotency key."""
    return str(uuid.uuid5(TRANSACTION_NAMESPACE, key))


# -- MSAL ----------------------------------------------------------------


class MicrosoftAuth:
    """MSAL sign-in and silent refresh, with one token cache per connection.

    The cache is passed in and returned as a string so the caller can store it
    encrypted with the connection.
    """

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        authority: str,
        http_client: Any = None,
        *,
        scopes: Sequence[str] = SCOPES,
        timeout: float = 20.0,
    ) -> None:
        self._client_id = client_id
        self._client_secret = client_secret
        self._authority = authority
        self._http_client = http_client
        self._scopes = list(scopes)
        self._timeout = timeout
        # Lets MSAL reuse its OpenID discovery reply across app objects.
        self._http_cache: dict[Any, Any] = {}

    def initiate(
        self,
        redirect_uri: str,
        state: str | None = None,
        *,
        response_mode: str = "form_post",
    ) -> dict[str, Any]:
        """Start the auth-code flow; store the returned dict until ``complete``.

        With the default ``form_post`` the code arrives as a cross-site POST
        to ``redirect_uri``, which carries no SameSite=Lax cookie, so keep the
        flow on the server under its ``state`` rather than in the session.
        """
        app = self._app(msal.SerializableTokenCache(), "(new connection)")
        flow = app.initiate_auth_code_flow(
            self._scopes,
            redirect_uri=redirect_uri,
            state=state,
            prompt="select_account",
            response_mode=response_mode,
        )
        return dict(flow)

    def complete(
        self, flow: dict[str, Any], query_args: dict[str, str]
    ) -> tuple[str, str]:
        """Finish sign-in from the reply's fields; return (cache blob, username)."""
        cache = msal.SerializableTokenCache()
        app = self._app(cache, "(new connection)")
        try:
            result = self._call(
                lambda: app.acquire_token_by_auth_code_flow(flow, query_args),
                "(new connection)",
            )
        except ValueError as exc:
            # MSAL raises ValueError when the reply's state does not match.
            raise self._auth_error(
                "the sign-in reply does not belong to this connection attempt; "
                "start connecting again",
                "(new connection)",
            ) from exc
        if "error" in result:
            raise self._auth_error(
                f"Microsoft rejected the sign-in ({result['error']}); try again",
                "(new connection)",
            )

        claims = result.get("id_token_claims") or {}
        username = claims.get("preferred_username") or _first_username(app)
        logger.info("connected Microsoft account %s", username)
        return cache.serialize(), str(username)

    def access_token(self, cache_blob: str) -> tuple[str, str]:
        """Return a valid access token and the cache blob to store back."""
        cache = msal.SerializableTokenCache()
        cache.deserialize(cache_blob)
        app = self._app(cache, "(stored connection)")
        accounts = self._call(app.get_accounts, "(stored connection)")
        if not accounts:
            raise self._auth_error(
                "the stored token cache contains no account; reconnect the calendar",
                "(stored connection)",
            )

        username = str(accounts[0].get("username", "(stored connection)"))
        result = self._call(
            lambda: app.acquire_token_silent_with_error(
                self._scopes, account=accounts[0]
            ),
            username,
        )
        if result is None or "error" in result:
            error = "no token" if result is None else result["error"]
            raise self._auth_error(
                f"refreshing the access token failed ({error}); the owner must "
                "reconnect the calendar",
                username,
            )
        new_blob = cache.serialize() if cache.has_state_changed else cache_blob
        return str(result["access_token"]), new_blob

    def _app(
        self, cache: msal.SerializableTokenCache, calendar: str
    ) -> msal.ConfidentialClientApplication:
        # The constructor fetches the authority's OpenID configuration.
        # instance_discovery=False keeps MSAL from also asking
        # login.microsoftonline.com to validate the authority.
        return self._call(
            lambda: msal.ConfidentialClientApplication(
                self._client_id,
                client_credential=self._client_secret,
                authority=self._authority,
                token_cache=cache,
                http_client=self._http_client,
                instance_discovery=False,
                http_cache=self._http_cache,
                timeout=self._timeout,
            ),
            calendar,
        )

    def _call(self, step: Callable[[], Any], calendar: str) -> Any:
        try:
            return step()
        except requests.Timeout as exc:
            raise ProviderTimeoutError(
                "the Microsoft identity platform timed out",
                provider=PROVIDER,
                calendar=calendar,
            ) from exc
        except requests.RequestException as exc:
            raise ServerError(
                f"the Microsoft identity platform failed: {type(exc).__name__}",
                provider=PROVIDER,
                calendar=calendar,
            ) from exc

    def _auth_error(self, message: str, calendar: str) -> AuthError:
        return AuthError(message, provider=PROVIDER, calendar=calendar)


def _first_username(app: msal.ConfidentialClientApplication) -> str:
    accounts = app.get_accounts()
    return str(accounts[0]["username"]) if accounts else "(unknown account)"


# -- Graph -----------------------------------------------------------------


class MicrosoftCalendar:
    """One mailbox's calendar, read and written through Microsoft Graph."""

    provider = PROVIDER

    def __init__(
        self,
        token_provider: Callable[[], str],
        mailbox: str,
        graph_url: str = GRAPH_URL,
        personal: bool = False,
        options: ReadOptions | None = None,
        session: requests.Session | None = None,
        *,
        timeout: float = 20.0,
        max_retries: int = 3,
        max_wait: float = 120.0,
        sleep: Callable[[float], None] = time.sleep,
        invite_attendees: bool = False,
    ) -> None:
        self.calendar = mailbox
        self.personal = personal
        self.options = options or ReadOptions()
        self._token_provider = token_provider
        self._graph_url = graph_url.rstrip("/")
        self._session = session or requests.Session()
        self._timeout = timeout
        self._max_retries = max_retries
        self._max_wait = max_wait
        self._sleep = sleep
        self._invite_attendees = invite_attendees

    # -- busy time ------------------------------------------------------

    def read_busy(self, start: datetime, end: datetime) -> BusyReport:
        """Read the busy intervals of this mailbox that overlap ``[start, end)``."""
        if self.personal:
            check_range(start, end)
            return self._read_calendar_view(start, end)
        return self.read_busy_many([self.calendar], start, end)[self.calendar]

    def read_busy_many(
        self, mailboxes: Sequence[str], start: datetime, end: datetime
    ) -> dict[str, BusyReport]:
        """Read several mailboxes with getSchedule, 20 and 60 days per call.

        A schedule that Graph returns with an ``error`` is ``unknown`` for the
        queried range, with a warning. A failed call raises CalendarError.
        """
        check_range(start, end)
        if self.personal:
            raise CalendarError(
                "personal Microsoft accounts cannot read other mailboxes' schedules",
                provider=PROVIDER,
                calendar=self.calendar,
            )
        unique = list(dict.fromkeys(mailboxes))
        reports = {mailbox: BusyReport() for mailbox in unique}
        for chunk_start, chunk_end in split_range(start, end, MAX_SCHEDULE_RANGE):
            for batch in batched(unique, MAX_SCHEDULES_PER_CALL):
                reply = self._get_schedule(batch, chunk_start, chunk_end)
                self._read_schedules(reply, batch, chunk_start, chunk_end, reports)

        for report in reports.values():
            report.intervals = merge_intervals(report.intervals)
        logger.info(
            "read %d Microsoft schedules from %s to %s", len(unique), start, end
        )
        return reports

    def _get_schedule(
        self, batch: list[str], start: datetime, end: datetime
    ) -> dict[str, Any]:
        body = {
            "schedules": batch,
            "startTime": {"dateTime": _graph_utc(start), "timeZone": "UTC"},
            "endTime": {"dateTime": _graph_utc(end), "timeZone": "UTC"},
            "availabilityViewInterval": AVAILABILITY_VIEW_INTERVAL,
        }
        path = f"/users/{quote(self.calendar, safe='@')}/calendar/getSchedule"
        return _json(self._request("POST", path, json=body), self.calendar)

    def _read_schedules(
        self,
        reply: dict[str, Any],
        batch: list[str],
        start: datetime,
        end: datetime,
        reports: dict[str, BusyReport],
    ) -> None:
        schedules = {
            str(item.get("scheduleId", "")).lower(): item
            for item in reply.get("value", [])
        }
        for mailbox in batch:
            report = reports[mailbox]
            try:
                busy = self._schedule_intervals(schedules.get(mailbox.lower()))
            except _UnreadableSchedule as exc:
                _mark_unknown(report, mailbox, str(exc), start, end)
                continue
            report.intervals.extend(clip_intervals(busy, start, end))

    def _schedule_intervals(
        self, schedule: dict[str, Any] | None
    ) -> list[BusyInterval]:
        """Read one schedule's blocking items, or raise _UnreadableSchedule."""
        problem = _schedule_problem(schedule)
        if problem is not None or schedule is None:
            raise _UnreadableSchedule(problem or "no schedule")
        intervals = []
        for item in schedule.get("scheduleItems") or []:
            try:
                interval = self._schedule_interval(item)
            except InvalidDataError as exc:
                raise _UnreadableSchedule(str(exc.args[0])) from exc
            if interval is not None:
                intervals.append(interval)
        return intervals

    def _schedule_interval(self, item: dict[str, Any]) -> BusyInterval | None:
        kind = self._kind(item.get("status"))
        if kind is None:
            return None
        return BusyInterval(_graph_time(item["start"]), _graph_time(item["end"]), kind)

    def _kind(self, status: object) -> BusyKind | None:
        # Graph writes "busy", the concept page shows "Busy", so compare lowered.
        kind = _STATUS_KINDS.get(str(status or "busy").lower(), "busy")
        if kind == "tentative" and not self.options.tentative_blocks:
            return None
        return kind

    def _read_calendar_view(self, start: datetime, end: datetime) -> BusyReport:
        report = BusyReport()
        params: dict[str, str] | None = {
            "startDateTime": _graph_utc(start) + "Z",
            "endDateTime": _graph_utc(end) + "Z",
            "$select": "showAs,isCancelled,isAllDay,start,end,type,responseStatus",
            "$top": str(CALENDAR_VIEW_PAGE_SIZE),
        }
        url = "/me/calendar/calendarView"
        intervals: list[BusyInterval] = []
        while url:
            page = _json(self._request("GET", url, params=params), self.calendar)
            try:
                intervals.extend(self._view_intervals(page.get("value", [])))
            except InvalidDataError as exc:
                _mark_unknown(report, self.calendar, str(exc.args[0]), start, end)
                return report
            # The next link already carries every query parameter.
            url, params = page.get("@odata.nextLink") or "", None

        report.intervals = merge_intervals(clip_intervals(intervals, start, end))
        return report

    def _view_intervals(self, events: list[dict[str, Any]]) -> Iterator[BusyInterval]:
        for event in events:
            if event.get("isCancelled") or event.get("type") == "seriesMaster":
                continue
            response = str(
                (event.get("responseStatus") or {}).get("response", "")
            ).lower()
            if response == "declined":
                continue
            if response == "notresponded" and not self.options.needs_action_blocks:
                continue
            if event.get("isAllDay") and not self.options.all_day_blocks:
                continue
            kind = self._kind(event.get("showAs"))
            if kind is None:
                continue
            start, end = _graph_time(event["start"]), _graph_time(event["end"])
            if event.get("isAllDay"):
                start, end = (
                    self._all_day(event["start"], start),
                    self._all_day(event["end"], end),
                )
            yield BusyInterval(start, end, kind)

    def _all_day(self, value: dict[str, Any], instant: datetime) -> datetime:
        # NOTE: Graph's docs do not say whether all-day times follow the Prefer
        # zone. A bare midnight is read as the owner's local midnight.
        local = datetime.fromisoformat(value["dateTime"])
        if local.time() != clock_time(0):
            return instant
        zone = ZoneInfo(iana_name(self.options.owner_timezone) or "UTC")
        return local.replace(tzinfo=zone).astimezone(UTC)

    # -- events ---------------------------------------------------------

    def upsert_event(self, event: EventSpec) -> str:
        """Create the event, or patch the one that carries ``event.key``."""
        body = self._event_body(event)
        existing = self._find_event(event.key)
        if existing is not None:
            self._request("PATCH", f"/me/events/{quote(existing)}", json=body)
            logger.info("updated Microsoft event for %s", self.calendar)
            return existing

        create_body = {
            **body,
            "transactionId": transaction_id_for(event.key),
            "singleValueExtendedProperties": [
                {"id": KEY_PROPERTY_ID, "value": event.key}
            ],
        }
        for attempt in range(2):
            try:
                created = _json(
                    self._request("POST", "/me/events", json=create_body), self.calendar
                )
                logger.info("created Microsoft event for %s", self.calendar)
                return str(created["id"])
            except (ProviderTimeoutError, ServerError):
                # The POST may have succeeded before the failure: look first.
                found = self._find_event(event.key)
                if found is not None:
                    return found
                if attempt == 1:
                    raise
                logger.warning("retrying event creation for %s", self.calendar)
        raise AssertionError("unreachable: the loop returns or raises")

    def cancel_event(self, event: EventSpec) -> None:
        """Delete the event that carries ``event.key``; a missing one is fine."""
        existing = self._find_event(event.key)
        if existing is None:
            return
        self._request("DELETE", f"/me/events/{quote(existing)}", expected={404})
        logger.info("deleted Microsoft event for %s", self.calendar)

    def _find_event(self, key: str) -> str | None:
        escaped = key.replace("'", "''")
        property_filter = (
            f"singleValueExtendedProperties/Any(ep: ep/id eq '{KEY_PROPERTY_ID}' "
            f"and ep/value eq '{escaped}')"
        )
        params = {"$filter": property_filter, "$select": "id"}
        found = _json(self._request("GET", "/me/events", params=params), self.calendar)
        matches = found.get("value") or []
        return str(matches[0]["id"]) if matches else None

    def _event_body(self, event: EventSpec) -> dict[str, Any]:
        description = event.description
        body: dict[str, Any] = {
            "subject": event.summary,
            "body": {"contentType": "text", "content": description},
            "start": {"dateTime": _graph_utc(event.start), "timeZone": "UTC"},
            "end": {"dateTime": _graph_utc(event.end), "timeZone": "UTC"},
            "location": {"displayName": event.location},
        }
        if self._invite_attendees:
            body["attendees"] = [
                {
                    "emailAddress": {"address": a.email, "name": a.name},
                    "type": "required",
                }
                for a in event.attendees
            ]
        else:
            # Exchange mails every listed attendee and Torace sends its own
            # invitations, so by default the attendees are only named.
            names = ", ".join(f"{a.name} <{a.email}>" for a in event.attendees)
            body["body"]["content"] = f"{description}\n\nWith: {names}".strip()
        return body

    # -- transport ------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, str] | None = None,
        expected: set[int] | frozenset[int] = frozenset(),
    ) -> requests.Response:
        """Send one Graph request, waiting out 429s, and map its failures."""
        url = path if path.startswith("https://") else self._graph_url + path
        for attempt in range(self._max_retries + 1):
            response = self._send(method, url, json, params)
            if response.status_code in expected or response.ok:
                return response
            if response.status_code != 429:
                raise self._http_error(response)

            wait = _retry_after(response) or float(2**attempt)
            if attempt == self._max_retries or wait > self._max_wait:
                raise RateLimitedError(
                    f"Graph throttled the request {self._max_retries + 1} times",
                    provider=PROVIDER,
                    calendar=self.calendar,
                    retry_after=wait,
                )
            logger.warning("Graph throttled %s; waiting %.1f s", self.calendar, wait)
            self._sleep(wait)
        raise AssertionError("unreachable: the loop returns or raises")

    def _send(
        self, method: str, url: str, body: Any, params: dict[str, str] | None
    ) -> requests.Response:
        headers = {
            "Authorization": f"Bearer {self._token_provider()}",
            "Prefer": 'outlook.timezone="UTC"',
        }
        try:
            return self._session.request(
                method,
                url,
                json=body,
                params=params,
                headers=headers,
                timeout=self._timeout,
            )
        except requests.Timeout as exc:
            raise self._error(ProviderTimeoutError, "Graph timed out") from exc
        except requests.RequestException as exc:
            message = f"the connection to Graph failed: {type(exc).__name__}"
            raise self._error(ServerError, message) from exc

    def _http_error(self, response: requests.Response) -> CalendarError:
        status = response.status_code
        code, message = _graph_error(response)
        if status in (401, 403):
            return self._error(
                AuthError, f"Graph rejected the access ({code}); reconnect the calendar"
            )
        if status == 404:
            return self._error(NotFoundError, f"Graph found no such item ({code})")
        if status >= 500:
            return self._error(ServerError, f"Graph failed with HTTP {status} ({code})")
        return self._error(
            CalendarError, f"Graph rejected the request: {code}: {message}"
        )

    def _error(self, kind: type[CalendarError], message: str) -> CalendarError:
        return kind(message, provider=PROVIDER, calendar=self.calendar)


# -- helpers -----------------------------------------------------------------


def _schedule_problem(schedule: dict[str, Any] | None) -> str | None:
    if schedule is None:
        return "Graph's getSchedule reply left this mailbox out"
    error = schedule.get("error")
    if error:
        code = error.get("responseCode", "unknown error")
        return (
            f"Graph could not read this schedule ({code}: {error.get('message', '')})"
        )
    return None


def _mark_unknown(
    report: BusyReport, mailbox: str, problem: str, start: datetime, end: datetime
) -> None:
    logger.warning("Microsoft calendar %s unreadable: %s", mailbox, problem)
    report.warnings.append(CalendarWarning(mailbox, problem))
    report.intervals.append(BusyInterval(start, end, "unknown"))


def _graph_time(value: dict[str, Any]) -> datetime:
    """Read a Graph ``dateTimeTimeZone`` (7 fraction digits, no offset) as UTC."""
    try:
        local = datetime.fromisoformat(value["dateTime"])
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidDataError(
            f"unreadable date-time {value!r}", provider=PROVIDER, calendar="(reply)"
        ) from exc
    if local.tzinfo is not None:
        return local.astimezone(UTC)

    zone_name = str(value.get("timeZone") or "UTC")
    iana = "UTC" if zone_name.upper() == "UTC" else iana_name(zone_name)
    if iana is None:
        raise InvalidDataError(
            f"unknown time zone {zone_name!r} in a Graph reply",
            provider=PROVIDER,
            calendar="(reply)",
        )
    return local.replace(tzinfo=ZoneInfo(iana)).astimezone(UTC)


def _graph_utc(instant: datetime) -> str:
    """Write an instant as Graph's offset-free UTC date-time."""
    return instant.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds")


def _json(response: requests.Response, calendar: str) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError as exc:
        raise InvalidDataError(
            f"Graph returned a body that is not JSON (HTTP {response.status_code})",
            provider=PROVIDER,
            calendar=calendar,
        ) from exc
    if not isinstance(body, dict):
        raise InvalidDataError(
            "Graph returned JSON that is not an object",
            provider=PROVIDER,
            calendar=calendar,
        )
    return body


def _graph_error(response: requests.Response) -> tuple[str, str]:
    try:
        error = response.json()["error"]
        return str(error.get("code", "")), str(error.get("message", ""))
    except (ValueError, KeyError, TypeError, AttributeError):
        return f"HTTP {response.status_code}", ""


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None
