"""A loopback fake of Microsoft identity (v2.0 endpoints) and Microsoft Graph.

It serves HTTPS because MSAL rejects ``http://`` authorities. The identity
side answers OpenID discovery, the authorize redirect and the token endpoint
(authorization code with PKCE, refresh, 400 ``invalid_grant`` once revoked).
The Graph side follows the documented shapes of ``getSchedule`` (7-digit
fractional seconds, per-schedule ``error`` items, ``ErrorMailboxDataArrayTooBig``
above 100 schedules, ``ErrorTimeIntervalTooBig`` at 62 days or more),
``calendarView`` (instances only, paged through ``@odata.nextLink``) and
events (``transactionId``, single-value extended properties), and can answer
429 with ``Retry-After``.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import quote, unquote, urlencode
from zoneinfo import ZoneInfo

from tests.fakes import FakeRequest, FakeResponse, LoopbackServer, expand_occurrences
from tests.fakes.tls import TlsFiles

TENANT = "torace-tenant"
MAX_SCHEDULES = 100
MAX_SCHEDULE_RANGE = timedelta(days=62)
DEFAULT_PAGE_SIZE = 10

# The fake's own small Windows-zone table (after CLDR windowsZones), kept
# apart from the adapter's so a wrong entry there cannot hide here.
_WINDOWS_ZONES = {
    "W. Europe Standard Time": "Europe/Berlin",
    "Eastern Standard Time": "America/New_York",
    "Pacific Standard Time": "America/Los_Angeles",
    "GMT Standard Time": "Europe/London",
    "Tokyo Standard Time": "Asia/Tokyo",
}
_AVAILABILITY_DIGITS = {
    "free": "0",
    "tentative": "1",
    "busy": "2",
    "oof": "3",
    "workingElsewhere": "4",
    "unknown": "2",
}
_DIGIT_RANK = {"0": 0, "4": 1, "1": 2, "2": 3, "3": 4}
_WEEKDAYS = {
    "monday": "MO",
    "tuesday": "TU",
    "wednesday": "WE",
    "thursday": "TH",
    "friday": "FR",
    "saturday": "SA",
    "sunday": "SU",
}
_FILTER = re.compile(
    r"singleValueExtendedProperties/Any\(ep: ep/id eq '((?:[^']|'')*)' "
    r"and ep/value eq '((?:[^']|'')*)'\)"
)


def graph_error(status: int, code: str, message: str) -> FakeResponse:
    """Build a reply in Graph's documented error envelope."""
    inner = {"request-id": secrets.token_hex(8), "date": _now_iso()}
    body = {"error": {"code": code, "message": message, "innerError": inner}}
    return FakeResponse(status, body)


@dataclass
class Fault:
    """A failure returned for the next ``times`` requests of one kind."""

    kind: str
    status: int = 429
    retry_after: str | None = "2"
    drop: bool = False
    delay: float = 0.0
    after: bool = False
    times: int = 1


@dataclass
class Mailbox:
    """One user's calendar: events in Graph's JSON shape, or a lookup error."""

    address: str
    events: dict[str, dict[str, Any]] = field(default_factory=dict)
    error_code: str | None = None


class MicrosoftFake:
    """Microsoft identity and Graph on 127.0.0.1, with call counting."""

    def __init__(self, tls: TlsFiles) -> None:
        self.mailboxes: dict[str, Mailbox] = {}
        self.calls: list[tuple[str, FakeRequest]] = []
        self.faults: list[Fault] = []
        self.page_size = DEFAULT_PAGE_SIZE
        self.reply_timezone: str | None = None
        self.token_lifetime = 3599
        self.client_id = "00000000-0000-0000-0000-00000000c1d0"
        self.client_secret = "fake-client-secret"
        self.login_user = "mara@contoso.example"
        self.access_tokens: dict[str, str] = {}
        self.refresh_tokens: dict[str, tuple[str, bool]] = {}
        self._codes: dict[str, dict[str, str]] = {}
        self._lock = threading.Lock()
        self._server = LoopbackServer(self._handle, tls)

    # -- lifecycle and URLs ---------------------------------------------

    def __enter__(self) -> MicrosoftFake:
        self._server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.stop()

    @property
    def authority(self) -> str:
        return f"{self._server.base_url}/{TENANT}"

    @property
    def graph_url(self) -> str:
        return f"{self._server.base_url}/v1.0"

    # -- test set-up ----------------------------------------------------

    def add_mailbox(self, address: str, error_code: str | None = None) -> Mailbox:
        """Create a mailbox; with ``error_code`` its schedule reads fail."""
        mailbox = Mailbox(address=address, error_code=error_code)
        self.mailboxes[address.lower()] = mailbox
        return mailbox

    def add_event(self, address: str, event: dict[str, Any]) -> str:
        """Store an event given in Graph's JSON shape; return its id."""
        with self._lock:
            stored = {
                "type": "seriesMaster" if event.get("recurrence") else "singleInstance",
                "showAs": "busy",
                "isCancelled": False,
                "isAllDay": False,
                **event,
            }
            stored.setdefault("id", "AAMk" + secrets.token_urlsafe(24))
            self.mailboxes[address.lower()].events[stored["id"]] = stored
            return str(stored["id"])

    def issue_tokens(self, username: str | None = None) -> dict[str, str]:
        """Issue an access and a refresh token for ``username``."""
        user = username or self.login_user
        access_token = "eyJ0-fake-" + secrets.token_urlsafe(16)
        refresh_token = "0.fake-refresh-" + secrets.token_urlsafe(16)
        self.access_tokens[access_token] = user
        self.refresh_tokens[refresh_token] = (user, False)
        return {"access_token": access_token, "refresh_token": refresh_token}

    def revoke_all(self) -> None:
        """Revoke every refresh token and expire every access token."""
        for token, (user, _) in list(self.refresh_tokens.items()):
            self.refresh_tokens[token] = (user, True)
        self.access_tokens.clear()

    def expire_access_tokens(self) -> None:
        self.access_tokens.clear()

    def inject(self, fault: Fault) -> None:
        """Fail the next request(s) of ``fault.kind`` with ``fault``."""
        self.faults.append(fault)

    def count(self, kind: str) -> int:
        """Return how many requests of ``kind`` the fake has received."""
        return sum(1 for seen, _ in self.calls if seen == kind)

    def requests_of(self, kind: str) -> list[FakeRequest]:
        return [request for seen, request in self.calls if seen == kind]

    # -- dispatch -------------------------------------------------------

    def _handle(self, request: FakeRequest) -> FakeResponse | None:
        kind, route, params = self._route(request)
        with self._lock:
            self.calls.append((kind, request))
            fault = self._take_fault(kind)
        if fault is not None and not fault.after:
            return self._apply_fault(fault)
        if route is None:
            return graph_error(404, "ResourceNotFound", f"No route for {request.path}")

        user = None
        if request.path.startswith("/v1.0/"):
            user = self._user(request)
            if user is None:
                return graph_error(
                    401,
                    "InvalidAuthenticationToken",
                    "Access token has expired or is not yet valid.",
                )
        with self._lock:
            response = route(request, user, *params)
        if fault is not None:
            return self._apply_fault(fault)
        return response

    def _route(self, request: FakeRequest) -> tuple[str, Any, tuple[str, ...]]:
        path, method = request.path, request.method
        identity = {
            ("GET", f"/{TENANT}/v2.0/.well-known/openid-configuration"): (
                "openid",
                self._openid_configuration,
            ),
            ("GET", f"/{TENANT}/oauth2/v2.0/authorize"): ("authorize", self._authorize),
            ("POST", f"/{TENANT}/oauth2/v2.0/token"): ("token", self._token),
        }
        if (method, path) in identity:
            kind, route = identity[(method, path)]
            return kind, route, ()

        schedule = re.fullmatch(
            r"/v1\.0/(?:me|users/([^/]+))/calendar/getSchedule", path
        )
        if schedule and method == "POST":
            return "getSchedule", self._get_schedule, ()
        if (
            re.fullmatch(r"/v1\.0/me(?:/calendar)?/calendarView", path)
            and method == "GET"
        ):
            return "calendarView", self._calendar_view, ()
        if path == "/v1.0/me/events":
            if method == "POST":
                return "createEvent", self._create_event, ()
            if method == "GET":
                return "findEvent", self._find_events, ()
        event = re.fullmatch(r"/v1\.0/me/events/([^/]+)", path)
        if event is not None:
            table = {
                "GET": ("getEvent", self._get_event),
                "PATCH": ("patchEvent", self._patch_event),
                "DELETE": ("deleteEvent", self._delete_event),
            }
            if method in table:
                kind, route = table[method]
                return kind, route, (unquote(event.group(1)),)
        return "unknown", None, ()

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
        if fault.status == 429:
            response = graph_error(429, "TooManyRequests", "Please retry again later.")
            response.body["error"]["innerError"]["code"] = "429"
        else:
            response = graph_error(fault.status, "UnknownError", "")
        if fault.retry_after is not None:
            response.headers["Retry-After"] = fault.retry_after
        return response

    def _user(self, request: FakeRequest) -> str | None:
        header = request.headers.get("authorization", "")
        if not header.startswith("Bearer "):
            return None
        return self.access_tokens.get(header.removeprefix("Bearer "))

    # -- identity -------------------------------------------------------

    def _openid_configuration(self, request: FakeRequest, user: None) -> FakeResponse:
        return FakeResponse(
            200,
            {
                "issuer": f"{self.authority}/v2.0",
                "authorization_endpoint": f"{self.authority}/oauth2/v2.0/authorize",
                "token_endpoint": f"{self.authority}/oauth2/v2.0/token",
                "response_types_supported": ["code", "id_token", "code id_token"],
                "scopes_supported": ["openid", "profile", "email", "offline_access"],
            },
        )

    def _authorize(self, request: FakeRequest, user: None) -> FakeResponse:
        """Sign ``login_user`` in at once and send the code back.

        With ``response_mode=form_post`` the reply is a page whose form posts
        the code to the redirect URI. Otherwise a 302 carries it in the query.
        """
        redirect_uri = request.arg("redirect_uri") or ""
        code = "M.fake-code-" + secrets.token_urlsafe(12)
        self._codes[code] = {
            "client_id": request.arg("client_id") or "",
            "redirect_uri": redirect_uri,
            "nonce": request.arg("nonce") or "",
            "challenge": request.arg("code_challenge") or "",
            "user": self.login_user,
        }
        fields = {"code": code, "state": request.arg("state") or ""}
        if request.arg("response_mode") == "form_post":
            inputs = "".join(
                f'<input type="hidden" name="{name}" value="{html.escape(value)}">'
                for name, value in fields.items()
            )
            action = html.escape(redirect_uri)
            page = f'<form method="POST" action="{action}">{inputs}</form>'
            return FakeResponse(200, page.encode(), {"Content-Type": "text/html"})
        location = f"{redirect_uri}?{urlencode(fields)}"
        return FakeResponse(302, b"", {"Location": location})

    def _token(self, request: FakeRequest, user: None) -> FakeResponse:
        form = request.form()
        if (form.get("client_id"), form.get("client_secret")) != (
            self.client_id,
            self.client_secret,
        ):
            return _oauth_error(
                "invalid_client", "AADSTS7000215: Invalid client secret."
            )
        if form.get("grant_type") == "authorization_code":
            return self._code_grant(form)
        if form.get("grant_type") == "refresh_token":
            return self._refresh_grant(form)
        return _oauth_error("unsupported_grant_type", "AADSTS70003")

    def _code_grant(self, form: dict[str, str]) -> FakeResponse:
        grant = self._codes.pop(form.get("code", ""), None)
        if grant is None or grant["redirect_uri"] != form.get("redirect_uri"):
            return _oauth_error(
                "invalid_grant", "AADSTS70008: The provided code is invalid."
            )
        verifier = form.get("code_verifier", "")
        digest = hashlib.sha256(verifier.encode()).digest()
        challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
        if grant["challenge"] and challenge != grant["challenge"]:
            return _oauth_error(
                "invalid_grant", "AADSTS501481: The code_verifier does not match."
            )
        return FakeResponse(200, self._token_body(grant["user"], grant["nonce"]))

    def _refresh_grant(self, form: dict[str, str]) -> FakeResponse:
        user, revoked = self.refresh_tokens.get(
            form.get("refresh_token", ""), ("", True)
        )
        if revoked:
            return _oauth_error(
                "invalid_grant",
                "AADSTS70000: The provided grant has expired due to it being revoked.",
            )
        return FakeResponse(200, self._token_body(user, None))

    def _token_body(self, user: str, nonce: str | None) -> dict[str, Any]:
        tokens = self.issue_tokens(user)
        object_id = hashlib.sha256(user.encode()).hexdigest()[:32]
        tenant_id = "72f988bf-0000-0000-0000-000000000000"
        claims: dict[str, Any] = {
            "aud": self.client_id,
            "iss": f"{self.authority}/v2.0",
            "iat": int(time.time()),
            "exp": int(time.time()) + 3600,
            "sub": object_id,
            "oid": object_id,
            "tid": tenant_id,
            "preferred_username": user,
            "name": user.split("@")[0].title(),
        }
        if nonce:
            claims["nonce"] = nonce
        client_info = {"uid": object_id, "utid": tenant_id}
        return {
            "token_type": "Bearer",
            "scope": "https://graph.microsoft.com/Calendars.ReadWrite",
            "expires_in": self.token_lifetime,
            "ext_expires_in": self.token_lifetime,
            **tokens,
            "id_token": _unsigned_jwt(claims),
            "client_info": _b64(json.dumps(client_info).encode()),
        }

    # -- getSchedule ----------------------------------------------------

    def _get_schedule(self, request: FakeRequest, user: str) -> FakeResponse:
        body = request.json() or {}
        schedules = body.get("schedules") or []
        if len(schedules) > MAX_SCHEDULES:
            return graph_error(
                400,
                "ErrorMailboxDataArrayTooBig",
                "There are too many target users in the EmailAddress array. "
                f"The allowed size = {MAX_SCHEDULES}; "
                f"the actual size = {len(schedules)}.",
            )
        try:
            start = _read_datetime_timezone(body["startTime"])
            end = _read_datetime_timezone(body["endTime"])
        except (KeyError, ValueError, TypeError) as exc:
            return graph_error(400, "ErrorInvalidParameter", f"Invalid time: {exc}")
        if end - start >= MAX_SCHEDULE_RANGE:
            return graph_error(
                400,
                "ErrorTimeIntervalTooBig",
                "The requested time duration specified is too large. "
                "The allowed limit = 62 days.",
            )
        interval = int(body.get("availabilityViewInterval", 30))
        if not 5 <= interval <= 1440:
            return graph_error(
                400,
                "ErrorInvalidParameter",
                "availabilityViewInterval must be 5 to 1440.",
            )

        zone = self._reply_zone(request)
        value = [
            self._schedule(address, start, end, interval, zone) for address in schedules
        ]
        return FakeResponse(200, {"value": value})

    def _schedule(
        self, address: str, start: datetime, end: datetime, interval: int, zone: str
    ) -> dict[str, Any]:
        mailbox = self.mailboxes.get(address.lower())
        if mailbox is None or mailbox.error_code is not None:
            code = (
                "ErrorMailRecipientNotFound" if mailbox is None else mailbox.error_code
            )
            return {
                "scheduleId": address,
                "availabilityView": "",
                "error": {
                    "message": f"Failed to read the schedule of '{address}'.",
                    "responseCode": code,
                },
            }

        instances = [i for i in _instances(mailbox, start, end) if not i["isCancelled"]]
        items = [
            {
                "isPrivate": False,
                "status": instance["showAs"],
                "subject": instance.get("subject", ""),
                "location": "",
                "start": _write_datetime_timezone(instance["_start"], zone),
                "end": _write_datetime_timezone(instance["_end"], zone),
            }
            for instance in instances
        ]
        return {
            "scheduleId": address,
            "availabilityView": _availability_view(instances, start, end, interval),
            "scheduleItems": items,
            "workingHours": {
                "daysOfWeek": ["monday", "tuesday", "wednesday", "thursday", "friday"],
                "startTime": "08:00:00.0000000",
                "endTime": "17:00:00.0000000",
                "timeZone": {"name": "UTC"},
            },
        }

    # -- calendarView ---------------------------------------------------

    def _calendar_view(self, request: FakeRequest, user: str) -> FakeResponse:
        raw_start, raw_end = request.arg("startDateTime"), request.arg("endDateTime")
        if raw_start is None or raw_end is None:
            return graph_error(
                400,
                "ErrorInvalidParameter",
                "This request requires a time window specified by the query string "
                "parameters StartDateTime and EndDateTime.",
            )
        start, end = _read_query_time(raw_start), _read_query_time(raw_end)
        mailbox = self.mailboxes[user.lower()]
        zone = self._reply_zone(request)
        instances = _instances(mailbox, start, end)

        skip = int(request.arg("$skip") or 0)
        top = min(int(request.arg("$top") or self.page_size), 1000, self.page_size)
        page = instances[skip : skip + top]
        body: dict[str, Any] = {"value": [_public_instance(i, zone) for i in page]}
        if skip + top < len(instances):
            query = {key: values[0] for key, values in request.query.items()}
            query["$skip"] = str(skip + top)
            encoded = urlencode(query, quote_via=quote)
            body["@odata.nextLink"] = f"{self._server.base_url}{request.path}?{encoded}"
        return FakeResponse(200, body)

    def _reply_zone(self, request: FakeRequest) -> str:
        if self.reply_timezone is not None:
            return self.reply_timezone
        prefer = request.headers.get("prefer", "")
        match = re.search(r'outlook\.timezone="([^"]+)"', prefer)
        return match.group(1) if match else "UTC"

    # -- events ---------------------------------------------------------

    def _create_event(self, request: FakeRequest, user: str) -> FakeResponse:
        mailbox = self.mailboxes[user.lower()]
        body = request.json() or {}
        transaction_id = body.get("transactionId")
        # NOTE: Graph does not document its reply to a repeated transactionId;
        # the fake returns the event created first.
        for existing in mailbox.events.values():
            if transaction_id and existing.get("transactionId") == transaction_id:
                return FakeResponse(201, existing)
        event = {
            "type": "singleInstance",
            "showAs": "busy",
            "isCancelled": False,
            "isAllDay": False,
            **body,
            "id": "AAMk" + secrets.token_urlsafe(24),
        }
        mailbox.events[event["id"]] = event
        return FakeResponse(201, event)

    def _find_events(self, request: FakeRequest, user: str) -> FakeResponse:
        mailbox = self.mailboxes[user.lower()]
        match = _FILTER.fullmatch(request.arg("$filter") or "")
        if match is None:
            return graph_error(
                400, "ErrorInvalidUrlQueryFilter", "The filter is not supported."
            )
        property_id = match.group(1).replace("''", "'")
        value = match.group(2).replace("''", "'")
        found = [
            {"id": event["id"]}
            for event in mailbox.events.values()
            if {"id": property_id, "value": value}
            in event.get("singleValueExtendedProperties", [])
        ]
        return FakeResponse(200, {"value": found})

    def _get_event(
        self, request: FakeRequest, user: str, event_id: str
    ) -> FakeResponse:
        event = self.mailboxes[user.lower()].events.get(event_id)
        if event is None:
            return _item_not_found()
        return FakeResponse(200, event)

    def _patch_event(
        self, request: FakeRequest, user: str, event_id: str
    ) -> FakeResponse:
        events = self.mailboxes[user.lower()].events
        if event_id not in events:
            return _item_not_found()
        events[event_id] = {
            **events[event_id],
            **(request.json() or {}),
            "id": event_id,
        }
        return FakeResponse(200, events[event_id])

    def _delete_event(
        self, request: FakeRequest, user: str, event_id: str
    ) -> FakeResponse:
        events = self.mailboxes[user.lower()].events
        if events.pop(event_id, None) is None:
            return _item_not_found()
        return FakeResponse(204)


# -- expansion -------------------------------------------------------------


def _instances(
    mailbox: Mailbox, start: datetime, end: datetime
) -> list[dict[str, Any]]:
    """Expand the mailbox's events into instances overlapping ``[start, end)``."""
    events = list(mailbox.events.values())
    exceptions = [e for e in events if e.get("type") == "exception"]
    instances = []
    for event in events:
        if event.get("type") == "exception":
            continue
        replaced = {
            _read_datetime_timezone(e["originalStart"])
            for e in exceptions
            if e.get("seriesMasterId") == event["id"]
        }
        for occurrence_start, occurrence_end in _occurrences(event, start, end):
            if occurrence_start in replaced:
                continue
            kind = "occurrence" if event["type"] == "seriesMaster" else event["type"]
            instances.append(
                {
                    **event,
                    "type": kind,
                    "_start": occurrence_start,
                    "_end": occurrence_end,
                }
            )
    for exception in exceptions:
        exception_start = _read_datetime_timezone(exception["start"])
        exception_end = _read_datetime_timezone(exception["end"])
        if exception_start < end and exception_end > start:
            instances.append(
                {**exception, "_start": exception_start, "_end": exception_end}
            )
    return sorted(instances, key=lambda instance: instance["_start"])


def _occurrences(
    event: dict[str, Any], start: datetime, end: datetime
) -> list[tuple[datetime, datetime]]:
    first_start = _read_datetime_timezone(event["start"])
    first_end = _read_datetime_timezone(event["end"])
    recurrence = event.get("recurrence")
    if not recurrence:
        overlaps = first_start < end and first_end > start
        return [(first_start, first_end)] if overlaps else []

    zone = ZoneInfo(_iana(event["start"].get("timeZone", "UTC")))
    duration = first_end - first_start
    rule = _rrule(recurrence, zone)
    starts = expand_occurrences(
        first_start.astimezone(zone), duration, [rule], start, end
    )
    return [(s, s + duration) for s in starts]


def _rrule(recurrence: dict[str, Any], zone: ZoneInfo) -> str:
    """Translate a Graph ``patternedRecurrence`` into an RRULE line."""
    pattern, span = recurrence["pattern"], recurrence["range"]
    parts = [f"INTERVAL={pattern.get('interval', 1)}"]
    kind = pattern["type"]
    if kind == "daily":
        parts.insert(0, "FREQ=DAILY")
    elif kind == "weekly":
        days = ",".join(_WEEKDAYS[day] for day in pattern["daysOfWeek"])
        parts[:0] = ["FREQ=WEEKLY", f"BYDAY={days}"]
    elif kind == "absoluteMonthly":
        parts[:0] = ["FREQ=MONTHLY", f"BYMONTHDAY={pattern['dayOfMonth']}"]
    else:
        raise ValueError(f"the fake does not expand {kind!r} recurrences")

    if span["type"] == "numbered":
        parts.append(f"COUNT={span['numberOfOccurrences']}")
    elif span["type"] == "endDate":
        # Graph's endDate is inclusive and a date in the series' own zone.
        last_day = date.fromisoformat(span["endDate"]) + timedelta(days=1)
        until = datetime(last_day.year, last_day.month, last_day.day) - timedelta(
            seconds=1
        )
        parts.append(f"UNTIL={until.strftime('%Y%m%dT%H%M%S')}")
    return "RRULE:" + ";".join(parts)


def _availability_view(
    instances: list[dict[str, Any]], start: datetime, end: datetime, minutes: int
) -> str:
    step = timedelta(minutes=minutes)
    digits = []
    cursor = start
    while cursor < end:
        slot_end = cursor + step
        present = ["0"] + [
            _AVAILABILITY_DIGITS.get(i["showAs"], "2")
            for i in instances
            if not i["isCancelled"] and i["_start"] < slot_end and i["_end"] > cursor
        ]
        digits.append(max(present, key=_DIGIT_RANK.__getitem__))
        cursor = slot_end
    return "".join(digits)


def _public_instance(instance: dict[str, Any], zone: str) -> dict[str, Any]:
    public = {k: v for k, v in instance.items() if not k.startswith("_")}
    public.pop("recurrence", None)
    public["start"] = _write_datetime_timezone(instance["_start"], zone)
    public["end"] = _write_datetime_timezone(instance["_end"], zone)
    return public


# -- formats ---------------------------------------------------------------


def _iana(name: str) -> str:
    return _WINDOWS_ZONES.get(name, name)


def _read_datetime_timezone(value: dict[str, Any]) -> datetime:
    """Read a Graph ``dateTimeTimeZone`` into a UTC instant."""
    local = datetime.fromisoformat(value["dateTime"])
    if local.tzinfo is None:
        local = local.replace(tzinfo=ZoneInfo(_iana(value.get("timeZone") or "UTC")))
    return local.astimezone(UTC)


def _write_datetime_timezone(instant: datetime, zone: str) -> dict[str, str]:
    """Write an instant the way Graph does: local time, 7 fraction digits."""
    local = instant.astimezone(ZoneInfo(_iana(zone))).replace(tzinfo=None)
    return {
        "dateTime": local.strftime("%Y-%m-%dT%H:%M:%S") + ".0000000",
        "timeZone": zone,
    }


def _read_query_time(value: str) -> datetime:
    instant = datetime.fromisoformat(value.replace("Z", "+00:00"))
    # Without an offset, calendarView reads the value as UTC.
    return (instant if instant.tzinfo else instant.replace(tzinfo=UTC)).astimezone(UTC)


def _oauth_error(error: str, description: str) -> FakeResponse:
    body = {
        "error": error,
        "error_description": description,
        "error_codes": [int(re.sub(r"\D", "", description.split(":")[0]) or 0)],
        "timestamp": _now_iso(),
        "trace_id": secrets.token_hex(8),
        "correlation_id": secrets.token_hex(8),
    }
    return FakeResponse(400 if error != "invalid_client" else 401, body)


def _item_not_found() -> FakeResponse:
    return graph_error(
        404, "ErrorItemNotFound", "The specified object was not found in the store."
    )


def _unsigned_jwt(claims: dict[str, Any]) -> str:
    header = _b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    return f"{header}.{_b64(json.dumps(claims).encode())}."


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S")
