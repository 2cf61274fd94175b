"""Periodic sync of every calendar connection's busy time into BusyBlock rows.

Provider I/O runs on a small thread pool; every database read and write
stays on the calling thread. Jobs are built from plain values (decrypted
secrets, calendar ids, stored sync state), and their outcomes are applied
one connection at a time, each in its own transaction.

Provider calls are kept to the minimum. Google connections that share one
credential are read together, 50 calendars per freeBusy query and 60 days
per query. Microsoft work accounts that share one token cache are read 20
schedules per getSchedule call. Each CalDAV calendar costs one change check
and, only when it changed, its REPORT. Each feed is fetched conditionally.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import secrets
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from calendar_sync.base import BusyInterval, BusyReport, ReadOptions
from calendar_sync.caldav_source import CalDAVSource
from calendar_sync.errors import AuthError, CalendarError
from calendar_sync.feed import CachedFeed, IcsFeedSource, IcsFileSource
from calendar_sync.google import MAX_CALENDARS_PER_QUERY, MAX_QUERY_RANGE
from calendar_sync.ics import read_ics
from calendar_sync.quirks import quirks_for
from calendar_sync.sources import open_source
from config import Settings
from web.extensions import db
from web.links import link_url
from web.models import BusyBlock, CalendarConnection
from web.outbox import queue_mail

log = logging.getLogger(__name__)

SYNC_BEHIND = timedelta(days=1)
# With one day behind, the range is 120 days: two 60-day provider queries.
SYNC_AHEAD = timedelta(days=119)
MAX_WORKERS = 4  # threads doing provider I/O at once
# Stored blocks still count as covering the range while they reach this
# close to its end, so an unchanged calendar is not re-read on every run.
RANGE_SLACK = timedelta(days=1)
VALIDATOR_KEYS = ("google_sync_token", "caldav_state", "etag", "last_modified")


@dataclass
class SyncSummary:
    """Counts of connections by what one sync run did with them."""

    connections: int = 0
    read: int = 0
    unchanged: int = 0
    failed: int = 0
    needs_reconnect: int = 0
    jobs: int = 0
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def sync_range(now: datetime) -> tuple[datetime, datetime]:
    """Return the UTC range every sync reads: a day back, 119 days ahead."""
    return now - SYNC_BEHIND, now + SYNC_AHEAD


def sync_all(now: datetime) -> SyncSummary:
    """Refresh the busy blocks of every calendar connection; commit each one."""
    start, end = sync_range(now)
    connections = list(
        db.session.scalars(
            db.select(CalendarConnection).order_by(CalendarConnection.id)
        )
    )
    summary = SyncSummary(connections=len(connections))
    by_id = {connection.id: connection for connection in connections}
    jobs = _plan(connections, now, start, end, summary)
    summary.jobs = len(jobs)

    with ThreadPoolExecutor(max_workers=MAX_WORKERS) as pool:
        futures = {pool.submit(job.run): job for job in jobs}
        for future in as_completed(futures):
            for outcome in _outcomes(future.result, futures[future]):
                _apply(by_id[outcome.connection_id], outcome, now, start, end, summary)
                db.session.commit()

    log.info(
        "synced %d calendar connections in %d jobs: %d read, %d unchanged, "
        "%d failed, %d need reconnecting",
        summary.connections,
        summary.jobs,
        summary.read,
        summary.unchanged,
        summary.failed,
        summary.needs_reconnect,
    )
    return summary


def _outcomes(result: Callable[[], list[Outcome]], job: Job) -> list[Outcome]:
    """Return a job's outcomes; a job that crashed fails all its connections."""
    try:
        return result()
    except Exception as error:  # a bug in one job must not stop the others
        log.exception("sync job for connections %s crashed", job.connection_ids)
        problem = f"the sync failed unexpectedly ({type(error).__name__})"
        return [Outcome(cid, None, problem, failed=True) for cid in job.connection_ids]


# -- planning --------------------------------------------------------------


def _plan(
    connections: list[CalendarConnection],
    now: datetime,
    start: datetime,
    end: datetime,
    summary: SyncSummary,
) -> list[Job]:
    """Build the jobs for every connection; handle the ones that need none."""
    from web.availability import read_options_for_person
    from web.oauth import google_token_info, open_secret, settings

    config = settings()
    jobs: list[Job] = []
    google: dict[str, tuple[dict[str, Any], list[Target]]] = {}
    microsoft: dict[str, tuple[str, str, bool, list[Target]]] = {}

    for connection in connections:
        if connection.status == "needs-reconnect":
            _replace_blocks(connection, [BusyInterval(start, end, "unknown")])
            summary.needs_reconnect += 1
            db.session.commit()
            continue
        target = Target(
            connection.id, connection.url, dict(connection.sync_state or {})
        )
        target.skip_allowed = _may_skip(connection, end)
        try:
            secret = "" if connection.kind == "google" else open_secret(connection)
            if connection.kind == "google":
                info = google_token_info(connection)
                key = _digest(str(info["refresh_token"]))
                google.setdefault(key, (info, []))[1].append(target)
            elif connection.kind == "microsoft":
                personal = bool(target.state.get("personal"))
                key = _msal_key(secret) + (f":{connection.id}" if personal else "")
                owner = connection.account or connection.url
                entry = microsoft.setdefault(key, (secret, owner, personal, []))
                entry[3].append(target)
            else:
                options = read_options_for_person(connection.person)
                jobs.append(
                    _source_job(connection, target, secret, options, start, end)
                )
        except AuthError as error:
            _apply(
                connection,
                Outcome(connection.id, None, str(error), auth=True),
                now,
                start,
                end,
                summary,
            )
            db.session.commit()

    chunks = math.ceil((end - start) / MAX_QUERY_RANGE)
    for info, targets in google.values():
        check = _worth_checking(len(targets), chunks)
        jobs.append(google_job(config, info, targets, start, end, check))
    for blob, owner, personal, targets in microsoft.values():
        jobs.append(microsoft_job(config, blob, owner, personal, targets, start, end))
    return jobs


def _source_job(
    connection: CalendarConnection,
    target: Target,
    password: str,
    options: Any,
    start: datetime,
    end: datetime,
) -> Job:
    from web.oauth import settings

    timeout = settings().calendar_timeout_seconds
    username = connection.username or None
    kind = connection.kind
    if kind == "caldav":
        return caldav_job(target, username, password, options, timeout, start, end)
    if kind == "ics-feed":
        return feed_job(target, username, password, options, timeout, start, end)
    if kind == "url":
        return url_job(target, username, password, options, timeout, start, end)
    return file_job(target, options, start, end)


def _worth_checking(calendars: int, chunks: int) -> bool:
    """Tell whether one change check per calendar costs fewer calls than a read.

    Google's change check (events.list with a sync token) is one call per
    calendar, while freeBusy reads 50 calendars per call, so checks only pay
    for a credential with fewer calendars than its freeBusy queries.
    """
    return calendars < chunks * math.ceil(calendars / MAX_CALENDARS_PER_QUERY)


def _may_skip(connection: CalendarConnection, end: datetime) -> bool:
    """Tell whether an unchanged calendar may keep its stored blocks."""
    state = connection.sync_state or {}
    until = state.get("synced_until")
    if connection.status != "ok" or connection.last_sync_at is None or not until:
        return False
    return datetime.fromisoformat(until) >= end - RANGE_SLACK


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def _msal_key(blob: str) -> str:
    """Key an MSAL cache by its refresh tokens, so copies of one grant group."""
    try:
        tokens = json.loads(blob).get("RefreshToken", {})
        secrets_found = sorted(str(t.get("secret", "")) for t in tokens.values())
    except (ValueError, AttributeError):
        secrets_found = []
    return _digest("\n".join(secrets_found) or blob)


# -- applying outcomes -----------------------------------------------------


def _apply(
    connection: CalendarConnection,
    outcome: Outcome,
    now: datetime,
    start: datetime,
    end: datetime,
    summary: SyncSummary,
) -> None:
    """Store one connection's outcome: blocks, status, state and secret."""
    from web.oauth import seal_secret

    if outcome.kind:
        connection.kind = outcome.kind
    if outcome.secret is not None:
        connection.secret = seal_secret(outcome.secret)
    state = dict(connection.sync_state or {})
    state.update(outcome.state)
    state["synced_at"] = now.isoformat()
    connection.last_sync_at = now

    if outcome.auth:
        _forget_validators(state)
        _replace_blocks(connection, [BusyInterval(start, end, "unknown")])
        mark_needs_reconnect(connection, outcome.problem)
        summary.needs_reconnect += 1
    elif outcome.failed:
        _forget_validators(state)
        _replace_blocks(connection, [BusyInterval(start, end, "unknown")])
        connection.status, connection.last_error = "error", outcome.problem[:2000]
        summary.failed += 1
        summary.errors.append(f"connection {connection.id}: {outcome.problem}")
    elif outcome.intervals is None:
        summary.unchanged += 1
    else:
        _replace_blocks(connection, outcome.intervals)
        state["synced_from"], state["synced_until"] = start.isoformat(), end.isoformat()
        connection.status = "error" if outcome.problem else "ok"
        connection.last_error = outcome.problem[:2000]
        if outcome.problem:
            # A partly unreadable calendar is read again in full next time.
            _forget_validators(state)
            summary.failed += 1
        else:
            summary.read += 1
    connection.sync_state = state


def _forget_validators(state: dict[str, Any]) -> None:
    for key in VALIDATOR_KEYS:
        state.pop(key, None)
    state.pop("synced_until", None)


def _replace_blocks(
    connection: CalendarConnection, intervals: list[BusyInterval]
) -> None:
    """Replace the connection's busy blocks in the current transaction."""
    db.session.execute(db.delete(BusyBlock).filter_by(connection_id=connection.id))
    db.session.add_all(
        BusyBlock(
            connection_id=connection.id,
            start=interval.start,
            end=interval.end,
            kind=interval.kind,
        )
        for interval in intervals
    )
    db.session.expire(connection, ["busy_blocks"])


def report_outcome(connection_id: int, report: BusyReport, **values: Any) -> Outcome:
    """Turn a busy report into an outcome; warnings become the recorded problem."""
    problem = "; ".join(warning.message for warning in report.warnings)
    return Outcome(connection_id, report.intervals, problem, **values)


# -- reconnecting ----------------------------------------------------------


def mark_needs_reconnect(connection: CalendarConnection, problem: str) -> None:
    """Record a rejected grant and queue one reconnect email for it.

    The email's key names the grant, so a second failure of the same grant
    (a sync run twice, a failed write) queues nothing more, while a grant
    that fails again after a reconnect gets a new email.
    """
    first = connection.status != "needs-reconnect"
    connection.status = "needs-reconnect"
    connection.last_error = problem[:2000]
    if not first:
        return

    person = connection.person
    log.warning(
        "calendar connection %s of person %s needs reconnecting",
        connection.id,
        person.id,
    )
    queue_mail(
        "reconnect",
        f"{connection.id}:{grant_id(connection)}",
        person,
        "Reconnect your calendar to Torace",
        "reconnect",
        connection=connection,
        provider=PROVIDER_NAMES.get(connection.kind, "calendar"),
        url=link_url("reconnect", person.id, connection.id),
    )


def grant_id(connection: CalendarConnection) -> str:
    """Return the id of the grant behind a connection, set on each (re)connect."""
    state = connection.sync_state or {}
    return str(state.get("grant") or connection.created_at.isoformat())


def new_grant_id() -> str:
    return secrets.token_hex(8)


PROVIDER_NAMES = {
    "google": "Google",
    "microsoft": "Microsoft 365",
    "caldav": "CalDAV",
    "ics-feed": "calendar feed",
    "url": "calendar address",
    "ics-file": "calendar file",
}


# -- jobs: provider I/O on worker threads ------------------------------------


@dataclass
class Target:
    """One connection as plain values for a worker thread, without its row."""

    connection_id: int
    calendar: str
    state: dict[str, Any]
    skip_allowed: bool = False
    """The stored blocks cover the range, so an unchanged calendar is skipped."""


@dataclass
class Outcome:
    """The result of a job for one connection; ``intervals`` None keeps the blocks."""

    connection_id: int
    intervals: list[BusyInterval] | None
    problem: str = ""
    auth: bool = False
    failed: bool = False
    state: dict[str, Any] = field(default_factory=dict)
    secret: str | None = None
    """A refreshed secret to store, in plain text; None: unchanged."""
    kind: str | None = None
    """The recognised kind of a ``url`` connection."""


@dataclass
class Job:
    """Provider I/O for one or more connections that share a call."""

    connection_ids: list[int]
    work: Callable[[], list[Outcome]]

    def run(self) -> list[Outcome]:
        """Do the I/O; a provider failure fails every connection of the job."""
        try:
            return self.work()
        except AuthError as error:
            return [
                Outcome(cid, None, str(error), auth=True) for cid in self.connection_ids
            ]
        except CalendarError as error:
            log.warning("calendar read failed for %s: %s", self.connection_ids, error)
            return [
                Outcome(cid, None, str(error), failed=True)
                for cid in self.connection_ids
            ]


def _job(targets: list[Target], work: Callable[[], list[Outcome]]) -> Job:
    return Job([target.connection_id for target in targets], work)


def google_job(
    config: Settings,
    info: dict[str, Any],
    targets: list[Target],
    start: datetime,
    end: datetime,
    check: bool,
) -> Job:
    """Read every calendar of one Google credential with batched freeBusy."""
    from web.oauth import google_calendar

    def work() -> list[Outcome]:
        first = targets[0]
        calendar = google_calendar(config, info, first.calendar, ReadOptions())
        states: dict[int, dict[str, Any]] = {t.connection_id: {} for t in targets}
        to_read = targets
        if check:
            changed, token = calendar.events_changed(
                first.state.get("google_sync_token")
            )
            states[first.connection_id]["google_sync_token"] = token
            if not changed and first.skip_allowed:
                to_read = []

        ids = [target.calendar for target in to_read]
        reports = calendar.read_busy_many(ids, start, end) if ids else {}
        secret = (
            json.dumps(calendar.token_info) if calendar.token_info_changed else None
        )
        outcomes = []
        for target in targets:
            state = states[target.connection_id]
            if target.calendar in reports:
                report = reports[target.calendar]
                outcome = report_outcome(target.connection_id, report, state=state)
            else:
                outcome = Outcome(target.connection_id, None, state=state)
            outcome.secret = secret
            outcomes.append(outcome)
        return outcomes

    return _job(targets, work)


def microsoft_job(
    config: Settings,
    blob: str,
    owner: str,
    personal: bool,
    targets: list[Target],
    start: datetime,
    end: datetime,
) -> Job:
    """Read every mailbox of one Microsoft token cache with batched getSchedule."""
    from web.oauth import http_session, microsoft_auth, microsoft_calendar

    def work() -> list[Outcome]:
        with http_session(config) as session:
            access, new_blob = microsoft_auth(config, session).access_token(blob)
            calendar = microsoft_calendar(
                config, session, lambda: access, owner, personal, ReadOptions()
            )
            if personal:
                reports = {targets[0].calendar: calendar.read_busy(start, end)}
            else:
                mailboxes = [target.calendar for target in targets]
                reports = calendar.read_busy_many(mailboxes, start, end)
        secret = new_blob if new_blob != blob else None
        return [
            report_outcome(t.connection_id, reports[t.calendar], secret=secret)
            for t in targets
        ]

    return _job(targets, work)


def caldav_job(
    target: Target,
    username: str | None,
    password: str,
    options: ReadOptions,
    timeout: float,
    start: datetime,
    end: datetime,
) -> Job:
    """Check one CalDAV calendar for changes and read it only if it changed."""

    def work() -> list[Outcome]:
        quirks = quirks_for(target.state.get("server"))
        source = CalDAVSource(
            target.calendar, username, password, options, timeout, quirks=quirks
        )
        return [_read_caldav(source, target, start, end)]

    return _job([target], work)


def feed_job(
    target: Target,
    username: str | None,
    password: str,
    options: ReadOptions,
    timeout: float,
    start: datetime,
    end: datetime,
) -> Job:
    """Fetch one feed conditionally and read it only if it changed."""

    def work() -> list[Outcome]:
        auth = (username, password) if username is not None else None
        source = IcsFeedSource(target.calendar, options, timeout=timeout, auth=auth)
        return [_read_feed(source, target, start, end)]

    return _job([target], work)


def url_job(
    target: Target,
    username: str | None,
    password: str,
    options: ReadOptions,
    timeout: float,
    start: datetime,
    end: datetime,
) -> Job:
    """Recognise a pasted address as CalDAV or a feed, then read it."""

    def work() -> list[Outcome]:
        source = open_source(
            target.calendar,
            base_dir=None,
            options=options,
            username=username,
            password=password or None,
            timeout=timeout,
        )
        if isinstance(source, CalDAVSource):
            return [_read_caldav(source, target, start, end, kind="caldav")]
        if isinstance(source, IcsFeedSource):
            return [_read_feed(source, target, start, end, kind="ics-feed")]
        report = source.read_busy(start, end)
        return [report_outcome(target.connection_id, report, kind="ics-file")]

    return _job([target], work)


def file_job(
    target: Target, options: ReadOptions, start: datetime, end: datetime
) -> Job:
    """Read one .ics file."""

    def work() -> list[Outcome]:
        report = IcsFileSource(target.calendar, options).read_busy(start, end)
        return [report_outcome(target.connection_id, report)]

    return _job([target], work)


def _read_caldav(
    source: CalDAVSource,
    target: Target,
    start: datetime,
    end: datetime,
    kind: str | None = None,
) -> Outcome:
    changed, new_state = source.changed_since(target.state.get("caldav_state"))
    state = {"caldav_state": new_state} if new_state else {}
    if not changed and target.skip_allowed:
        return Outcome(target.connection_id, None, state=state, kind=kind)
    report = source.read_busy(start, end)
    return report_outcome(target.connection_id, report, state=state, kind=kind)


class _StateFeedCache:
    """A FeedCache of one feed's validators, kept in the connection's sync_state.

    It stores no body: a 304 means the stored blocks are still right, so it
    offers validators only while those blocks cover the range.
    """

    def __init__(self, state: dict[str, Any], usable: bool) -> None:
        etag, modified = state.get("etag"), state.get("last_modified")
        offered = usable and (etag or modified)
        self.offered = CachedFeed(b"", etag, modified) if offered else None
        self.stored: CachedFeed | None = None

    def get(self, url: str) -> CachedFeed | None:
        return self.offered

    def put(self, url: str, entry: CachedFeed) -> None:
        self.stored = entry


def _read_feed(
    source: IcsFeedSource,
    target: Target,
    start: datetime,
    end: datetime,
    kind: str | None = None,
) -> Outcome:
    cache = _StateFeedCache(target.state, target.skip_allowed)
    source.cache = cache
    body = source.fetch()
    if cache.stored is None:
        return Outcome(target.connection_id, None, kind=kind)

    state = {"etag": cache.stored.etag, "last_modified": cache.stored.last_modified}
    report = read_ics(body, start, end, source.options, source.calendar)
    return report_outcome(target.connection_id, report, state=state, kind=kind)
