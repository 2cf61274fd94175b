"""Set operations on half-open intervals, against a per-minute model."""

import random

import numpy as np

from matching.intervals import intersect, merge, merge_arrays, overlaps_any, subtract


def minute_set(intervals: list[tuple[int, int]]) -> set[int]:
    return {minute for start, end in intervals for minute in range(start, end)}


def random_intervals(rng: random.Random, count: int) -> list[tuple[int, int]]:
    intervals = []
    for _ in range(count):
        start = rng.randrange(0, 200)
        intervals.append((start, start + rng.randrange(1, 30)))
    return sorted(intervals)


def test_merge_joins_touching_intervals() -> None:
    assert merge([(0, 5), (5, 9), (12, 13)]) == [(0, 9), (12, 13)]


def test_merge_drops_empty_intervals() -> None:
    assert merge([(3, 3), (4, 6)]) == [(4, 6)]


def test_subtract_splits_base() -> None:
    assert subtract([(0, 10)], [(2, 3), (5, 7)]) == [(0, 2), (3, 5), (7, 10)]


def test_intersect_of_disjoint_lists_is_empty() -> None:
    assert intersect([(0, 5)], [(5, 9)]) == []


def test_operations_match_minute_sets_on_random_input() -> None:
    rng = random.Random(7)
    for _ in range(300):
        first = merge(random_intervals(rng, rng.randrange(0, 8)))
        second = merge(random_intervals(rng, rng.randrange(0, 8)))
        assert minute_set(intersect(first, second)) == minute_set(first) & minute_set(
            second
        )
        assert minute_set(subtract(first, second)) == minute_set(first) - minute_set(
            second
        )
        assert minute_set(merge(sorted(first + second))) == minute_set(
            first
        ) | minute_set(second)


def test_subtract_result_is_sorted_and_disjoint() -> None:
    rng = random.Random(11)
    for _ in range(200):
        first = merge(random_intervals(rng, 6))
        result = subtract(first, merge(random_intervals(rng, 6)))
        assert result == merge(result)


def test_merge_arrays_matches_merge() -> None:
    rng = random.Random(3)
    for _ in range(200):
        raw = random_intervals(rng, rng.randrange(1, 10))
        rng.shuffle(raw)
        starts, ends = merge_arrays(
            np.array([s for s, _ in raw], dtype=np.int64),
            np.array([e for _, e in raw], dtype=np.int64),
        )
        assert list(zip(starts.tolist(), ends.tolist(), strict=True)) == merge(
            sorted(raw)
        )


def test_overlaps_any_matches_pairwise_check() -> None:
    rng = random.Random(5)
    for _ in range(200):
        busy = merge(random_intervals(rng, 6))
        queries = random_intervals(rng, 20)
        starts = np.array([s for s, _ in busy], dtype=np.int64)
        ends = np.array([e for _, e in busy], dtype=np.int64)
        result = overlaps_any(
            starts,
            ends,
            np.array([s for s, _ in queries], dtype=np.int64),
            np.array([e for _, e in queries], dtype=np.int64),
        )
        expected = [any(bs < qe and be > qs for bs, be in busy) for qs, qe in queries]
        assert result.tolist() == expected
