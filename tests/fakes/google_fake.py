"""A loopback fake of the Google Calendar v3 API and Google's OAuth endpoints.

It follows the documented request and response shapes: freeBusy with
per-calendar errors inside a 200 reply, the ``{"error": {"errors": [...],
"code", "message"}}`` envelope, events with client-chosen ids (409
``duplicate``, including ids of deleted events, 410 ``deleted`` on a second
delete), events.list with ``nextSyncToken`` and 410 ``fullSyncRequired``, and
a token endpoint that returns 400 ``invalid_grant`` for a revoked grant.
The real google-api-python-client drives it through ``api_endpoint``.
"""

from __future__ import annotations

import base64
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import unquote
from zoneinfo import ZoneInfo

from tests.fakes import (
    FakeRequest,
    FakeResponse,
    LoopbackServer,
    expand_occurrences,
)
from tests.fakes.tls import TlsFiles

API_PREFIX = "/calendar/v3"
MAX_FREEBUSY_ITEMS = 50
# Google documents no maximum range. Public reports have 90 days accepted and
# three months rejected, so the fake enforces the adapter's own 60-day bound.
DEFAULT_MAX_RANGE = timedelta(days=60)
_EVENT_ID = re.compile(r"^[a-v0-9]{5,1024}$")


def google_error(status: int, reason: str, message: str, **extra: str) -> FakeResponse:
    """Build a reply in Google's documented error envelope."""
    domain = extra.pop("domain", "global")
    detail = {"domain": domain, "reason": reason, "message": message, **extra}
    body = {"error": {"errors": [detail], "code": status, "message": message}}
    return FakeResponse(status, body)


@dataclass
class Fault:
    """A failure returned for the next ``times`` requests of one kind."""

    kind: str
    status: int = 0
    reason: str = ""
    domain: str = "usageLimits"
    retry_after: str | None = None
    drop: bool = False
    delay: float = 0.0
    after: bool = False
    times: int = 1


@dataclass
class FakeCalendar:
    """One calendar: its zone (for all-day events) and its stored events."""

    timezone: str = "UTC"
    events: dict[str, dict[str, Any]] = field(default_factory=dict)
    changes: dict[str, int] = field(default_factory=dict)
    error_reason: str | None = None


class GoogleFake:
    """Google Calendar and OAuth on 127.0.0.1, with call counting."""

    def __init__(
        self, tls: TlsFiles, *, max_range: timedelta = DEFAULT_MAX_RANGE
    ) -> None:
        self.max_range = max_range
        self.calendars: dict[str, FakeCalendar] = {}
        self.calls: list[tuple[str, FakeRequest]] = []
        self.faults: list[Fault] = []
        self.page_size = 250
        self.access_tokens: set[str] = set()
        self.refresh_tokens: dict[str, bool] = {}
        self.codes: dict[str, str] = {}
        self.client_id = "fake-client.apps.googleusercontent.com"
        self.client_secret = "fake-client-secret"
        self._change_counter = 0
        self._sync_epoch = 0
        self._lock = threading.Lock()
        self._server = LoopbackServer(self._handle, tls)

    # -- lifecycle and URLs ---------------------------------------------

    def __enter__(self) -> GoogleFake:
        self._server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.stop()

    @property
    def api_endpoint(self) -> str:
        """The value for the client's ``api_endpoint`` option."""
        return f"{self._server.base_url}{API_PREFIX}/"

    @property
    def token_uri(self) -> str:
        return f"{self._server.base_url}/token"

    @property
    def auth_uri(self) -> str:
        return f"{self._server.base_url}/o/oauth2/auth"

    def client_config(self) -> dict[str, Any]:
        """A ``client_secrets.json``-shaped web client pointing at this fake."""
        return {
            "web": {
                "client_id": self.client_id,
                "client_secret": self.client_secret,
                "auth_uri": self.auth_uri,
                "token_uri": self.token_uri,
                "redirect_uris": ["https://torace.test/oauth/google"],
            }
        }

    # -- test set-up ----------------------------------------------------

    def add_calendar(self, calendar_id: str, timezone: str = "UTC") -> FakeCalendar:
        """Create an empty calendar whose all-day events use ``timezone``."""
        calendar = FakeCalendar(timezone=timezone)
        self.calendars[calendar_id] = calendar
        return calendar

    def add_event(self, calendar_id: str, event: dict[str, Any]) -> str:
        """Store an event given in the API's JSON shape; return its id."""
        with self._lock:
            calendar = self.calendars[calendar_id]
            stored = {"status": "confirmed", **event}
            stored.setdefault("id", secrets.token_hex(16))
            self._store(calendar, stored)
            return str(stored["id"])

    def grant(self) -> dict[str, Any]:
        """Issue a refresh token and a valid access token, as after consent."""
        refresh_token = "1//refresh-" + secrets.token_urlsafe(12)
        self.refresh_tokens[refresh_token] = False
        access_token = self._new_access_token()
        return {"refresh_token": refresh_token, "access_token": access_token}

    def issue_code(self) -> str:
        """Create an authorization code, as the consent screen would."""
        code = "4/code-" + secrets.token_urlsafe(12)
        grant = self.grant()
        self.codes[code] = grant["refresh_token"]
        return code

    def revoke(self, refresh_token: str) -> None:
        """Revoke a refresh token and every access token issued so far."""
        self.refresh_tokens[refresh_token] = True
        self.access_tokens.clear()

    def expire_access_tokens(self) -> None:
        """Make every issued access token invalid (as after an hour)."""
        self.access_tokens.clear()

    def expire_sync_tokens(self) -> None:
        """Invalidate every sync token issued so far."""
        self._sync_epoch += 1

    def inject(self, fault: Fault) -> None:
        """Fail the next request(s) of ``fault.kind`` with ``fault``."""
        self.faults.append(fault)

    def count(self, kind: str) -> int:
        """Return how many requests of ``kind`` the fake has received."""
        return sum(1 for seen, _ in self.calls if seen == kind)

    def live_events(self, calendar_id: str) -> list[dict[str, Any]]:
        """Return the events of a calendar that are not cancelled."""
        events = self.calendars[calendar_id].events.values()
        return [event for event in events if event.get("status") != "cancelled"]

    # -- dispatch -------------------------------------------------------

    def _handle(self, request: FakeRequest) -> FakeResponse | None:
        kind, route, params = self._route(request)
        with self._lock:
            self.calls.append((kind, request))
            fault = self._take_fault(kind)
        if fault is not None and not fault.after:
            return self._apply_fault(fault)
        if kind != "token" and route is not None and not self._authorized(request):
            return google_error(
                401,
                "authError",
                "Invalid Credentials",
                locationType="header",
                location="Authorization",
            )
        if route is None:
            return google_error(404, "notFound", "Not Found")
        with self._lock:
            response = route(request, *params)
        if fault is not None:
            return self._apply_fault(fault)
        return response

    def _route(self, request: FakeRequest) -> tuple[str, Any, tuple[str, ...]]:
        path, method = request.path, request.method
        if path == "/token" and method == "POST":
            return "token", self._token, ()
        if path == f"{API_PREFIX}/freeBusy" and method == "POST":
            return "freeBusy", self._free_busy, ()
        match = re.fullmatch(
            rf"{API_PREFIX}/calendars/([^/]+)/events(?:/([^/]+))?", path
        )
        if match is None:
            return "unknown", None, ()
        calendar_id, event_id = match.group(1), match.group(2)
        calendar_id = unquote(calendar_id)
        if event_id is None:
            table = {"POST": ("insert", self._insert), "GET": ("list", self._list)}
        else:
            table = {
                "GET": ("get", self._get),
                "PATCH": ("patch", self._patch),
                "DELETE": ("delete", self._delete),
            }
        if method not in table:
            return "unknown", None, ()
        kind, route = table[method]
        params = (calendar_id,) if event_id is None else (calendar_id, event_id)
        return kind, route, params

    def _take_fault(self, kind: str) -> Fault | None:
        for fault in self.faults:
            if fault.kind == kind and fault.times > 0:
                fault.times -= 1
                return fault
        return None

    def _apply_fault(self, fault: Fault) -> FakeResponse | None:
        if fault.delay:
            time.sleep(fault.delay)
        if fault.drop:
            return None
        messages = {
            "rateLimitExceeded": "Rate Limit Exceeded",
            "userRateLimitExceeded": "User Rate Limit Exceeded",
            "quotaExceeded": "Calendar usage limits exceeded.",
            "backendError": "Backend Error",
        }
        message = messages.get(fault.reason, fault.reason)
        response = google_error(
            fault.status, fault.reason, message, domain=fault.domain
        )
        if fault.retry_after is not None:
            response.headers["Retry-After"] = fault.retry_after
        return response

    def _authorized(self, request: FakeRequest) -> bool:
        header = request.headers.get("authorization", "")
        token = header.removeprefix("Bearer ")
        return header.startswith("Bearer ") and token in self.access_tokens

    def _new_access_token(self) -> str:
        token = "ya29.fake-" + secrets.token_urlsafe(16)
        self.access_tokens.add(token)
        return token

    # -- OAuth token endpoint -------------------------------------------

    def _token(self, request: FakeRequest) -> FakeResponse:
        form = request.form()
        if not self._client_authenticated(request, form):
            return FakeResponse(
                401, {"error": "invalid_client", "error_description": "Unauthorized"}
            )
        grant_type = form.get("grant_type")
        if grant_type == "refresh_token":
            return self._refresh_grant(form.get("refresh_token", ""))
        if grant_type == "authorization_code":
            return self._code_grant(form.get("code", ""))
        return FakeResponse(400, {"error": "unsupported_grant_type"})

    def _client_authenticated(self, request: FakeRequest, form: dict[str, str]) -> bool:
        header = request.headers.get("authorization", "")
        if header.startswith("Basic "):
            decoded = base64.b64decode(header.removeprefix("Basic ")).decode()
            client_id, _, secret = decoded.partition(":")
        else:
            client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        return client_id == self.client_id and secret == self.client_secret

    def _refresh_grant(self, refresh_token: str) -> FakeResponse:
        if self.refresh_tokens.get(refresh_token, True):
            return FakeResponse(
                400,
                {
                    "error": "invalid_grant",
                    "error_description": "Token has been expired or revoked.",
                },
            )
        return FakeResponse(200, self._token_body())

    def _code_grant(self, code: str) -> FakeResponse:
        refresh_token = self.codes.pop(code, None)
        if refresh_token is None:
            return FakeResponse(
                400, {"error": "invalid_grant", "error_description": "Bad Request"}
            )
        return FakeResponse(200, {**self._token_body(), "refresh_token": refresh_token})

    def _token_body(self) -> dict[str, Any]:
        return {
            "access_token": self._new_access_token(),
            "expires_in": 3599,
            "scope": " ".join(
                [
                    "https://www.googleapis.com/auth/calendar.events",
                    "https://www.googleapis.com/auth/calendar.freebusy",
                ]
            ),
            "token_type": "Bearer",
        }

    # -- freeBusy -------------------------------------------------------

    def _free_busy(self, request: FakeRequest) -> FakeResponse:
        body = request.json() or {}
        try:
            time_min = _parse_rfc3339(body.get("timeMin"))
            time_max = _parse_rfc3339(body.get("timeMax"))
        except ValueError as exc:
            return google_error(400, "badRequest", f"Bad Request: {exc}")
        if time_max <= time_min:
            return google_error(
                400,
                "timeRangeEmpty",
                "The specified time range is empty.",
                domain="calendar",
                locationType="parameter",
                location="timeMax",
            )
        if time_max - time_min > self.max_range:
            return google_error(
                400,
                "timeRangeTooLong",
                "The requested time range is too long.",
                domain="calendar",
                locationType="parameter",
                location="timeMax",
            )

        calendars = {}
        for index, item in enumerate(body.get("items", [])):
            calendar_id = item["id"]
            calendars[calendar_id] = self._calendar_busy(
                calendar_id, index, time_min, time_max
            )
        return FakeResponse(
            200,
            {
                "kind": "calendar#freeBusy",
                "timeMin": _format_utc(time_min),
                "timeMax": _format_utc(time_max),
                "calendars": calendars,
            },
        )

    def _calendar_busy(
        self, calendar_id: str, index: int, time_min: datetime, time_max: datetime
    ) -> dict[str, Any]:
        calendar = self.calendars.get(calendar_id)
        if index >= MAX_FREEBUSY_ITEMS:
            reason: str | None = "tooManyCalendarsRequested"
        elif calendar is None:
            reason = "notFound"
        else:
            reason = calendar.error_reason
        if reason is not None or calendar is None:
            return {"errors": [{"domain": "calendar", "reason": reason}], "busy": []}

        spans = _busy_spans(calendar, time_min, time_max)
        busy = [{"start": _format_utc(s), "end": _format_utc(e)} for s, e in spans]
        return {"busy": busy}

    # -- events ---------------------------------------------------------

    def _insert(self, request: FakeRequest, calendar_id: str) -> FakeResponse:
        calendar = self.calendars.get(calendar_id)
        if calendar is None:
            return google_error(404, "notFound", "Not Found")
        event = request.json() or {}
        event_id = event.get("id") or secrets.token_hex(16)
        if not _EVENT_ID.match(event_id):
            return google_error(400, "invalid", "Invalid resource id value.")
        if event_id in calendar.events:
            return google_error(
                409, "duplicate", "The requested identifier already exists."
            )
        stored = {
            **event,
            "id": event_id,
            "status": "confirmed",
            "kind": "calendar#event",
        }
        self._store(calendar, stored)
        return FakeResponse(200, stored)

    def _get(
        self, request: FakeRequest, calendar_id: str, event_id: str
    ) -> FakeResponse:
        event = self._find(calendar_id, event_id)
        if event is None:
            return google_error(404, "notFound", "Not Found")
        return FakeResponse(200, event)

    def _patch(
        self, request: FakeRequest, calendar_id: str, event_id: str
    ) -> FakeResponse:
        event = self._find(calendar_id, event_id)
        if event is None:
            return google_error(404, "notFound", "Not Found")
        # A patch replaces every field it names, arrays included.
        patched = {**event, **(request.json() or {}), "id": event_id}
        self._store(self.calendars[calendar_id], patched)
        return FakeResponse(200, patched)

    def _delete(
        self, request: FakeRequest, calendar_id: str, event_id: str
    ) -> FakeResponse:
        event = self._find(calendar_id, event_id)
        if event is None:
            return google_error(404, "notFound", "Not Found")
        if event.get("status") == "cancelled":
            return google_error(410, "deleted", "Resource has been deleted")
        self._store(self.calendars[calendar_id], {**event, "status": "cancelled"})
        return FakeResponse(204)

    def _list(self, request: FakeRequest, calendar_id: str) -> FakeResponse:
        calendar = self.calendars.get(calendar_id)
        if calendar is None:
            return google_error(404, "notFound", "Not Found")
        sync_token = request.arg("syncToken")
        if sync_token is not None:
            since = self._read_sync_token(sync_token)
            if since is None:
                return google_error(
                    410,
                    "fullSyncRequired",
                    "Sync token is no longer valid, a full sync is required.",
                    domain="calendar",
                    locationType="parameter",
                    location="syncToken",
                )
            changed = [i for i, n in calendar.changes.items() if n > since]
        else:
            changed = [
                i for i, e in calendar.events.items() if e.get("status") != "cancelled"
            ]

        offset = int(request.arg("pageToken") or 0)
        page_size = min(self.page_size, int(request.arg("maxResults") or 250))
        page = changed[offset : offset + page_size]
        body: dict[str, Any] = {
            "kind": "calendar#events",
            "items": [calendar.events[i] for i in page],
        }
        if offset + page_size < len(changed):
            body["nextPageToken"] = str(offset + page_size)
        else:
            body["nextSyncToken"] = f"{self._sync_epoch}-{self._change_counter}"
        return FakeResponse(200, body)

    def _read_sync_token(self, token: str) -> int | None:
        epoch, _, counter = token.partition("-")
        if not counter.isdigit() or epoch != str(self._sync_epoch):
            return None
        return int(counter)

    def _find(self, calendar_id: str, event_id: str) -> dict[str, Any] | None:
        calendar = self.calendars.get(calendar_id)
        return None if calendar is None else calendar.events.get(event_id)

    def _store(self, calendar: FakeCalendar, event: dict[str, Any]) -> None:
        self._change_counter += 1
        event["updated"] = _format_utc(datetime.now(UTC))
        event["etag"] = f'"{self._change_counter}"'
        calendar.events[event["id"]] = event
        calendar.changes[event["id"]] = self._change_counter


# -- busy time -----------------------------------------------------------


def _busy_spans(
    calendar: FakeCalendar, time_min: datetime, time_max: datetime
) -> list[tuple[datetime, datetime]]:
    """Compute merged, clipped busy spans of a calendar, as freeBusy does."""
    events = list(calendar.events.values())
    overrides = [e for e in events if e.get("recurringEventId")]
    spans = []
    for event in events:
        if event.get("recurringEventId"):
            continue
        moved = {
            _event_time(o["originalStartTime"], calendar.timezone)
            for o in overrides
            if o["recurringEventId"] == event["id"]
        }
        for start, end in _occurrences(event, calendar.timezone, time_min, time_max):
            if start not in moved and _blocks(event):
                spans.append((start, end))
    for override in overrides:
        start = _event_time(override["start"], calendar.timezone)
        end = _event_time(override["end"], calendar.timezone)
        if _blocks(override) and start < time_max and end > time_min:
            spans.append((start, end))
    return _merge(spans, time_min, time_max)


def _blocks(event: dict[str, Any]) -> bool:
    return (
        event.get("status") != "cancelled"
        and event.get("transparency", "opaque") != "transparent"
    )


def _occurrences(
    event: dict[str, Any], calendar_zone: str, time_min: datetime, time_max: datetime
) -> list[tuple[datetime, datetime]]:
    start = _event_time(event["start"], calendar_zone)
    end = _event_time(event["end"], calendar_zone)
    rules = [
        line for line in event.get("recurrence", []) if not line.startswith("EXDATE")
    ]
    if not rules:
        overlaps = start < time_max and end > time_min
        return [(start, end)] if overlaps else []

    zone = ZoneInfo(event["start"].get("timeZone") or calendar_zone)
    excluded = frozenset(
        instant
        for line in event.get("recurrence", [])
        if line.startswith("EXDATE")
        for instant in _exdates(line, zone)
    )
    duration = end - start
    starts = expand_occurrences(
        start.astimezone(zone), duration, rules, time_min, time_max, excluded
    )
    return [(s, s + duration) for s in starts]


def _exdates(line: str, default_zone: ZoneInfo) -> list[datetime]:
    head, _, values = line.partition(":")
    match = re.search(r"TZID=([^;:]+)", head)
    zone = ZoneInfo(match.group(1)) if match else default_zone
    instants = []
    for value in values.split(","):
        if value.endswith("Z"):
            instants.append(
                datetime.strptime(value, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
            )
        else:
            local = datetime.strptime(value, "%Y%m%dT%H%M%S").replace(tzinfo=zone)
            instants.append(local.astimezone(UTC))
    return instants


def _event_time(value: dict[str, Any], calendar_zone: str) -> datetime:
    """Turn an event's ``start``/``end`` object into a UTC instant."""
    if "date" in value:
        day = date.fromisoformat(value["date"])
        midnight = datetime(
            day.year, day.month, day.day, tzinfo=ZoneInfo(calendar_zone)
        )
        return midnight.astimezone(UTC)
    instant = datetime.fromisoformat(value["dateTime"])
    if instant.tzinfo is None:
        instant = instant.replace(
            tzinfo=ZoneInfo(value.get("timeZone") or calendar_zone)
        )
    return instant.astimezone(UTC)


def _merge(
    spans: list[tuple[datetime, datetime]], time_min: datetime, time_max: datetime
) -> list[tuple[datetime, datetime]]:
    merged: list[tuple[datetime, datetime]] = []
    for start, end in sorted(spans):
        start, end = max(start, time_min), min(end, time_max)
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _parse_rfc3339(value: object) -> datetime:
    if not isinstance(value, str):
        raise ValueError(f"missing RFC 3339 value: {value!r}")
    instant = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if instant.tzinfo is None or "T" not in value:
        raise ValueError(f"not an RFC 3339 date-time with an offset: {value!r}")
    return instant.astimezone(UTC)


def _format_utc(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
