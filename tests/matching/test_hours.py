"""Parsing weekly hours and expanding them into UTC windows."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from matching.hours import HoursError, WeeklyHours, local_windows, parse_hours

MON, TUE, WED, THU, FRI, SAT, SUN = range(7)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def test_parse_weekday_range() -> None:
    hours = parse_hours("Mon-Fri 09:00-17:00")
    for weekday in (MON, TUE, WED, THU, FRI):
        assert hours.days[weekday] == ((540, 1020),)
    assert hours.days[SAT] == ()
    assert hours.days[SUN] == ()


def test_parse_two_groups() -> None:
    hours = parse_hours("Mon-Thu 07:30-15:30; Fri 08:00-12:00")
    assert hours.days[THU] == ((450, 930),)
    assert hours.days[FRI] == ((480, 720),)


def test_parse_two_windows_in_one_group() -> None:
    hours = parse_hours("Mon-Fri 09:00-12:00 13:00-17:00")
    assert hours.days[WED] == ((540, 720), (780, 1020))


def test_parse_whole_week_to_midnight() -> None:
    hours = parse_hours("Mon-Sun 00:00-24:00")
    assert all(day == ((0, 1440),) for day in hours.days)


def test_parse_window_crossing_midnight_ends_next_day() -> None:
    hours = parse_hours("Mon-Fri 22:30-02:00")
    assert hours.days[FRI] == ((22 * 60 + 30, 26 * 60),)
    assert hours.days[SAT] == ()


def test_parse_days_case_insensitive_and_listed() -> None:
    hours = parse_hours("mon, WED 10:00-11:00")
    assert hours.days[MON] == ((600, 660),)
    assert hours.days[TUE] == ()
    assert hours.days[WED] == ((600, 660),)


def test_parse_wrapping_day_range() -> None:
    hours = parse_hours("Fri-Mon 10:00-11:00")
    assert [bool(day) for day in hours.days] == [
        True,
        False,
        False,
        False,
        True,
        True,
        True,
    ]


def test_parse_empty_text_means_no_hours() -> None:
    assert parse_hours("").empty


@pytest.mark.parametrize(
    ("text", "bad_value"),
    [
        ("Mon-Fry 09:00-17:00", "Mon-Fry"),
        ("Mon 9-17", "9-17"),
        ("Mon 09:00-25:00", "09:00-25:00"),
        ("Mon 09:60-10:00", "09:60-10:00"),
        ("Mon 24:00-01:00", "24:00-01:00"),
        ("Mon 09:00-09:00", "09:00-09:00"),
        ("09:00-17:00", "09:00-17:00"),
        ("Mon-Fri", "Mon-Fri"),
        ("Mon 09:00-10:00 Tue", "Tue"),
    ],
)
def test_parse_bad_text_names_value_and_example(text: str, bad_value: str) -> None:
    with pytest.raises(HoursError) as raised:
        parse_hours(text)
    message = str(raised.value)
    assert repr(bad_value) in message
    assert "for example" in message


def test_hours_error_is_value_error() -> None:
    assert issubclass(HoursError, ValueError)


def test_expand_new_york_across_autumn_change() -> None:
    hours = parse_hours("Mon-Fri 09:00-17:00")
    windows = local_windows(
        hours, "America/New_York", utc(2023, 10, 30), utc(2023, 11, 7)
    )
    assert windows[0] == (utc(2023, 10, 30, 13), utc(2023, 10, 30, 21))
    assert windows[-1] == (utc(2023, 11, 6, 14), utc(2023, 11, 6, 22))
    assert len(windows) == 6


def test_expand_nonexistent_wall_time_moves_forward() -> None:
    # 02:30 does not exist in Chicago on 2025-03-09; zoneinfo with fold=0
    # keeps the standard offset (-6), which lands on 03:30 daylight time.
    hours = parse_hours("Sun 02:30-04:00")
    windows = local_windows(hours, "America/Chicago", utc(2025, 3, 9), utc(2025, 3, 10))
    assert windows == [(utc(2025, 3, 9, 8, 30), utc(2025, 3, 9, 9))]


def test_expand_override_replaces_one_local_date() -> None:
    hours = parse_hours("Mon-Sun 09:00-17:00")
    windows = local_windows(
        hours,
        "America/Los_Angeles",
        utc(2023, 7, 21),
        utc(2023, 7, 23),
        {date(2023, 7, 21): "22:00-23:00"},
    )
    assert (utc(2023, 7, 22, 5), utc(2023, 7, 22, 6)) in windows
    assert (utc(2023, 7, 21, 16), utc(2023, 7, 22, 0)) not in windows
    assert (utc(2023, 7, 22, 16), utc(2023, 7, 23, 0)) in windows


def test_expand_empty_override_removes_the_day() -> None:
    hours = parse_hours("Mon-Fri 09:00-17:00")
    windows = local_windows(
        hours, "UTC", utc(2024, 1, 1), utc(2024, 1, 3), [(date(2024, 1, 1), "")]
    )
    assert windows == [(utc(2024, 1, 2, 9), utc(2024, 1, 2, 17))]


def test_expand_unknown_zone_is_rejected() -> None:
    with pytest.raises(HoursError, match="Mars/Olympus"):
        local_windows(
            parse_hours("Mon 09:00-10:00"),
            "Mars/Olympus",
            utc(2024, 1, 1),
            utc(2024, 1, 2),
        )


@pytest.mark.parametrize(
    "zone",
    ["America/New_York", "Europe/Berlin", "Australia/Lord_Howe", "Asia/Kathmandu"],
)
def test_expand_matches_zoneinfo_every_day_of_a_year(zone: str) -> None:
    hours: WeeklyHours = parse_hours("Mon-Sun 01:30-03:15 08:00-17:00")
    start, end = utc(2024, 1, 1), utc(2025, 1, 1)
    windows = set(local_windows(hours, zone, start, end))

    tz = ZoneInfo(zone)
    day = date(2024, 1, 2)
    while day < date(2024, 12, 30):
        for begin, finish in ((90, 195), (480, 1020)):
            midnight = datetime(day.year, day.month, day.day, tzinfo=tz)
            expected_start = (
                midnight.replace(tzinfo=None) + timedelta(minutes=begin)
            ).replace(tzinfo=tz)
            expected_end = (
                midnight.replace(tzinfo=None) + timedelta(minutes=finish)
            ).replace(tzinfo=tz)
            pair = (expected_start.astimezone(UTC), expected_end.astimezone(UTC))
            if pair[0] < pair[1]:
                assert pair in windows, (day, begin)
        day += timedelta(days=1)
