"""Monthly session limits around plan_program, and busy time given in minutes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from matching.engine import plan_program
from matching.model import Availability, Mentor, ProgramRules, Request
from matching.monthly import MonthlyLimit, over_limit, plan_with_monthly_limits
from matching.slots import SlotQuery, find_slots

START = datetime(2027, 3, 1, tzinfo=UTC)
NOW = START - timedelta(days=7)
WEEKDAYS = Availability("UTC", "Mon-Fri 09:00-17:00")


def rules(sessions: int = 2) -> ProgramRules:
    return ProgramRules(
        kind="intervention",
        sessions=sessions,
        session_minutes=60,
        window_start=START,
        window_end=START + timedelta(days=26),
    )


def mentor(id: int, capacity: int = 3) -> Mentor:
    return Mentor(id, frozenset({"reading"}), "North", capacity, WEEKDAYS)


def request(id: int) -> Request:
    return Request(id, 1000 + id, "reading", "North", WEEKDAYS)


def test_limit_drops_series_over_the_month() -> None:
    plan = plan_program(rules(), [mentor(1)], [request(1), request(2)], NOW)

    over = over_limit(plan.matches, {1: MonthlyLimit(3, "UTC")})

    # Two series of two March sessions: the second would make four.
    assert [match.request_id for match, _ in over] == [2]


def test_limit_counts_sessions_already_booked() -> None:
    plan = plan_program(rules(), [mentor(1)], [request(1)], NOW)

    over = over_limit(plan.matches, {1: MonthlyLimit(2, "UTC", {(2027, 3): 1})})

    assert len(over) == 1


def test_limit_uses_the_mentor_zone_for_months() -> None:
    # 1 March 02:00 UTC is still February in Chicago.
    hours = Availability("UTC", "Mon-Sun 02:00-03:00")
    window = ProgramRules(
        kind="intervention",
        sessions=1,
        session_minutes=60,
        window_start=START,
        window_end=START + timedelta(hours=3),
    )
    plan = plan_program(
        window,
        [Mentor(1, frozenset({"reading"}), "North", 3, hours)],
        [Request(1, 1001, "reading", "North", hours)],
        NOW,
    )
    booked = {(2027, 2): 1}

    in_utc = over_limit(plan.matches, {1: MonthlyLimit(1, "UTC", booked)})
    in_chicago = over_limit(
        plan.matches, {1: MonthlyLimit(1, "America/Chicago", booked)}
    )

    assert in_utc == []
    assert len(in_chicago) == 1


def test_replanning_gives_the_request_another_mentor() -> None:
    plan = plan_with_monthly_limits(
        rules(),
        [mentor(1), mentor(2)],
        [request(1), request(2), request(3)],
        NOW,
        {1: MonthlyLimit(2, "UTC")},
    )

    assert len(plan.matches) == 3
    assert sum(1 for m in plan.matches if m.mentor_id == 1) <= 1


def test_request_left_over_gets_monthly_reason() -> None:
    plan = plan_with_monthly_limits(
        rules(),
        [mentor(1)],
        [request(1), request(2)],
        NOW,
        {1: MonthlyLimit(2, "UTC", name="Maya")},
    )

    assert [m.request_id for m in plan.matches] == [1]
    (missing,) = plan.unmatched
    assert missing.reason == "monthly-capacity"
    assert missing.message.startswith("Maya may hold 2 session(s) a month")


def test_busy_minutes_give_the_same_slots_as_busy_datetimes() -> None:
    busy = ((START + timedelta(hours=10), START + timedelta(hours=11, minutes=30)),)
    minutes = tuple(
        (int(s.timestamp()) // 60, int(e.timestamp()) // 60) for s, e in busy
    )
    query = SlotQuery(60, START, START + timedelta(days=1), interval_minutes=30)

    from_datetimes = find_slots(query, [Availability("UTC", "Mon 09:00-17:00", busy)])
    from_minutes = find_slots(
        query, [Availability("UTC", "Mon 09:00-17:00", busy_minutes=minutes)]
    )

    assert from_minutes == from_datetimes
    assert START + timedelta(hours=10) not in [s.start for s in from_minutes]


def test_busy_minutes_take_precedence_over_busy() -> None:
    busy = ((START + timedelta(hours=9), START + timedelta(hours=17)),)
    query = SlotQuery(60, START, START + timedelta(days=1))

    slots = find_slots(query, [Availability("UTC", "Mon 09:00-17:00", busy, (), ())])

    assert len(slots) == 8


def test_informational_matches_offered_role() -> None:
    informational = ProgramRules(
        kind="informational",
        sessions=1,
        session_minutes=30,
        window_start=START,
        window_end=START + timedelta(days=5),
    )
    offering = Mentor(1, frozenset({"Instructional Coach"}), "South", 2, WEEKDAYS)
    asking = Request(1, 1001, "instructional coach", "North", WEEKDAYS)

    plan = plan_program(informational, [offering], [asking], NOW)

    (match,) = plan.matches
    assert "Mentor offers Instructional Coach interviews." in match.reasons
