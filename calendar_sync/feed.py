"""Read-only calendars: an iCalendar feed over HTTP(S) and an .ics file."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit, urlunsplit

import requests

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
from .ics import read_ics

logger = logging.getLogger(__name__)

# Used when a 429 or 503 carries no usable Retry-After header.
DEFAULT_RETRY_AFTER = 60.0  # seconds

_CHUNK_SIZE = 64 * 1024


@dataclass(frozen=True, slots=True)
class CachedFeed:
    """The last body of a feed with the validators the server sent for it."""

    body: bytes
    etag: str | None = None
    last_modified: str | None = None


class FeedCache(Protocol):
    """A store of feed bodies between reads, keyed by URL."""

    def get(self, url: str) -> CachedFeed | None: ...

    def put(self, url: str, entry: CachedFeed) -> None: ...


class MemoryFeedCache:
    """A FeedCache in a dict, for one process."""

    def __init__(self) -> None:
        self._entries: dict[str, CachedFeed] = {}

    def get(self, url: str) -> CachedFeed | None:
        return self._entries.get(url)

    def put(self, url: str, entry: CachedFeed) -> None:
        self._entries[url] = entry


def redact_url(url: str) -> str:
    """Drop the credentials and query of a URL, which often carry a secret token."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def retry_after_seconds(value: str | None) -> float:
    """Parse a Retry-After header (seconds or an HTTP date) into seconds."""
    if not value:
        return DEFAULT_RETRY_AFTER
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return DEFAULT_RETRY_AFTER
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def raise_for_status(response: requests.Response, provider: str, calendar: str) -> None:
    """Raise the CalendarError that matches an HTTP error status."""
    status = response.status_code
    if status < 400:
        return

    where = f"{response.request.method} {redact_url(response.url)}"
    message = f"{where} failed with HTTP {status} {response.reason}"
    if status in (401, 403):
        raise AuthError(
            f"{message}; check the user name and password",
            provider=provider,
            calendar=calendar,
        )
    if status in (404, 410):
        raise NotFoundError(message, provider=provider, calendar=calendar)
    if status == 429 or (status == 503 and "Retry-After" in response.headers):
        raise RateLimitedError(
            message,
            provider=provider,
            calendar=calendar,
            retry_after=retry_after_seconds(response.headers.get("Retry-After")),
        )
    if status >= 500:
        raise ServerError(message, provider=provider, calendar=calendar)
    raise CalendarError(message, provider=provider, calendar=calendar)


def request_error(
    exc: requests.RequestException, url: str, provider: str, calendar: str
) -> CalendarError:
    """Turn a failed request (no HTTP status) into a CalendarError."""
    if isinstance(exc, requests.Timeout):
        return ProviderTimeoutError(
            f"{redact_url(url)} timed out",
            provider=provider,
            calendar=calendar,
        )
    if isinstance(exc, requests.ConnectionError):
        return ServerError(
            f"cannot connect to {redact_url(url)}: {type(exc).__name__}",
            provider=provider,
            calendar=calendar,
        )
    return CalendarError(
        f"request to {redact_url(url)} failed: {type(exc).__name__}",
        provider=provider,
        calendar=calendar,
    )


def new_session() -> requests.Session:
    """Return a session that ignores proxy and netrc settings from the environment."""
    session = requests.Session()
    session.trust_env = False
    return session


def read_only_error(provider: str, calendar: str) -> CalendarError:
    return CalendarError(
        "the calendar is read-only; connect a CalDAV, Google or Microsoft "
        "calendar to receive sessions",
        provider=provider,
        calendar=calendar,
    )


class IcsFeedSource:
    """A read-only iCalendar feed, fetched over HTTP(S) and revalidated."""

    provider = "ics-feed"

    def __init__(
        self,
        url: str,
        options: ReadOptions,
        *,
        timeout: float = 10.0,
        max_bytes: int = 10_000_000,
        cache: FeedCache | None = None,
        auth: tuple[str, str] | None = None,
    ) -> None:
        if urlsplit(url).scheme not in ("http", "https"):
            raise ValueError(f"feed URL {redact_url(url)!r} must start with https://")
        self.url = url
        self.calendar = redact_url(url)
        self.options = options
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.cache: FeedCache = cache if cache is not None else MemoryFeedCache()
        self.auth = auth
        self.session = new_session()

    def read_busy(self, start: datetime, end: datetime) -> BusyReport:
        """Fetch the feed (or reuse the cached copy) and read its busy time."""
        body = self.fetch()
        return read_ics(body, start, end, self.options, self.calendar)

    def fetch(self) -> bytes:
        """Return the feed body, or the cached body when the server sends 304."""
        cached = self.cache.get(self.url)
        headers = {"Accept": "text/calendar, */*;q=0.5"}
        if cached is not None and cached.etag:
            headers["If-None-Match"] = cached.etag
        if cached is not None and cached.last_modified:
            headers["If-Modified-Since"] = cached.last_modified

        try:
            with self.session.get(
                self.url,
                headers=headers,
                timeout=self.timeout,
                stream=True,
                auth=self.auth,
            ) as response:
                if response.status_code == 304 and cached is not None:
                    logger.info("feed %s not modified; cached copy used", self.calendar)
                    return cached.body
                raise_for_status(response, self.provider, self.calendar)
                body = self._read_body(response)
                self.cache.put(self.url, self._cache_entry(response, body))
                return body
        except requests.RequestException as exc:
            raise request_error(exc, self.url, self.provider, self.calendar) from exc

    def _read_body(self, response: requests.Response) -> bytes:
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            raise self._too_large()

        # requests' timeout bounds each socket read, so a server trickling
        # bytes is stopped by this overall deadline instead.
        deadline = time.monotonic() + self.timeout
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_content(_CHUNK_SIZE):
            size += len(chunk)
            if size > self.max_bytes:
                raise self._too_large()
            if time.monotonic() > deadline:
                raise ProviderTimeoutError(
                    f"{self.calendar} took longer than {self.timeout} s to send",
                    provider=self.provider,
                    calendar=self.calendar,
                )
            chunks.append(chunk)
        return b"".join(chunks)

    def _too_large(self) -> InvalidDataError:
        return InvalidDataError(
            f"feed is larger than {self.max_bytes} bytes; raise max_bytes or "
            "publish a shorter range",
            provider=self.provider,
            calendar=self.calendar,
        )

    @staticmethod
    def _cache_entry(response: requests.Response, body: bytes) -> CachedFeed:
        return CachedFeed(
            body=body,
            etag=response.headers.get("ETag"),
            last_modified=response.headers.get("Last-Modified"),
        )

    def upsert_event(self, event: EventSpec) -> str:
        """Raise: a feed cannot be written."""
        raise read_only_error(self.provider, self.calendar)

    def cancel_event(self, event: EventSpec) -> None:
        """Raise: a feed cannot be written."""
        raise read_only_error(self.provider, self.calendar)


class IcsFileSource:
    """A read-only .ics file on disk."""

    provider = "ics-file"

    def __init__(self, path: Path | str, options: ReadOptions) -> None:
        self.path = Path(path)
        self.calendar = str(self.path)
        self.options = options

    def read_busy(self, start: datetime, end: datetime) -> BusyReport:
        """Read the file's busy time; a missing file raises NotFoundError."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError as exc:
            raise NotFoundError(
                "the calendar file does not exist; check the path",
                provider=self.provider,
                calendar=self.calendar,
            ) from exc
        except OSError as exc:
            raise CalendarError(
                f"the calendar file cannot be read: {exc.strerror}",
                provider=self.provider,
                calendar=self.calendar,
            ) from exc
        return read_ics(data, start, end, self.options, self.calendar)

    def upsert_event(self, event: EventSpec) -> str:
        """Raise: an .ics file source is never written."""
        raise read_only_error(self.provider, self.calendar)

    def cancel_event(self, event: EventSpec) -> None:
        """Raise: an .ics file source is never written."""
        raise read_only_error(self.provider, self.calendar)
