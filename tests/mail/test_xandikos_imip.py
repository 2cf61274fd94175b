"""Xandikos imports Torace's iMIP messages the way a mailbox hook would.

``xandikos import-imip`` reads one raw email from stdin and extracts the
``text/calendar`` part, after checking its method parameter against METHOD.
It stores the part in the principal's schedule inbox and applies it to the
default calendar. A REQUEST creates or updates the event with that UID, and a
CANCEL sets the stored copy's STATUS to CANCELLED.
"""

from __future__ import annotations

import asyncio
import dataclasses
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from icalendar import Calendar, Event
from xandikos import web

from calendar_sync.base import EventSpec
from mail.itip import build_itip
from mail.message import build_message, make_message_id
from tests.mail.conftest import MENTEE, SESSION_START_UTC, SESSION_UID

CALENDAR_PATH = "/user/calendars/calendar"
INBOX_PATH = "/user/inbox"


def imip_message(event: EventSpec, method: str, sequence: int) -> bytes:
    calendar = build_itip(
        method,  # type: ignore[arg-type]
        event,
        uid=SESSION_UID,
        sequence=sequence,
        recipient=MENTEE,
    )
    message = build_message(
        sender="torace@torace.example.org",
        sender_name="Torace",
        recipient="Zoë Brontë <zoe@example.org>",
        subject=f"{method.title()}: {event.summary}",
        text="Your mentoring session.",
        html="<p>Your mentoring session.</p>",
        message_id=make_message_id(f"{event.key}/{method}/{sequence}", "torace.test"),
        calendar=calendar,
    )
    return bytes(message)


def import_imip(root: Path, raw: bytes) -> subprocess.CompletedProcess[bytes]:
    """Run ``xandikos import-imip`` on one raw message and return the process."""
    return subprocess.run(
        [sys.executable, "-m", "xandikos", "import-imip"]
        + ["--directory", str(root), "--autocreate"],
        input=raw,
        capture_output=True,
        timeout=120,
        check=False,
    )


def stored_calendars(root: Path, path: str) -> list[Calendar]:
    """Read every calendar object of a Xandikos collection through its store."""
    collection = web.SingleUserFilesystemBackend(str(root)).get_resource(path)
    assert collection is not None, f"Xandikos has no collection at {path}"

    calendars = []
    for _name, resource in collection.members():
        body = b"".join(asyncio.run(resource.get_body()))
        calendars.append(Calendar.from_ical(body))
    return calendars


def stored_event(root: Path) -> Event:
    """Return the one event in the default calendar."""
    events = [
        event for cal in stored_calendars(root, CALENDAR_PATH) for event in cal.events
    ]
    assert len(events) == 1
    return events[0]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "xandikos"


def test_request_is_accepted(root: Path, session_event: EventSpec) -> None:
    result = import_imip(root, imip_message(session_event, "REQUEST", 0))

    assert result.returncode == 0, result.stderr.decode()
    assert b"Imported iMIP REQUEST" in result.stderr


def test_request_is_stored_at_session_start(
    root: Path, session_event: EventSpec
) -> None:
    import_imip(root, imip_message(session_event, "REQUEST", 0))

    event = stored_event(root)

    assert event.start == SESSION_START_UTC
    assert event["UID"] == SESSION_UID
    assert event["SEQUENCE"] == 0
    assert event["STATUS"] == "CONFIRMED"


def test_rescheduled_request_updates_in_place(
    root: Path, session_event: EventSpec
) -> None:
    later = dataclasses.replace(
        session_event,
        start=datetime(2025, 4, 2, 13, 0, tzinfo=UTC),
        end=datetime(2025, 4, 2, 13, 45, tzinfo=UTC),
    )
    import_imip(root, imip_message(session_event, "REQUEST", 0))

    result = import_imip(root, imip_message(later, "REQUEST", 1))

    assert result.returncode == 0, result.stderr.decode()
    event = stored_event(root)
    # 15:00 CEST on 2 April 2025 is 13:00 UTC.
    assert event.start == datetime(2025, 4, 2, 13, 0, tzinfo=UTC)
    assert event["SEQUENCE"] == 1


def test_cancel_is_accepted(root: Path, session_event: EventSpec) -> None:
    import_imip(root, imip_message(session_event, "REQUEST", 0))

    result = import_imip(root, imip_message(session_event, "CANCEL", 1))

    assert result.returncode == 0, result.stderr.decode()
    assert b"Imported iMIP CANCEL" in result.stderr


def test_cancel_marks_stored_event_cancelled(
    root: Path, session_event: EventSpec
) -> None:
    import_imip(root, imip_message(session_event, "REQUEST", 0))

    import_imip(root, imip_message(session_event, "CANCEL", 1))

    event = stored_event(root)
    assert event["UID"] == SESSION_UID
    assert event["STATUS"] == "CANCELLED"
    assert event.start == SESSION_START_UTC


def test_inbox_keeps_cancel_with_its_sequence(
    root: Path, session_event: EventSpec
) -> None:
    # Xandikos 0.4.10 keeps the stored copy's SEQUENCE when it applies a
    # CANCEL, so the CANCEL's own SEQUENCE is read from the schedule inbox.
    import_imip(root, imip_message(session_event, "REQUEST", 0))
    import_imip(root, imip_message(session_event, "CANCEL", 1))

    inbox = stored_calendars(root, INBOX_PATH)

    cancels = [cal for cal in inbox if cal["METHOD"] == "CANCEL"]
    assert len(cancels) == 1
    (event,) = cancels[0].events
    assert event["UID"] == SESSION_UID
    assert event["SEQUENCE"] == 1


def test_mismatched_mime_method_is_refused(
    root: Path, session_event: EventSpec
) -> None:
    # A control case: the importer does check the MIME method parameter.
    raw = imip_message(session_event, "REQUEST", 0).replace(
        b"; method=REQUEST", b"; method=CANCEL"
    )

    result = import_imip(root, raw)

    assert result.returncode == 1
    assert b"does not match" in result.stderr
