"""Open a calendar from a configured spec, and read it without ever failing."""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

import requests

from .base import BusyReport, CalendarSource, ReadOptions
from .caldav_source import CalDAVSource
from .errors import CalendarError
from .feed import (
    IcsFeedSource,
    IcsFileSource,
    new_session,
    raise_for_status,
    redact_url,
    request_error,
)
from .ics import unknown_report

logger = logging.getLogger(__name__)

# Bytes of a GET body read to recognise an iCalendar feed without a
# text/calendar content type.
_SNIFF_BYTES = 1024


def open_source(
    spec: str,
    *,
    base_dir: Path | None,
    options: ReadOptions,
    username: str | None = None,
    password: str | None = None,
    timeout: float = 10.0,
) -> CalendarSource:
    """Open an .ics path, a CalDAV calendar URL or an iCalendar feed URL.

    An http(s) URL is asked with OPTIONS first: a DAV header that lists
    ``calendar-access`` means CalDAV. Otherwise a GET whose content type is
    text/calendar, or whose body starts with BEGIN:VCALENDAR, means a feed.
    """
    scheme = urlsplit(spec).scheme.lower()
    if scheme not in ("http", "https"):
        path = Path(spec)
        if not path.is_absolute() and base_dir is not None:
            path = base_dir / path
        return IcsFileSource(path, options)

    auth = (username, password or "") if username is not None else None
    if _speaks_caldav(spec, auth, timeout):
        return CalDAVSource(spec, username, password, options, timeout)

    found = _sniff_feed(spec, auth, timeout)
    if found is None:
        return IcsFeedSource(spec, options, timeout=timeout, auth=auth)
    raise CalendarError(
        f"{redact_url(spec)} is neither a CalDAV calendar nor an iCalendar feed "
        f"({found}); use a calendar's CalDAV URL or its .ics address",
        provider="url",
        calendar=redact_url(spec),
    )


def _speaks_caldav(url: str, auth: tuple[str, str] | None, timeout: float) -> bool:
    session = new_session()
    try:
        response = session.options(url, auth=auth, timeout=timeout)
    except requests.RequestException as exc:
        raise request_error(exc, url, "url", redact_url(url)) from exc
    dav = response.headers.get("DAV", "")
    return "calendar-access" in dav.lower()


def _sniff_feed(url: str, auth: tuple[str, str] | None, timeout: float) -> str | None:
    """Return None when ``url`` serves iCalendar, else what it serves instead."""
    session = new_session()
    try:
        with session.get(url, auth=auth, timeout=timeout, stream=True) as response:
            raise_for_status(response, "url", redact_url(url))
            content_type = response.headers.get("Content-Type", "")
            if content_type.split(";")[0].strip().lower() == "text/calendar":
                return None
            head = next(response.iter_content(_SNIFF_BYTES), b"")
    except requests.RequestException as exc:
        raise request_error(exc, url, "url", redact_url(url)) from exc

    if head.lstrip(b"\xef\xbb\xbf \t\r\n").upper().startswith(b"BEGIN:VCALENDAR"):
        return None
    return f"it answers with content type {content_type or 'none'!r}"


def read_busy_or_unknown(
    source: CalendarSource, start: datetime, end: datetime
) -> BusyReport:
    """Read busy time; a failed read makes the whole range unknown, never free."""
    try:
        return source.read_busy(start, end)
    except CalendarError as exc:
        logger.warning(
            "%s calendar %s unreadable, availability unknown: %s",
            source.provider,
            source.calendar,
            exc,
        )
        return unknown_report(
            start, end, source.calendar, f"calendar unreadable: {exc}"
        )
