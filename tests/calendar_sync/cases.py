"""Calendar fixtures with the busy intervals that are right for them.

Every expected interval below is written from the calendar facts (the zone
rules, the recurrence rule and RFC 5545), not from running the reader. Each
path that can carry a calendar (a file, a feed, Radicale, Xandikos) runs this
one table.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from calendar_sync.base import BusyKind, ReadOptions

CALENDARS = Path(__file__).parent / "calendars"

OWNER = "mentor@example.org"


def utc(text: str) -> datetime:
    """Parse ``YYYY-MM-DD HH:MM`` as a UTC instant."""
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=UTC)


Expected = tuple[datetime, datetime, BusyKind]


def block(start: str, end: str, kind: BusyKind = "busy") -> Expected:
    return (utc(start), utc(end), kind)


def weekly(first: str, last: str, hour_utc: str, minutes: int) -> list[Expected]:
    """Blocks of ``minutes`` at one UTC time every 7 days, first to last day."""
    day = utc(f"{first} {hour_utc}")
    stop = utc(f"{last} {hour_utc}")
    blocks = []
    while day <= stop:
        blocks.append((day, day + timedelta(minutes=minutes), "busy"))
        day += timedelta(days=7)
    return blocks


@dataclass(frozen=True)
class Case:
    """One calendar file read for one window, and the busy time it must give."""

    id: str
    fixture: str
    start: datetime
    end: datetime
    expected: list[Expected]
    options: ReadOptions = field(default_factory=ReadOptions)

    @property
    def path(self) -> Path:
        return CALENDARS / self.fixture


BERLIN = ReadOptions(owner_timezone="Europe/Berlin")
NEW_YORK = ReadOptions(owner_timezone="America/New_York")
INVITED = ReadOptions(owner_timezone="Europe/Berlin", owner_email=OWNER)

# Outlook's Fridays: 10:00 UTC while Berlin is on +01:00 (until the last
# Sunday of March), 09:00 UTC on +02:00; 04-03 is excluded, UNTIL inclusive.
OUTLOOK_FRIDAYS = weekly("2026-01-23", "2026-03-27", "10:00", 60) + weekly(
    "2026-04-10", "2026-07-31", "09:00", 60
)

FREEBUSY_REPLY = [
    block("2026-01-08 13:00", "2026-01-08 15:00", "unavailable"),
    block("2026-01-08 16:30", "2026-01-08 18:00"),
    block("2026-01-08 19:00", "2026-01-08 19:30"),
    block("2026-01-08 21:00", "2026-01-08 21:30", "tentative"),
]

CASES = [
    Case(
        "windows_zone_with_vtimezone",
        "windows_zone_with_vtimezone.ics",
        utc("2026-01-01 00:00"),
        utc("2026-08-15 00:00"),
        OUTLOOK_FRIDAYS,
    ),
    Case(
        "windows_zone_without_vtimezone",
        "windows_zone_without_vtimezone.ics",
        utc("2026-01-01 00:00"),
        utc("2026-08-15 00:00"),
        OUTLOOK_FRIDAYS,
    ),
    Case(
        "localized_zone_name_from_vtimezone",
        "localized_zone_name.ics",
        utc("2026-03-01 00:00"),
        utc("2026-05-01 00:00"),
        [
            block("2026-03-20 10:00", "2026-03-20 11:00"),
            block("2026-03-27 10:00", "2026-03-27 11:00"),
            block("2026-04-03 09:00", "2026-04-03 10:00"),
        ],
    ),
    Case(
        "floating_time_in_owner_zone",
        "floating_time.ics",
        utc("2026-03-09 00:00"),
        utc("2026-03-12 00:00"),
        [block("2026-03-10 13:00", "2026-03-10 14:00")],
        NEW_YORK,
    ),
    Case(
        "all_day_is_owner_local_day",
        "all_day_opaque.ics",
        utc("2026-06-29 00:00"),
        utc("2026-07-03 00:00"),
        [block("2026-06-30 22:00", "2026-07-01 22:00")],
        BERLIN,
    ),
    Case(
        "all_day_without_dtend_lasts_one_day",
        "all_day_without_dtend.ics",
        utc("2026-06-29 00:00"),
        utc("2026-07-03 00:00"),
        [block("2026-06-30 22:00", "2026-07-01 22:00")],
        BERLIN,
    ),
    Case(
        "all_day_free_when_setting_off",
        "all_day_opaque.ics",
        utc("2026-06-29 00:00"),
        utc("2026-07-03 00:00"),
        [],
        ReadOptions(owner_timezone="Europe/Berlin", all_day_blocks=False),
    ),
    Case(
        "transparent_free_all_day_never_blocks",
        "transparent_free_all_day.ics",
        utc("2021-10-20 00:00"),
        utc("2021-11-15 00:00"),
        [],
        BERLIN,
    ),
    Case(
        "transparent_override_frees_one_occurrence",
        "transparent_override.ics",
        utc("2021-10-25 00:00"),
        utc("2021-11-30 00:00"),
        [
            block("2021-11-01 09:00", "2021-11-01 10:00"),
            block("2021-11-15 09:00", "2021-11-15 10:00"),
        ],
    ),
    Case(
        "cancelled_occurrence_leaves_gap",
        "cancelled_occurrence.ics",
        utc("2016-12-01 00:00"),
        utc("2017-02-01 00:00"),
        [
            block("2016-12-12 09:15", "2016-12-12 10:45"),
            block("2016-12-19 09:15", "2016-12-19 10:45"),
            block("2017-01-02 09:15", "2017-01-02 10:45"),
        ],
    ),
    Case(
        "cancelled_event_never_blocks",
        "cancelled_event.ics",
        utc("2016-12-12 00:00"),
        utc("2016-12-13 00:00"),
        [],
    ),
    Case(
        "moved_occurrence_replaces_original",
        "moved_occurrence.ics",
        utc("2021-07-08 00:00"),
        utc("2021-07-09 00:00"),
        [block("2021-07-08 12:15", "2021-07-08 12:45")],
    ),
    Case(
        "occurrence_moved_into_window",
        "moved_across_window.ics",
        utc("2021-07-12 00:00"),
        utc("2021-07-13 00:00"),
        [block("2021-07-12 08:00", "2021-07-12 08:30")],
    ),
    Case(
        "occurrence_moved_out_of_window",
        "moved_across_window.ics",
        utc("2021-07-15 00:00"),
        utc("2021-07-16 00:00"),
        [],
    ),
    Case(
        "floating_until_is_inclusive",
        "until_floating.ics",
        utc("2026-01-01 00:00"),
        utc("2026-03-01 00:00"),
        weekly("2026-01-05", "2026-01-26", "08:00", 60),
    ),
    Case(
        "date_only_until_is_inclusive",
        "until_date_only.ics",
        utc("2026-01-01 00:00"),
        utc("2026-03-01 00:00"),
        weekly("2026-01-05", "2026-01-26", "08:00", 60),
    ),
    Case(
        "weekly_series_in_standard_time",
        "dst_weekly.ics",
        utc("2026-01-01 00:00"),
        utc("2026-02-01 00:00"),
        weekly("2026-01-06", "2026-01-27", "20:00", 60),
    ),
    Case(
        "weekly_series_in_daylight_time",
        "dst_weekly.ics",
        utc("2026-07-07 00:00"),
        utc("2026-07-08 00:00"),
        [block("2026-07-07 19:00", "2026-07-07 20:00")],
    ),
    Case(
        "nonexistent_local_time_shifts_forward",
        "dst_nonexistent_time.ics",
        utc("2026-03-08 00:00"),
        utc("2026-03-09 00:00"),
        [block("2026-03-08 07:30", "2026-03-08 08:30")],
    ),
    Case(
        "rdate_period_and_plain_rdate",
        "rdate_periods.ics",
        utc("2024-09-12 00:00"),
        utc("2024-09-15 00:00"),
        [
            block("2024-09-12 12:00", "2024-09-12 13:00"),
            block("2024-09-13 12:00", "2024-09-13 14:00"),
            block("2024-09-14 12:00", "2024-09-14 13:00"),
        ],
    ),
    Case(
        "rdate_occurrences_after_dtstart_window",
        "rdate_periods.ics",
        utc("2024-09-13 00:00"),
        utc("2024-09-15 00:00"),
        [
            block("2024-09-13 12:00", "2024-09-13 14:00"),
            block("2024-09-14 12:00", "2024-09-14 13:00"),
        ],
    ),
    Case(
        "plain_rdate_only_event",
        "rdate_plain.ics",
        utc("2024-09-13 00:00"),
        utc("2024-09-17 00:00"),
        [
            block("2024-09-14 12:00", "2024-09-14 13:00"),
            block("2024-09-16 12:00", "2024-09-16 13:00"),
        ],
    ),
    Case(
        "freebusy_reply_every_fbtype",
        "freebusy_combined.ics",
        utc("2026-01-08 05:00"),
        utc("2026-01-09 05:00"),
        FREEBUSY_REPLY,
    ),
    Case(
        "freebusy_tentative_free_when_setting_off",
        "freebusy_combined.ics",
        utc("2026-01-08 05:00"),
        utc("2026-01-09 05:00"),
        FREEBUSY_REPLY[:3],
        ReadOptions(tentative_blocks=False),
    ),
    Case(
        "freebusy_split_per_period_is_identical",
        "freebusy_split.ics",
        utc("2026-01-08 05:00"),
        utc("2026-01-09 05:00"),
        FREEBUSY_REPLY,
    ),
    Case(
        "iana_zone_without_vtimezone",
        "iana_zone_without_vtimezone.ics",
        utc("2026-01-15 00:00"),
        utc("2026-01-16 00:00"),
        [block("2026-01-15 14:00", "2026-01-15 15:00")],
    ),
    Case(
        "unknown_tzid_makes_day_unknown",
        "unknown_tzid.ics",
        utc("2026-01-12 00:00"),
        utc("2026-01-19 00:00"),
        [
            block("2026-01-14 23:00", "2026-01-15 23:00", "unknown"),
            block("2026-01-16 10:00", "2026-01-16 11:00"),
        ],
        BERLIN,
    ),
    Case(
        "invitation_answers_needs_action_blocks",
        "invitations.ics",
        utc("2026-02-10 00:00"),
        utc("2026-02-11 00:00"),
        [
            block("2026-02-10 11:00", "2026-02-10 12:00", "tentative"),
            block("2026-02-10 13:00", "2026-02-10 14:00", "tentative"),
        ],
        INVITED,
    ),
    Case(
        "invitation_answers_needs_action_free",
        "invitations.ics",
        utc("2026-02-10 00:00"),
        utc("2026-02-11 00:00"),
        [block("2026-02-10 11:00", "2026-02-10 12:00", "tentative")],
        ReadOptions(
            owner_timezone="Europe/Berlin",
            owner_email=OWNER,
            needs_action_blocks=False,
        ),
    ),
    Case(
        "zoned_event_with_vtimezone",
        "berlin_with_vtimezone.ics",
        utc("2022-11-21 00:00"),
        utc("2022-11-22 00:00"),
        [block("2022-11-21 09:00", "2022-11-21 10:00")],
    ),
    Case(
        "zoned_event_without_vtimezone",
        "berlin_without_vtimezone.ics",
        utc("2022-11-21 00:00"),
        utc("2022-11-22 00:00"),
        [block("2022-11-21 09:00", "2022-11-21 10:00")],
    ),
    Case(
        "zoned_event_written_in_utc",
        "berlin_as_utc.ics",
        utc("2022-11-21 00:00"),
        utc("2022-11-22 00:00"),
        [block("2022-11-21 09:00", "2022-11-21 10:00")],
    ),
    Case(
        "this_and_future_override_moves_rest",
        "this_and_future.ics",
        utc("2026-02-01 00:00"),
        utc("2026-03-01 00:00"),
        [
            block("2026-02-02 09:00", "2026-02-02 10:00"),
            block("2026-02-09 09:00", "2026-02-09 10:00"),
            block("2026-02-16 13:00", "2026-02-16 14:00"),
            block("2026-02-23 13:00", "2026-02-23 14:00"),
        ],
    ),
    Case(
        "highest_sequence_copy_wins",
        "sequence_copies.ics",
        utc("2026-03-02 00:00"),
        utc("2026-03-03 00:00"),
        [block("2026-03-02 14:00", "2026-03-02 15:00")],
    ),
    # Google exports UTC start times and names the calendar's zone in
    # X-WR-TIMEZONE; the series keeps 10:00 Berlin time across DST.
    Case(
        "x_wr_timezone_in_winter",
        "x_wr_timezone.ics",
        utc("2026-01-05 00:00"),
        utc("2026-01-06 00:00"),
        [block("2026-01-05 09:00", "2026-01-05 10:00")],
    ),
    Case(
        "x_wr_timezone_in_summer",
        "x_wr_timezone.ics",
        utc("2026-07-06 00:00"),
        utc("2026-07-07 00:00"),
        [block("2026-07-06 08:00", "2026-07-06 09:00")],
    ),
]

CASE_IDS = [case.id for case in CASES]
