"""Reading busy time from iCalendar files."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from calendar_sync.base import BusyInterval, ReadOptions
from calendar_sync.ics import read_ics

from .cases import CALENDARS, CASE_IDS, CASES, Case, block, utc


def as_tuples(intervals: list[BusyInterval]) -> list[tuple[datetime, datetime, str]]:
    return [(interval.start, interval.end, interval.kind) for interval in intervals]


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_read_ics_case(case: Case) -> None:
    report = read_ics(case.path.read_bytes(), case.start, case.end, case.options, "c")

    assert as_tuples(report.intervals) == case.expected


def test_unknown_tzid_warning_names_calendar_and_uid() -> None:
    data = (CALENDARS / "unknown_tzid.ics").read_text()

    report = read_ics(
        data, utc("2026-01-12 00:00"), utc("2026-01-19 00:00"), ReadOptions(), "alice"
    )

    assert len(report.warnings) == 1
    assert report.warnings[0].calendar == "alice"
    assert report.warnings[0].uid == "unknown-zone@example.org"
    assert "Mars Olympus Mons Time" in report.warnings[0].message


def test_readable_calendar_has_no_warnings() -> None:
    data = (CALENDARS / "windows_zone_without_vtimezone.ics").read_bytes()

    report = read_ics(
        data, utc("2026-01-01 00:00"), utc("2026-02-01 00:00"), ReadOptions(), "c"
    )

    assert report.warnings == []


def test_unparseable_file_makes_window_unknown() -> None:
    data = (CALENDARS / "not_a_calendar.txt").read_bytes()
    start, end = utc("2026-01-01 00:00"), utc("2026-01-02 00:00")

    report = read_ics(data, start, end, ReadOptions(), "broken")

    assert as_tuples(report.intervals) == [(start, end, "unknown")]
    assert report.warnings[0].calendar == "broken"


def test_truncated_file_makes_window_unknown() -> None:
    data = (CALENDARS / "floating_time.ics").read_text()
    truncated = data[: data.index("DTSTART")]
    start, end = utc("2026-03-10 00:00"), utc("2026-03-11 00:00")

    report = read_ics(truncated, start, end, ReadOptions(), "cut")

    assert as_tuples(report.intervals) == [(start, end, "unknown")]


def test_event_without_dtstart_makes_window_unknown() -> None:
    data = (
        "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//t//t//EN\n"
        "BEGIN:VEVENT\nUID:no-start@example.org\nDTSTAMP:20260101T000000Z\n"
        "SUMMARY:No start\nEND:VEVENT\nEND:VCALENDAR\n"
    )
    start, end = utc("2026-03-10 00:00"), utc("2026-03-11 00:00")

    report = read_ics(data, start, end, ReadOptions(), "c")

    assert as_tuples(report.intervals) == [(start, end, "unknown")]
    assert report.warnings[0].uid == "no-start@example.org"


def test_unknown_tzid_series_marks_each_day() -> None:
    data = (
        "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//t//t//EN\n"
        "BEGIN:VEVENT\nUID:bad-series@example.org\nDTSTAMP:20260101T000000Z\n"
        "DTSTART;TZID=Nowhere:20260105T090000\nDTEND;TZID=Nowhere:20260105T100000\n"
        "RRULE:FREQ=DAILY;COUNT=2\nEND:VEVENT\nEND:VCALENDAR\n"
    )
    options = ReadOptions(owner_timezone="Europe/Berlin")

    report = read_ics(
        data, utc("2026-01-01 00:00"), utc("2026-01-10 00:00"), options, "c"
    )

    assert as_tuples(report.intervals) == [
        block("2026-01-04 23:00", "2026-01-06 23:00", "unknown")
    ]


def test_tentative_free_when_setting_off() -> None:
    data = (CALENDARS / "invitations.ics").read_bytes()
    options = ReadOptions(
        owner_email="mentor@example.org",
        tentative_blocks=False,
        needs_action_blocks=False,
    )

    report = read_ics(
        data, utc("2026-02-10 00:00"), utc("2026-02-11 00:00"), options, "c"
    )

    assert report.intervals == []


def test_overlapping_kinds_merge_to_strongest() -> None:
    data = (
        "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//t//t//EN\n"
        "BEGIN:VEVENT\nUID:a@example.org\nDTSTAMP:20260101T000000Z\n"
        "DTSTART:20260105T090000Z\nDTEND:20260105T110000Z\nSTATUS:TENTATIVE\n"
        "END:VEVENT\n"
        "BEGIN:VEVENT\nUID:b@example.org\nDTSTAMP:20260101T000000Z\n"
        "DTSTART:20260105T100000Z\nDTEND:20260105T120000Z\nEND:VEVENT\n"
        "END:VCALENDAR\n"
    )

    report = read_ics(
        data, utc("2026-01-05 00:00"), utc("2026-01-06 00:00"), ReadOptions(), "c"
    )

    assert as_tuples(report.intervals) == [
        block("2026-01-05 09:00", "2026-01-05 10:00", "tentative"),
        block("2026-01-05 10:00", "2026-01-05 12:00"),
    ]


def test_intervals_clipped_to_window() -> None:
    data = (CALENDARS / "all_day_opaque.ics").read_bytes()
    options = ReadOptions(owner_timezone="Europe/Berlin")

    report = read_ics(
        data, utc("2026-07-01 08:00"), utc("2026-07-01 12:00"), options, "c"
    )

    assert as_tuples(report.intervals) == [
        block("2026-07-01 08:00", "2026-07-01 12:00")
    ]


def test_naive_window_rejected() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        read_ics("", datetime(2026, 1, 1), datetime(2026, 1, 2), ReadOptions(), "c")


def test_unknown_owner_timezone_rejected() -> None:
    options = ReadOptions(owner_timezone="Mars/Base")
    start = datetime(2026, 1, 1, tzinfo=UTC)
    end = datetime(2026, 1, 2, tzinfo=UTC)

    with pytest.raises(ValueError, match="Mars/Base"):
        read_ics("", start, end, options, "c")
