"""Slot search: grid, hours, DST, buffers, notice, overrides, two zones."""

import random
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from matching.model import Availability
from matching.slots import SlotQuery, check_slot, find_slots

NEW_YORK = ZoneInfo("America/New_York")
LOS_ANGELES = ZoneInfo("America/Los_Angeles")


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def starts(query: SlotQuery, people: list[Availability]) -> list[datetime]:
    return [slot.start for slot in find_slots(query, people)]


def test_autumn_change_first_slot_follows_local_nine() -> None:
    person = Availability("America/New_York", "Mon-Fri 09:00-17:00")
    query = SlotQuery(60, utc(2023, 10, 28), utc(2023, 11, 11))
    found = starts(query, [person])

    first_by_day: dict[date, datetime] = {}
    for start in found:
        first_by_day.setdefault(start.astimezone(NEW_YORK).date(), start)

    assert first_by_day[date(2023, 10, 30)] == utc(2023, 10, 30, 13)
    assert first_by_day[date(2023, 11, 6)] == utc(2023, 11, 6, 14)
    assert {start.astimezone(NEW_YORK).hour for start in first_by_day.values()} == {9}
    assert all(start.astimezone(NEW_YORK).hour != 8 for start in found)


def test_spring_change_sunday_hour_gives_one_slot() -> None:
    person = Availability("America/Chicago", "Sun 15:00-16:00")
    query = SlotQuery(60, utc(2025, 3, 9), utc(2025, 3, 10))
    assert starts(query, [person]) == [utc(2025, 3, 9, 20)]


def test_buffer_on_fine_grid_never_overruns_day() -> None:
    person = Availability(
        "UTC",
        "Mon-Sun 09:00-16:00",
        busy=((utc(2024, 1, 1, 12, 50), utc(2024, 1, 1, 13, 50)),),
    )
    query = SlotQuery(
        60,
        utc(2024, 1, 1),
        utc(2024, 1, 2),
        interval_minutes=5,
        buffer_before_minutes=15,
    )
    slots = find_slots(query, [person])

    after_busy = [slot.start for slot in slots if slot.start >= utc(2024, 1, 1, 12, 50)]
    assert after_busy[0] == utc(2024, 1, 1, 14, 5)
    assert slots[-1].start == utc(2024, 1, 1, 15)
    assert all(slot.end <= utc(2024, 1, 1, 16) for slot in slots)


def test_buffer_of_session_before_window_reaches_in() -> None:
    person = Availability(
        "UTC",
        "Mon-Sun 08:00-17:00",
        busy=((utc(2024, 1, 1, 9), utc(2024, 1, 1, 9, 15)),),
    )
    query = SlotQuery(
        15,
        utc(2024, 1, 1, 9, 30),
        utc(2024, 1, 1, 12),
        buffer_before_minutes=30,
        buffer_after_minutes=30,
    )
    found = starts(query, [person])

    assert utc(2024, 1, 1, 9, 30) not in found
    assert found[0] == utc(2024, 1, 1, 9, 45)


def test_buffer_rejection_is_explained() -> None:
    person = Availability(
        "UTC",
        "Mon-Sun 08:00-17:00",
        busy=((utc(2024, 1, 1, 9), utc(2024, 1, 1, 9, 15)),),
    )
    query = SlotQuery(
        15, utc(2024, 1, 1, 9, 30), utc(2024, 1, 1, 12), buffer_before_minutes=30
    )
    reason = check_slot(query, [person], utc(2024, 1, 1, 9, 30))
    assert reason is not None
    assert "buffer" in reason


def test_hours_crossing_midnight_offer_slots_across_it() -> None:
    zone = ZoneInfo("America/Denver")
    person = Availability("America/Denver", "Wed 22:30-02:00")
    query = SlotQuery(60, utc(2024, 5, 1), utc(2024, 5, 3), interval_minutes=30)
    local = [
        start.astimezone(zone).strftime("%H:%M") for start in starts(query, [person])
    ]
    assert local == ["22:30", "23:00", "23:30", "00:00", "00:30", "01:00"]


def test_override_applies_to_local_date_only() -> None:
    person = Availability(
        "America/Los_Angeles",
        "Mon-Sun 09:00-17:00",
        overrides=((date(2023, 7, 21), "22:00-23:00"),),
    )
    query = SlotQuery(60, utc(2023, 7, 20), utc(2023, 7, 25))
    by_local_day: dict[date, list[datetime]] = {}
    for start in starts(query, [person]):
        by_local_day.setdefault(start.astimezone(LOS_ANGELES).date(), []).append(start)

    assert by_local_day[date(2023, 7, 21)] == [utc(2023, 7, 22, 5)]
    saturday = [s.astimezone(LOS_ANGELES).hour for s in by_local_day[date(2023, 7, 22)]]
    assert saturday == [9, 10, 11, 12, 13, 14, 15, 16]


def test_minimum_notice_skips_to_next_grid_start() -> None:
    person = Availability("UTC", "Mon-Sun 09:00-17:00")
    query = SlotQuery(
        60,
        utc(2024, 1, 1),
        utc(2024, 1, 2),
        now=utc(2024, 1, 1, 10),
        min_notice_minutes=120,
    )
    found = starts(query, [person])
    assert found[0] == utc(2024, 1, 1, 12)
    assert utc(2024, 1, 1, 11) not in found


def test_minimum_notice_rejection_is_explained() -> None:
    person = Availability("UTC", "Mon-Sun 09:00-17:00")
    query = SlotQuery(
        60,
        utc(2024, 1, 1),
        utc(2024, 1, 2),
        now=utc(2024, 1, 1, 10),
        min_notice_minutes=120,
    )
    reason = check_slot(query, [person], utc(2024, 1, 1, 11))
    assert reason is not None
    assert "minimum notice" in reason


MENTOR_LA = Availability("America/Los_Angeles", "Mon-Fri 08:00-17:00")
MENTEE_BERLIN = Availability("Europe/Berlin", "Mon-Fri 09:00-18:00")


def test_two_zones_july_only_fifteen_utc() -> None:
    query = SlotQuery(45, utc(2026, 7, 6), utc(2026, 7, 11))
    found = starts(query, [MENTOR_LA, MENTEE_BERLIN])
    assert {(s.hour, s.minute) for s in found} == {(15, 0)}
    assert len(found) == 5


def test_two_zones_july_fifteen_minute_grid() -> None:
    query = SlotQuery(45, utc(2026, 7, 6), utc(2026, 7, 11), interval_minutes=15)
    found = starts(query, [MENTOR_LA, MENTEE_BERLIN])
    assert {(s.hour, s.minute) for s in found} == {(15, 0), (15, 15)}
    assert utc(2026, 7, 6, 14, 45) not in found
    assert utc(2026, 7, 6, 15, 30) not in found


def test_two_zones_march_gap_weeks_two_hours() -> None:
    query = SlotQuery(15, utc(2026, 3, 9), utc(2026, 3, 28))
    slots = find_slots(query, [MENTOR_LA, MENTEE_BERLIN])
    days = {slot.start.date() for slot in slots}
    assert len(days) == 15
    for day in days:
        same_day = [slot for slot in slots if slot.start.date() == day]
        assert same_day[0].start == datetime.combine(
            day, datetime.min.time(), UTC
        ) + timedelta(hours=15)
        assert same_day[-1].end == datetime.combine(
            day, datetime.min.time(), UTC
        ) + timedelta(hours=17)
        assert len(same_day) == 8


@pytest.fixture
def busy_person() -> Availability:
    return Availability(
        "UTC", "Mon-Fri 09:00-17:00", busy=((utc(2024, 1, 2, 10), utc(2024, 1, 2, 11)),)
    )


@pytest.fixture
def plain_query() -> SlotQuery:
    return SlotQuery(60, utc(2024, 1, 1), utc(2024, 1, 6), buffer_after_minutes=15)


@pytest.mark.parametrize(
    ("start", "phrase"),
    [
        (utc(2024, 1, 2, 9, 10), "off the grid"),
        (utc(2024, 1, 2, 9, 0, 30), "off the grid"),
        (utc(2024, 1, 2, 7), "outside the common hours"),
        (utc(2024, 1, 6, 10), "outside the search window"),
        (utc(2024, 1, 2, 10), "busy"),
        (utc(2024, 1, 2, 9), "buffer"),
    ],
)
def test_check_slot_names_the_rule(
    busy_person: Availability, plain_query: SlotQuery, start: datetime, phrase: str
) -> None:
    reason = check_slot(plain_query, [busy_person], start)
    assert reason is not None
    assert phrase in reason


def test_check_slot_accepts_listed_slot(
    busy_person: Availability, plain_query: SlotQuery
) -> None:
    assert check_slot(plain_query, [busy_person], utc(2024, 1, 2, 11)) is None


def random_person(rng: random.Random, base: datetime) -> Availability:
    zone = rng.choice(["UTC", "America/New_York", "Europe/Berlin", "Asia/Kolkata"])
    hours = rng.choice(
        [
            "Mon-Fri 09:00-17:00",
            "Mon-Sun 07:30-12:10 13:00-19:45",
            "Tue-Sat 22:00-03:00",
        ]
    )
    busy = []
    for _ in range(rng.randrange(0, 12)):
        start = base + timedelta(minutes=rng.randrange(-600, 6 * 1440))
        busy.append((start, start + timedelta(minutes=rng.randrange(5, 240))))
    return Availability(zone, hours, busy=tuple(sorted(busy)))


def test_check_slot_agrees_with_find_slots_on_random_times() -> None:
    rng = random.Random(20240101)
    base = utc(2024, 3, 25)
    for _ in range(60):
        people = [random_person(rng, base) for _ in range(rng.randrange(1, 4))]
        query = SlotQuery(
            rng.choice([15, 30, 45, 60]),
            base + timedelta(minutes=rng.randrange(0, 1440)),
            base + timedelta(days=rng.randrange(2, 6)),
            interval_minutes=rng.choice([None, 5, 15, 30]),
            now=base + timedelta(minutes=rng.randrange(0, 2880)),
            buffer_before_minutes=rng.choice([0, 10, 30]),
            buffer_after_minutes=rng.choice([0, 15]),
            min_notice_minutes=rng.choice([0, 60, 240]),
        )
        listed = set(starts(query, people))
        for start in listed:
            assert check_slot(query, people, start) is None

        for _ in range(150):
            moment = base + timedelta(minutes=rng.randrange(-120, 7 * 1440))
            reason = check_slot(query, people, moment)
            assert (reason is None) == (moment in listed), (moment, reason)


@pytest.mark.parametrize(
    ("zone", "grid", "day"),
    [
        ("America/New_York", 45, date(2026, 3, 12)),
        ("Australia/Lord_Howe", 60, date(2026, 4, 6)),
        ("UTC", 7, date(2026, 7, 8)),
    ],
)
def test_grid_does_not_move_with_the_query_start(
    zone: str, grid: int, day: date
) -> None:
    # Round-the-clock hours merge into one long window; the grid must still
    # restart at each local midnight, not at wherever the query begins.
    person = Availability(timezone=zone, hours="Mon-Sun 00:00-24:00")
    day_start = datetime.combine(day, time(0), ZoneInfo(zone)).astimezone(UTC)
    day_end = day_start + timedelta(days=1)

    def starts_on_day(query_start: datetime) -> list[datetime]:
        query = SlotQuery(
            length_minutes=30, start=query_start, end=day_end, interval_minutes=grid
        )
        return [s.start for s in find_slots(query, [person]) if s.start >= day_start]

    early = starts_on_day(day_start - timedelta(days=10))
    late = starts_on_day(day_start - timedelta(hours=1))

    assert early == late
    assert early[0] == day_start
    assert all((s - day_start).total_seconds() % (grid * 60) == 0 for s in early)


def test_check_slot_names_the_busy_participant() -> None:
    start = datetime(2026, 7, 6, 10, tzinfo=UTC)
    free = Availability(timezone="UTC", hours="Mon-Fri 09:00-17:00")
    busy = Availability(
        timezone="UTC",
        hours="Mon-Fri 09:00-17:00",
        busy=((start, start + timedelta(hours=1)),),
    )
    query = SlotQuery(
        length_minutes=60,
        start=start - timedelta(hours=1),
        end=start + timedelta(hours=5),
    )

    named = check_slot(query, [free, busy], start, names=("Maya", "Ada"))
    unnamed = check_slot(query, [free, busy], start)

    assert named is not None and "busy for Ada" in named
    assert unnamed is not None and "busy for participant 2" in unnamed
