"""Benchmark: read 500 connected calendars from Google, Microsoft and Radicale.

Run as ``.venv/bin/python -m benchmarks.sync_bench``. Google and Microsoft are
the loopback fakes from ``tests/fakes``, driven by the real adapters; Radicale
runs as a subprocess on loopback and is read with CalDAVSource, one REPORT per
calendar. Each row sets the provider calls the server received next to the
lower bound (50 calendars per Google query, 20 schedules per Graph call, each
per 60-day chunk, and one REPORT per CalDAV calendar), and the wall time.
The table is printed and written to ``benchmarks/results/sync.json``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests

from calendar_sync.base import BusyReport, ReadOptions
from calendar_sync.google import SCOPES, GoogleCalendar
from calendar_sync.microsoft import MicrosoftCalendar
from tests.fakes import loopback_session
from tests.fakes.google_fake import GoogleFake
from tests.fakes.microsoft_fake import MicrosoftFake
from tests.fakes.tls import TlsFiles, make_loopback_cert

RESULTS = Path(__file__).parent / "results" / "sync.json"
START = datetime(2026, 3, 2, tzinfo=UTC)
CHUNK = timedelta(days=60)


@dataclass
class Row:
    """One provider's measurement."""

    provider: str
    calendars: int
    calls: int
    lower_bound: int
    seconds: float
    busy_intervals: int


# -- the shared calendar content ------------------------------------------


def mentor_week(index: int) -> tuple[datetime, list[datetime]]:
    """Return mentor ``index``'s weekly series start and two one-off meetings."""
    series = START + timedelta(days=index % 5, hours=8 + index % 8)
    singles = [
        START + timedelta(days=3 + index % 20, hours=13),
        START + timedelta(days=40 + index % 30, hours=15, minutes=30),
    ]
    return series, singles


def google_event(start: datetime, weeks: int | None = None) -> dict[str, Any]:
    event: dict[str, Any] = {
        "start": {"dateTime": start.isoformat(), "timeZone": "UTC"},
        "end": {
            "dateTime": (start + timedelta(hours=1)).isoformat(),
            "timeZone": "UTC",
        },
    }
    if weeks is not None:
        event["recurrence"] = [f"RRULE:FREQ=WEEKLY;COUNT={weeks}"]
    return event


def graph_event(start: datetime, weeks: int | None = None) -> dict[str, Any]:
    def stamp(value: datetime) -> dict[str, str]:
        return {"dateTime": value.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"}

    event: dict[str, Any] = {
        "showAs": "busy",
        "start": stamp(start),
        "end": stamp(start + timedelta(hours=1)),
    }
    if weeks is not None:
        weekday = start.strftime("%A").lower()
        event["recurrence"] = {
            "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": [weekday]},
            "range": {
                "type": "numbered",
                "numberOfOccurrences": weeks,
                "startDate": start.date().isoformat(),
            },
        }
    return event


def ics_event(uid: str, start: datetime, weeks: int | None = None) -> str:
    def stamp(value: datetime) -> str:
        return value.strftime("%Y%m%dT%H%M%SZ")

    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Torace//sync benchmark//EN",
        "BEGIN:VEVENT",
        f"UID:{uid}",
        "DTSTAMP:20260101T000000Z",
        f"DTSTART:{stamp(start)}",
        f"DTEND:{stamp(start + timedelta(hours=1))}",
    ]
    if weeks is not None:
        lines.append(f"RRULE:FREQ=WEEKLY;COUNT={weeks}")
    lines += ["END:VEVENT", "END:VCALENDAR", ""]
    return "\r\n".join(lines)


# -- providers --------------------------------------------------------------


def bench_google(tls: TlsFiles, count: int, days: int, weeks: int) -> Row:
    """Read ``count`` calendars through one GoogleCalendar and the fake."""
    end = START + timedelta(days=days)
    with GoogleFake(tls, max_range=CHUNK) as fake:
        ids = [f"mentor{n}@example.com" for n in range(count)]
        for index, calendar_id in enumerate(ids):
            fake.add_calendar(calendar_id)
            series, singles = mentor_week(index)
            fake.add_event(calendar_id, google_event(series, weeks))
            for single in singles:
                fake.add_event(calendar_id, google_event(single))

        grant = fake.grant()
        expiry = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
        token_info = {**grant, "expiry": expiry, "scopes": list(SCOPES)}
        calendar = GoogleCalendar(
            token_info,
            fake.client_config(),
            api_endpoint=fake.api_endpoint,
            ca_certs=str(tls.cert),
        )
        reports, seconds = timed(lambda: calendar.read_busy_many(ids, START, end))
        chunks = math.ceil(days / 60)
        return Row(
            "google",
            count,
            fake.count("freeBusy"),
            math.ceil(count / 50) * chunks,
            seconds,
            interval_count(reports),
        )


def bench_microsoft(tls: TlsFiles, count: int, days: int, weeks: int) -> Row:
    """Read ``count`` mailboxes through one MicrosoftCalendar and the fake."""
    end = START + timedelta(days=days)
    with MicrosoftFake(tls) as fake, loopback_session(tls) as session:
        owner = "scheduler@contoso.example"
        fake.add_mailbox(owner)
        mailboxes = [f"mentor{n}@contoso.example" for n in range(count)]
        for index, mailbox in enumerate(mailboxes):
            fake.add_mailbox(mailbox)
            series, singles = mentor_week(index)
            fake.add_event(mailbox, graph_event(series, weeks))
            for single in singles:
                fake.add_event(mailbox, graph_event(single))

        token = fake.issue_tokens(owner)["access_token"]
        calendar = MicrosoftCalendar(
            lambda: token, owner, graph_url=fake.graph_url, session=session
        )
        reports, seconds = timed(lambda: calendar.read_busy_many(mailboxes, START, end))
        chunks = math.ceil(days / 60)
        return Row(
            "microsoft",
            count,
            fake.count("getSchedule"),
            math.ceil(count / 20) * chunks,
            seconds,
            interval_count(reports),
        )


def bench_radicale(count: int, days: int, weeks: int) -> Row | None:
    """Upload ``count`` calendars to Radicale, then read each once."""
    try:
        from calendar_sync.caldav_source import CalDAVSource
        from calendar_sync.quirks import RADICALE
    except ImportError:
        print("calendar_sync.caldav_source is missing; skipping Radicale")
        return None

    end = START + timedelta(days=days)
    with radicale_server() as (base_url, log_path):
        urls = upload_calendars(base_url, count, weeks)
        reports_before = count_reports(log_path)
        options = ReadOptions()
        sources = [
            CalDAVSource(url, "bench", "bench", options, quirks=RADICALE)
            for url in urls
        ]
        reports, seconds = timed(
            lambda: {source.url: source.read_busy(START, end) for source in sources}
        )
        time.sleep(0.5)  # Let Radicale flush its log lines.
        calls = count_reports(log_path) - reports_before
        return Row("radicale", count, calls, count, seconds, interval_count(reports))


@contextmanager
def radicale_server() -> Iterator[tuple[str, Path]]:
    """Run Radicale on a free loopback port with temporary storage."""
    with tempfile.TemporaryDirectory(prefix="torace-radicale-") as folder:
        port = free_port()
        log_path = Path(folder) / "radicale.log"
        command = [
            sys.executable,
            "-m",
            "radicale",
            "--server-hosts",
            f"127.0.0.1:{port}",
            "--storage-filesystem-folder",
            str(Path(folder) / "collections"),
            "--auth-type",
            "none",
            "--logging-level",
            "info",
        ]
        with log_path.open("w") as log:
            process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        try:
            base_url = f"http://127.0.0.1:{port}"
            wait_until_up(base_url, process)
            yield base_url, log_path
        finally:
            process.terminate()
            process.wait(timeout=10)


def upload_calendars(base_url: str, count: int, weeks: int) -> list[str]:
    """Create ``count`` calendars of user ``bench`` with the shared content."""
    session = requests.Session()
    session.trust_env = False
    session.auth = ("bench", "bench")
    urls = []
    for index in range(count):
        url = f"{base_url}/bench/mentor{index}/"
        response = session.request("MKCALENDAR", url, timeout=10)
        response.raise_for_status()
        series, singles = mentor_week(index)
        bodies = [ics_event(f"series-{index}", series, weeks)]
        bodies += [ics_event(f"single-{index}-{n}", s) for n, s in enumerate(singles)]
        for number, body in enumerate(bodies):
            put = session.put(
                f"{url}event{number}.ics",
                data=body.encode(),
                headers={"Content-Type": "text/calendar; charset=utf-8"},
                timeout=10,
            )
            put.raise_for_status()
        urls.append(url)
    return urls


def count_reports(log_path: Path) -> int:
    """Count the REPORT requests Radicale logged."""
    text = log_path.read_text(errors="replace")
    return len(re.findall(r"REPORT request for", text))


def wait_until_up(base_url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"Radicale exited with status {process.returncode}")
        try:
            requests.get(base_url, timeout=1)
            return
        except requests.ConnectionError:
            time.sleep(0.1)
    raise RuntimeError(f"Radicale did not respond on {base_url} within 30 s")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# -- reporting --------------------------------------------------------------


def timed(
    work: Callable[[], dict[str, BusyReport]],
) -> tuple[dict[str, BusyReport], float]:
    began = time.perf_counter()
    result = work()
    return result, time.perf_counter() - began


def interval_count(reports: dict[str, BusyReport]) -> int:
    return sum(len(report.intervals) for report in reports.values())


def print_table(rows: list[Row]) -> None:
    header = f"{'provider':<10} {'calendars':>9} {'calls':>6} {'bound':>6} "
    header += f"{'seconds':>8} {'intervals':>9}"
    print(header)
    for row in rows:
        print(
            f"{row.provider:<10} {row.calendars:>9} {row.calls:>6} "
            f"{row.lower_bound:>6} {row.seconds:>8.2f} {row.busy_intervals:>9}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calendars", type=int, default=500, help="calendars to read")
    parser.add_argument("--days", type=int, default=90, help="length of the range")
    parser.add_argument("--no-radicale", action="store_true", help="skip Radicale")
    args = parser.parse_args()
    weeks = math.ceil(args.days / 7)

    with tempfile.TemporaryDirectory(prefix="torace-bench-tls-") as folder:
        tls = make_loopback_cert(Path(folder))
        rows = [
            bench_google(tls, args.calendars, args.days, weeks),
            bench_microsoft(tls, args.calendars, args.days, weeks),
        ]
    if not args.no_radicale:
        radicale = bench_radicale(args.calendars, args.days, weeks)
        if radicale is not None:
            rows.append(radicale)

    print_table(rows)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    record = {
        "benchmark": "benchmarks/sync_bench.py",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "range_days": args.days,
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
        },
        "rows": [asdict(row) for row in rows],
    }
    RESULTS.write_text(json.dumps(record, indent=2) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
