"""Speed-mentoring rounds: edge colouring, pairs, tables and times."""

import random
from collections import Counter
from datetime import UTC, datetime, timedelta

from matching.model import Availability, Mentor
from matching.speed import SpeedMentee, colour_edges, plan_rounds

START = datetime(2026, 4, 1, 15, tzinfo=UTC)
ANY = Availability("UTC", "")


def mentors(count: int, topics: list[set[str]] | None = None) -> list[Mentor]:
    return [
        Mentor(100 + i, frozenset(topics[i] if topics else {"t"}), "North", 10, ANY)
        for i in range(count)
    ]


def test_rounds_equal_max_degree_on_random_graphs() -> None:
    rng = random.Random(1)
    for _ in range(50):
        left, right = rng.randrange(1, 9), rng.randrange(1, 9)
        edges = [
            (a, b) for a in range(left) for b in range(right) if rng.random() < 0.5
        ]
        colours = colour_edges(edges, left, right)
        degree = max(
            Counter([a for a, _ in edges] + [left + b for _, b in edges]).values(),
            default=0,
        )
        assert max(colours, default=-1) + 1 == degree
        seen = set()
        for (a, b), colour in zip(edges, colours, strict=True):
            assert ("L", a, colour) not in seen
            assert ("R", b, colour) not in seen
            seen.update({("L", a, colour), ("R", b, colour)})


def test_event_has_no_pair_twice() -> None:
    rounds = plan_rounds(mentors(4), [SpeedMentee(i) for i in range(6)], START, 10, 4)
    pairs = [(m, e) for r in rounds for m, e, _ in r.meetings]
    assert len(pairs) == len(set(pairs))


def test_nobody_twice_in_a_round() -> None:
    rounds = plan_rounds(mentors(5), [SpeedMentee(i) for i in range(7)], START, 10, 4)
    for r in rounds:
        assert len({m for m, _, _ in r.meetings}) == len(r.meetings)
        assert len({e for _, e, _ in r.meetings}) == len(r.meetings)


def test_round_count_is_max_meetings_per_person() -> None:
    rounds = plan_rounds(mentors(3), [SpeedMentee(i) for i in range(5)], START, 10, 4)
    counts = Counter()
    for r in rounds:
        for m, e, _ in r.meetings:
            counts[("m", m)] += 1
            counts[("e", e)] += 1
    assert len(rounds) == max(counts.values())


def test_everyone_meets_every_mentor_when_rounds_allow() -> None:
    rounds = plan_rounds(mentors(3), [SpeedMentee(i) for i in range(3)], START, 10, 3)
    pairs = {(m, e) for r in rounds for m, e, _ in r.meetings}
    assert len(rounds) == 3
    assert len(pairs) == 9


def test_shared_topics_are_preferred() -> None:
    group = mentors(2, [{"reading"}, {"math"}])
    rounds = plan_rounds(group, [SpeedMentee(1, frozenset({"Math"}))], START, 10, 1)
    assert [meeting[:2] for meeting in rounds[0].meetings] == [(101, 1)]


def test_required_topic_drops_other_pairs() -> None:
    group = mentors(2, [{"reading"}, {"math"}])
    rounds = plan_rounds(
        group, [SpeedMentee(1, frozenset({"math"}))], START, 10, 3, require_topic=True
    )
    assert [meeting[:2] for r in rounds for meeting in r.meetings] == [(101, 1)]


def test_meetings_spread_over_mentors() -> None:
    rounds = plan_rounds(mentors(4), [SpeedMentee(i) for i in range(4)], START, 10, 2)
    counts = Counter(m for r in rounds for m, _, _ in r.meetings)
    assert set(counts.values()) == {2}


def test_mentor_keeps_one_table() -> None:
    rounds = plan_rounds(mentors(3), [SpeedMentee(i) for i in range(4)], START, 10, 3)
    tables: dict[int, set[int]] = {}
    for r in rounds:
        for m, _, table in r.meetings:
            tables.setdefault(m, set()).add(table)
    assert all(len(found) == 1 for found in tables.values())
    assert len({next(iter(t)) for t in tables.values()}) == 3


def test_round_times_follow_length_and_break() -> None:
    rounds = plan_rounds(
        mentors(2), [SpeedMentee(i) for i in range(2)], START, 10, 2, break_minutes=5
    )
    assert [(r.start, r.end) for r in rounds] == [
        (START, START + timedelta(minutes=10)),
        (START + timedelta(minutes=15), START + timedelta(minutes=25)),
    ]
