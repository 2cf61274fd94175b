"""Google Calendar: OAuth consent, busy time through freeBusy, idempotent events.

Busy time comes from ``freebusy.query``, at most 50 calendars and 60 days per
call. Google documents no maximum range, and reports of rejected ranges start
at three months. A calendar that carries ``errors`` inside a 200 reply is
unreadable, so its range is reported as ``unknown``, never as free. Events get
an id derived from the session's idempotency key, so a retried insert meets
409 ``duplicate`` and patches the event it already created.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import google.auth.exceptions
import google_auth_httplib2
import httplib2
import requests
from google.oauth2.credentials import Credentials
from google_auth_oauthlib.flow import Flow
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError
from oauthlib.oauth2.rfc6749.errors import OAuth2Error

from .base import BusyInterval, BusyReport, CalendarWarning, EventSpec, ReadOptions
from .errors import (
    AuthError,
    CalendarError,
    NotFoundError,
    ProviderTimeoutError,
    RateLimitedError,
    ServerError,
)
from .freebusy import clip_intervals, merge_intervals
from .ranges import batched, check_range, split_range

logger = logging.getLogger(__name__)

PROVIDER = "google"
SCOPES = (
    "https://www.googleapis.com/auth/calendar.events",
    "https://www.googleapis.com/auth/calendar.freebusy",
)
MAX_CALENDARS_PER_QUERY = 50
MAX_QUERY_RANGE = timedelta(days=60)

# Namespace of the event ids derived from idempotency keys. Changing it would
# make every existing booking's event unfindable.
EVENT_ID_NAMESPACE = uuid.UUID("5d1c4b7e-93a2-4f0e-8c61-2b7a9e0f4d38")

# 403 reasons that Google's errors guide lists as retryable with backoff.
_RETRYABLE_403 = frozenset({"rateLimitExceeded", "userRateLimitExceeded"})
_AUTH_403 = frozenset({"insufficientPermissions", "authError"})
# "Calendar usage limits exceeded" lasts longer than a per-minute window.
_QUOTA_WAIT = 60.0


def event_id_for(key: str) -> str:
    """Derive the Google event id for an idempotency key.

    Hex digits are a subset of base32hex, and 32 characters fit the 5 to 1024
    that Google allows.
    """
    return uuid.uuid5(EVENT_ID_NAMESPACE, key).hex


# -- OAuth consent -------------------------------------------------------


def google_auth_url(
    client_config: dict[str, Any], redirect_uri: str, state: str
) -> str:
    """Build the consent-screen URL that yields a refresh token.

    ``prompt=consent`` matters: without a consent screen Google issues no new
    refresh token.
    """
    flow = _flow(client_config, redirect_uri)
    url, _ = flow.authorization_url(
        access_type="offline", prompt="consent", state=state
    )
    return str(url)


def google_exchange_code(
    client_config: dict[str, Any],
    redirect_uri: str,
    code: str,
    *,
    ca_certs: str | None = None,
    timeout: float = 20.0,
) -> dict[str, Any]:
    """Exchange an authorization code for the token info to store."""
    flow = _flow(client_config, redirect_uri)
    calendar = "(new connection)"
    try:
        flow.fetch_token(code=code, verify=ca_certs or True, timeout=timeout)
    except OAuth2Error as exc:
        raise AuthError(
            f"Google rejected the authorization code ({exc.error}); "
            "start the connection again",
            provider=PROVIDER,
            calendar=calendar,
        ) from exc
    except Warning as exc:
        # oauthlib raises Warning when fewer scopes were granted than asked for.
        raise AuthError(
            "Google granted fewer permissions than Torace needs; reconnect and "
            "allow both calendar access and free/busy access",
            provider=PROVIDER,
            calendar=calendar,
        ) from exc
    except requests.Timeout as exc:
        raise ProviderTimeoutError(
            "the token endpoint timed out", provider=PROVIDER, calendar=calendar
        ) from exc
    except requests.RequestException as exc:
        raise ServerError(
            f"the token endpoint failed: {type(exc).__name__}",
            provider=PROVIDER,
            calendar=calendar,
        ) from exc
    return _token_info(flow.credentials)


def _flow(client_config: dict[str, Any], redirect_uri: str) -> Flow:
    # NOTE: no PKCE, because nothing carries a code verifier from the consent
    # URL to the exchange. The web client authenticates with its secret.
    return Flow.from_client_config(
        client_config,
        scopes=list(SCOPES),
        redirect_uri=redirect_uri,
        autogenerate_code_verifier=False,
    )


def _token_info(credentials: Any) -> dict[str, Any]:
    expiry = credentials.expiry
    return {
        "access_token": credentials.token,
        "refresh_token": credentials.refresh_token,
        "expiry": expiry.replace(tzinfo=UTC).isoformat() if expiry else None,
        "scopes": list(credentials.scopes or SCOPES),
    }


def _credentials(
    token_info: dict[str, Any], client_config: dict[str, Any]
) -> Credentials:
    client = client_config.get("web") or client_config.get("installed") or {}
    if not token_info.get("refresh_token"):
        raise ValueError(
            "token_info has no 'refresh_token'; store the dict that "
            "google_exchange_code returned"
        )
    expiry = token_info.get("expiry")
    # google-auth compares expiry against a naive UTC clock.
    naive_expiry = (
        datetime.fromisoformat(expiry).astimezone(UTC).replace(tzinfo=None)
        if expiry
        else None
    )
    return Credentials(
        token=token_info.get("access_token"),
        refresh_token=token_info["refresh_token"],
        token_uri=client["token_uri"],
        client_id=client["client_id"],
        client_secret=client["client_secret"],
        scopes=token_info.get("scopes") or list(SCOPES),
        expiry=naive_expiry,
    )


# -- the calendar --------------------------------------------------------


@dataclass(frozen=True)
class _Expected:
    """An HTTP status the caller asked to handle itself."""

    status: int
    reason: str


class GoogleCalendar:
    """One Google calendar, read through freeBusy and written through events.

    An instance owns one httplib2 connection, which is not thread-safe, so use
    one instance per thread.
    """

    provider = PROVIDER

    def __init__(
        self,
        token_info: dict[str, Any],
        client_config: dict[str, Any],
        calendar_id: str = "primary",
        api_endpoint: str | None = None,
        options: ReadOptions | None = None,
        *,
        ca_certs: str | None = None,
        timeout: float = 20.0,
        max_retries: int = 2,
        sleep: Callable[[float], None] = time.sleep,
        send_updates: str = "none",
    ) -> None:
        self.calendar = calendar_id
        self.options = options or ReadOptions()
        self._max_retries = max_retries
        self._sleep = sleep
        # Torace mails its own iTIP invitations, so Google sends none by default.
        self._send_updates = send_updates
        self._credentials = _credentials(token_info, client_config)
        self._stored_token = self._credentials.token
        http = google_auth_httplib2.AuthorizedHttp(
            self._credentials, http=httplib2.Http(timeout=timeout, ca_certs=ca_certs)
        )
        client_options = {"api_endpoint": api_endpoint} if api_endpoint else None
        self._service = build(
            "calendar",
            "v3",
            http=http,
            client_options=client_options,
            static_discovery=True,
            cache_discovery=False,
        )

    # -- tokens ---------------------------------------------------------

    @property
    def token_info(self) -> dict[str, Any]:
        """The current token info, to store back after a refresh."""
        return _token_info(self._credentials)

    @property
    def token_info_changed(self) -> bool:
        """Whether the access token was refreshed since construction."""
        return bool(self._credentials.token != self._stored_token)

    # -- busy time ------------------------------------------------------

    def read_busy(self, start: datetime, end: datetime) -> BusyReport:
        """Read the busy intervals of this calendar that overlap ``[start, end)``."""
        return self.read_busy_many([self.calendar], start, end)[self.calendar]

    def read_busy_many(
        self, calendar_ids: Sequence[str], start: datetime, end: datetime
    ) -> dict[str, BusyReport]:
        """Read several calendars at once, 50 calendars and 60 days per query.

        A calendar that Google reports an error for is ``unknown`` for the
        queried range, with a warning. A failed query raises CalendarError.
        """
        check_range(start, end)
        unique_ids = list(dict.fromkeys(calendar_ids))
        reports = {calendar_id: BusyReport() for calendar_id in unique_ids}
        for chunk_start, chunk_end in split_range(start, end, MAX_QUERY_RANGE):
            for batch in batched(unique_ids, MAX_CALENDARS_PER_QUERY):
                reply = self._query_free_busy(batch, chunk_start, chunk_end)
                _read_free_busy(reply, batch, chunk_start, chunk_end, reports)

        for report in reports.values():
            report.intervals = merge_intervals(report.intervals)
        logger.info(
            "read %d Google calendars from %s to %s", len(unique_ids), start, end
        )
        return reports

    def _query_free_busy(
        self, batch: list[str], start: datetime, end: datetime
    ) -> dict[str, Any]:
        body = {
            "timeMin": _rfc3339(start),
            "timeMax": _rfc3339(end),
            "timeZone": "UTC",
            "items": [{"id": calendar_id} for calendar_id in batch],
        }
        reply = self._execute(self._service.freebusy().query(body=body))
        assert isinstance(reply, dict)
        return reply

    # -- events ---------------------------------------------------------

    def upsert_event(self, event: EventSpec) -> str:
        """Insert the event under its derived id, or patch it if it exists."""
        event_id = event_id_for(event.key)
        body = _event_body(event)
        events = self._service.events()

        # The derived id makes a repeated insert safe after an unclear failure.
        for attempt in range(2):
            try:
                inserted = self._execute(
                    events.insert(
                        calendarId=self.calendar,
                        body={**body, "id": event_id},
                        sendUpdates=self._send_updates,
                    ),
                    expected={409},
                )
            except (ServerError, ProviderTimeoutError):
                if attempt == 1:
                    raise
                logger.warning("retrying insert of Google event %s", event_id)
                continue
            if not isinstance(inserted, _Expected):
                logger.info("created Google event %s in %s", event_id, self.calendar)
                return event_id
            break
        return self._patch_existing(event_id, body)

    def _patch_existing(self, event_id: str, body: dict[str, Any]) -> str:
        events = self._service.events()
        existing = self._execute(events.get(calendarId=self.calendar, eventId=event_id))
        assert isinstance(existing, dict)
        if existing.get("status") == "cancelled":
            raise CalendarError(
                f"event {event_id} was deleted from this calendar, and Google "
                "never lets a deleted event's id be used again; book the session "
                "under a new idempotency key",
                provider=PROVIDER,
                calendar=self.calendar,
            )
        self._execute(
            events.patch(
                calendarId=self.calendar,
                eventId=event_id,
                body=body,
                sendUpdates=self._send_updates,
            )
        )
        logger.info("updated Google event %s in %s", event_id, self.calendar)
        return event_id

    def cancel_event(self, event: EventSpec) -> None:
        """Delete the event; an event that is missing or already deleted is fine."""
        event_id = event_id_for(event.key)
        request = self._service.events().delete(
            calendarId=self.calendar, eventId=event_id, sendUpdates=self._send_updates
        )
        outcome = self._execute(request, expected={404, 410})
        if isinstance(outcome, _Expected):
            logger.info("Google event %s was already gone", event_id)

    # -- incremental sync -----------------------------------------------

    def events_changed(self, sync_token: str | None) -> tuple[bool, str]:
        """Report whether events changed since ``sync_token``; return the next token.

        Without a token, or when Google returns 410 ``fullSyncRequired``, a full
        listing runs and counts as a change.
        """
        if sync_token is not None:
            listed = self._list_events(sync_token)
            if listed is not None:
                changed, next_token = listed
                return changed, next_token
            logger.info("sync token of %s expired; running a full sync", self.calendar)

        full = self._list_events(None)
        assert full is not None
        return True, full[1]

    def _list_events(self, sync_token: str | None) -> tuple[bool, str] | None:
        """List every page; return (any items, next sync token), None on 410."""
        changed = False
        page_token: str | None = None
        while True:
            params: dict[str, Any] = {"calendarId": self.calendar, "maxResults": 250}
            if sync_token is not None:
                params["syncToken"] = sync_token
            if page_token is not None:
                params["pageToken"] = page_token
            page = self._execute(self._service.events().list(**params), expected={410})
            if isinstance(page, _Expected):
                return None

            assert isinstance(page, dict)
            changed = changed or bool(page.get("items"))
            if "nextSyncToken" in page:
                return changed, str(page["nextSyncToken"])
            page_token = page.get("nextPageToken")
            if page_token is None:
                raise ServerError(
                    "events.list ended without a nextSyncToken",
                    provider=PROVIDER,
                    calendar=self.calendar,
                )

    # -- transport ------------------------------------------------------

    def _execute(self, request: Any, expected: Iterable[int] = ()) -> Any:
        """Run one API request, retrying rate limits, and map its failures."""
        expected = frozenset(expected)
        for attempt in range(self._max_retries + 1):
            try:
                return request.execute(num_retries=0)
            except HttpError as exc:
                status, reason = exc.resp.status, _error_reason(exc)
                if status in expected:
                    return _Expected(status, reason)
                error = self._map_http_error(exc, status, reason, attempt)
                retryable = status == 429 or reason in _RETRYABLE_403
                if retryable and attempt < self._max_retries:
                    assert isinstance(error, RateLimitedError)
                    logger.warning(
                        "Google rate limit (%s) on %s; waiting %.1f s",
                        reason,
                        self.calendar,
                        error.retry_after,
                    )
                    self._sleep(error.retry_after)
                    continue
                raise error from exc
            except google.auth.exceptions.RefreshError as exc:
                raise self._refresh_error(exc) from exc
            except google.auth.exceptions.TransportError as exc:
                raise self._error(ServerError, "the token endpoint failed") from exc
            except TimeoutError as exc:
                raise self._error(
                    ProviderTimeoutError, "the request timed out"
                ) from exc
            except (OSError, httplib2.HttpLib2Error) as exc:
                message = f"the connection failed: {type(exc).__name__}"
                raise self._error(ServerError, message) from exc
        raise AssertionError("unreachable: the loop returns or raises")

    def _map_http_error(
        self, exc: HttpError, status: int, reason: str, attempt: int
    ) -> CalendarError:
        if status == 429 or (status == 403 and reason in _RETRYABLE_403):
            wait = _retry_after(exc) or float(2**attempt)
            return RateLimitedError(
                f"rate limited ({reason or status})",
                provider=PROVIDER,
                calendar=self.calendar,
                retry_after=wait,
            )
        if status == 403 and reason == "quotaExceeded":
            return RateLimitedError(
                "Calendar usage limits exceeded",
                provider=PROVIDER,
                calendar=self.calendar,
                retry_after=_retry_after(exc) or _QUOTA_WAIT,
            )
        if status == 401 or (status == 403 and reason in _AUTH_403):
            return self._error(
                AuthError, f"access was rejected ({reason}); reconnect the calendar"
            )
        if status == 404:
            return self._error(NotFoundError, "the calendar or event was not found")
        if status >= 500:
            return self._error(ServerError, f"Google failed with HTTP {status}")
        return self._error(
            CalendarError, f"Google rejected the request: {status} {reason}"
        )

    def _refresh_error(self, exc: google.auth.exceptions.RefreshError) -> CalendarError:
        if "invalid_grant" in str(exc):
            return self._error(
                AuthError,
                "the refresh token was expired or revoked; the owner must reconnect",
            )
        if getattr(exc, "retryable", False):
            return self._error(ServerError, "refreshing the access token failed")
        return self._error(AuthError, "refreshing the access token was rejected")

    def _error(self, kind: type[CalendarError], message: str) -> CalendarError:
        return kind(message, provider=PROVIDER, calendar=self.calendar)


# -- helpers -------------------------------------------------------------


def _read_free_busy(
    reply: dict[str, Any],
    batch: list[str],
    start: datetime,
    end: datetime,
    reports: dict[str, BusyReport],
) -> None:
    calendars = reply.get("calendars") or {}
    for calendar_id in batch:
        report = reports[calendar_id]
        entry = calendars.get(calendar_id)
        problem = _entry_problem(entry)
        if problem is not None:
            logger.warning("Google calendar %s unreadable: %s", calendar_id, problem)
            report.warnings.append(CalendarWarning(calendar_id, problem))
            report.intervals.append(BusyInterval(start, end, "unknown"))
            continue

        assert entry is not None
        busy = [
            BusyInterval(_parse_time(span["start"]), _parse_time(span["end"]))
            for span in entry.get("busy") or []
        ]
        report.intervals.extend(clip_intervals(busy, start, end))


def _entry_problem(entry: dict[str, Any] | None) -> str | None:
    if entry is None:
        return "Google's freeBusy reply left this calendar out"
    errors = entry.get("errors") or []
    if errors:
        reasons = ", ".join(str(error.get("reason", "unknown")) for error in errors)
        return f"Google could not read this calendar's free/busy ({reasons})"
    return None


def _event_body(event: EventSpec) -> dict[str, Any]:
    try:
        zone = ZoneInfo(event.timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(
            f"event time zone {event.timezone!r} is not an IANA zone name"
        ) from exc
    return {
        "summary": event.summary,
        "description": event.description,
        "location": event.location,
        "start": {
            "dateTime": event.start.astimezone(zone).isoformat(),
            "timeZone": event.timezone,
        },
        "end": {
            "dateTime": event.end.astimezone(zone).isoformat(),
            "timeZone": event.timezone,
        },
        "attendees": [
            {"email": attendee.email, "displayName": attendee.name}
            for attendee in event.attendees
        ],
        "extendedProperties": {"private": {"toraceKey": event.key}},
    }


def _error_reason(exc: HttpError) -> str:
    try:
        body = json.loads(exc.content)
        return str(body["error"]["errors"][0]["reason"])
    except (ValueError, KeyError, IndexError, TypeError):
        return ""


def _retry_after(exc: HttpError) -> float | None:
    value = exc.resp.get("retry-after")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def _rfc3339(instant: datetime) -> str:
    return instant.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
