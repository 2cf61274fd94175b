"""Series planning: weekly pattern, one moved session, gaps, replanning."""

import itertools
import random
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from matching.model import Availability, PlannedSession
from matching.series import plan_series, replan_session
from matching.slots import SlotQuery, find_slots

BERLIN = ZoneInfo("Europe/Berlin")


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def berlin(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=BERLIN).astimezone(UTC)


def local(session: PlannedSession) -> datetime:
    return session.start.astimezone(BERLIN)


def local_gap_days(first: PlannedSession, second: PlannedSession) -> int:
    return (local(second).date() - local(first).date()).days


# Five weeks from Monday 2026-03-16; Berlin moves to summer time on 03-29.
WINDOW = SlotQuery(45, berlin(2026, 3, 16), berlin(2026, 4, 20))


def test_series_same_local_weekday_and_time() -> None:
    mentor = Availability("Europe/Berlin", "Mon-Fri 09:00-17:00")
    mentee = Availability("Europe/Berlin", "Mon-Fri 08:00-12:00")
    series = plan_series(WINDOW, [mentor, mentee], 3, 7)

    assert series is not None
    assert [local(s).strftime("%a %H:%M") for s in series] == ["Mon 09:00"] * 3
    assert [local(s).date().isoformat() for s in series] == [
        "2026-03-16",
        "2026-03-23",
        "2026-03-30",
    ]
    assert series[2].start.hour == series[0].start.hour - 1


def test_series_keeps_pattern_found_later() -> None:
    mentor = Availability("Europe/Berlin", "Mon-Fri 09:00-17:00")
    busy = ((berlin(2026, 3, 17, 9), berlin(2026, 3, 17, 17)),)
    mentee = Availability("Europe/Berlin", "Tue 14:00-15:00", busy=busy)
    series = plan_series(WINDOW, [mentor, mentee], 3, 7)

    assert series is not None
    assert [local(s).strftime("%Y-%m-%d %H:%M") for s in series] == [
        "2026-03-24 14:00",
        "2026-03-31 14:00",
        "2026-04-07 14:00",
    ]


def blocked_week_two_people() -> list[Availability]:
    mentor = Availability("Europe/Berlin", "Tue 10:00-12:00")
    busy = (
        (berlin(2026, 3, 17, 11, 15), berlin(2026, 3, 17, 12)),
        (berlin(2026, 3, 24, 10), berlin(2026, 3, 24, 11, 15)),
        (berlin(2026, 3, 31, 11, 15), berlin(2026, 3, 31, 12)),
        (berlin(2026, 4, 7, 9), berlin(2026, 4, 7, 13)),
        (berlin(2026, 4, 14, 9), berlin(2026, 4, 14, 13)),
    )
    mentee = Availability("Europe/Berlin", "Mon-Fri 09:00-17:00", busy=busy)
    return [mentor, mentee]


def test_series_blocked_week_moves_only_that_session() -> None:
    query = SlotQuery(45, berlin(2026, 3, 16), berlin(2026, 4, 20), interval_minutes=15)
    series = plan_series(query, blocked_week_two_people(), 3, 7)

    assert series is not None
    assert local(series[0]) == datetime(2026, 3, 17, 10, tzinfo=BERLIN)
    assert local(series[1]) == datetime(2026, 3, 24, 11, 15, tzinfo=BERLIN)
    assert local(series[2]) == datetime(2026, 3, 31, 10, tzinfo=BERLIN)


def test_series_moved_session_keeps_gap() -> None:
    query = SlotQuery(45, berlin(2026, 3, 16), berlin(2026, 4, 20), interval_minutes=15)
    series = plan_series(query, blocked_week_two_people(), 3, 7)

    assert series is not None
    assert local_gap_days(series[0], series[1]) >= 7
    assert local_gap_days(series[1], series[2]) >= 7


def test_series_longer_gap_uses_two_week_pattern() -> None:
    mentor = Availability("Europe/Berlin", "Mon-Fri 09:00-17:00")
    query = SlotQuery(45, berlin(2026, 3, 16), berlin(2026, 4, 30))
    series = plan_series(query, [mentor, mentor], 3, 10)

    assert series is not None
    assert [local_gap_days(a, b) for a, b in itertools.pairwise(series)] == [14, 14]
    assert len({local(s).strftime("%a %H:%M") for s in series}) == 1


def test_series_avoids_taken_intervals() -> None:
    mentor = Availability("Europe/Berlin", "Mon-Fri 09:00-17:00")
    taken = [(berlin(2026, 3, 16, 9), berlin(2026, 3, 16, 9, 45))]
    series = plan_series(WINDOW, [mentor], 3, 7, taken=taken)

    assert series is not None
    assert all(
        not (s.start < end and s.end > start) for s in series for start, end in taken
    )
    assert local(series[0]) == datetime(2026, 3, 16, 9, 45, tzinfo=BERLIN)


def test_series_too_short_window_is_none() -> None:
    mentor = Availability("Europe/Berlin", "Mon-Fri 09:00-17:00")
    query = SlotQuery(45, berlin(2026, 3, 16), berlin(2026, 3, 28))
    assert plan_series(query, [mentor], 3, 7) is None


def test_series_is_deterministic() -> None:
    people = blocked_week_two_people()
    query = SlotQuery(45, berlin(2026, 3, 16), berlin(2026, 4, 20), interval_minutes=15)
    assert plan_series(query, people, 3, 7) == plan_series(query, people, 3, 7)


def irregular_person(rng: random.Random) -> Availability:
    busy = []
    start = utc(2026, 5, 4)
    for _ in range(40):
        moment = start + timedelta(minutes=rng.randrange(0, 30 * 1440))
        busy.append((moment, moment + timedelta(minutes=rng.randrange(30, 600))))
    return Availability(
        "Europe/Berlin", "Mon-Fri 09:00-12:00", busy=tuple(sorted(busy))
    )


def series_is_valid(
    series: list[PlannedSession], slots: set[datetime], gap: int
) -> bool:
    if any(s.start not in slots for s in series):
        return False
    return all(local_gap_days(a, b) >= gap for a, b in itertools.pairwise(series))


def test_series_found_whenever_brute_force_finds_one() -> None:
    rng = random.Random(9)
    query = SlotQuery(60, utc(2026, 5, 4), utc(2026, 5, 30))
    for _ in range(25):
        people = [irregular_person(rng), irregular_person(rng)]
        slots = find_slots(query, people)
        starts = {s.start for s in slots}
        exists = any(
            series_is_valid(list(combo), starts, 7)
            for combo in itertools.combinations(slots, 3)
        )
        series = plan_series(query, people, 3, 7)
        assert (series is not None) == exists
        if series is not None:
            assert series_is_valid(series, starts, 7)


def test_replan_moves_one_session_and_keeps_gaps() -> None:
    mentor = Availability("Europe/Berlin", "Mon-Fri 09:00-17:00")
    series = plan_series(WINDOW, [mentor], 3, 7)
    assert series is not None

    moved = replan_session(WINDOW, [mentor], series, 1, 7)
    assert moved is not None
    assert moved[0] == series[0]
    assert moved[2] == series[2]
    assert moved[1] != series[1]
    assert local_gap_days(moved[0], moved[1]) >= 7
    assert local_gap_days(moved[1], moved[2]) >= 7


def test_replan_avoids_new_conflict() -> None:
    mentor = Availability("Europe/Berlin", "Mon-Fri 09:00-17:00")
    series = plan_series(WINDOW, [mentor], 3, 7)
    assert series is not None

    conflict = [
        (series[1].start - timedelta(hours=1), series[1].end + timedelta(hours=3))
    ]
    moved = replan_session(WINDOW, [mentor], series, 1, 7, taken=conflict)
    assert moved is not None
    start, end = conflict[0]
    assert not (moved[1].start < end and moved[1].end > start)


def test_replan_without_room_is_none() -> None:
    mentor = Availability("Europe/Berlin", "Mon 09:00-09:45")
    series = plan_series(WINDOW, [mentor], 3, 7)
    assert series is not None
    assert replan_session(WINDOW, [mentor], series, 1, 7) is None
