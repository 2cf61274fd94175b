"""Fixtures for the mail tests: one mentoring session and its participants."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from calendar_sync.base import Attendee, EventSpec

MENTOR = Attendee(name="Ada Lovelace", email="ada@example.org")
MENTEE = Attendee(name="Zoë Brontë", email="zoe@example.org")

# 09:00 to 09:45 in Berlin on Monday 31 March 2025. Berlin switched to CEST
# (UTC+2) on 30 March, so the session runs 07:00 to 07:45 UTC.
SESSION_START_UTC = datetime(2025, 3, 31, 7, 0, tzinfo=UTC)
SESSION_END_UTC = datetime(2025, 3, 31, 7, 45, tzinfo=UTC)
SESSION_UID = "session-17@torace.example.org"


@pytest.fixture
def session_event() -> EventSpec:
    """Return the first session of a series, shown in Berlin time."""
    return EventSpec(
        key="series-4/session-17",
        summary="Mentoring: social and emotional learning; part 1",
        description="First of three sessions.\nBring one question, please.",
        start=SESSION_START_UTC,
        end=SESSION_END_UTC,
        timezone="Europe/Berlin",
        organizer=MENTOR,
        attendees=(MENTEE,),
        sequence=0,
        location="Video call",
    )
