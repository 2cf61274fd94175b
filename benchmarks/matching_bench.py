"""Benchmark the matching engine and series planning.

Run with ``.venv/bin/python -m benchmarks.matching_bench``. Prints a table
and writes benchmarks/results/matching.json. Each engine measurement sits
next to a plain build of the same problem, in the same process.
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import multiprocessing
import random
import resource
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from ortools.graph.python.min_cost_flow import SimpleMinCostFlow

from matching.engine import plan_program
from matching.model import Availability, Mentor, ProgramRules, Request
from matching.series import minute_intervals, plan_series
from matching.slots import SlotQuery, busy_minutes, find_slots, person_busy

logger = logging.getLogger(__name__)

RESULTS = Path(__file__).parent / "results" / "matching.json"
TOPICS = [f"topic {number}" for number in range(25)]
SITES = ["North", "South", "East", "West"]
ZONES = [
    ("America/New_York", "Mon-Fri 08:00-16:00"),
    ("America/Chicago", "Mon-Fri 09:00-17:00"),
    ("America/Los_Angeles", "Mon-Thu 07:30-15:30; Fri 08:00-12:00"),
]
WINDOW_START = datetime(2026, 9, 7, tzinfo=UTC)
WINDOW_END = WINDOW_START + timedelta(weeks=6)
NOW = WINDOW_START - timedelta(days=3)


def peak_memory_mib() -> float:
    """Peak resident memory of this process so far, in MiB (Linux units)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(action: Callable[[], Any]) -> tuple[float, Any]:
    """Run ``action`` once and return (seconds, result)."""
    began = time.perf_counter()
    result = action()
    return time.perf_counter() - began, result


# --- matching ----------------------------------------------------------------


def matching_problem(mentees: int, seed: int) -> tuple[list[Mentor], list[Request]]:
    """Mentees with one topic each; mentors with 5 of 25 topics (20% fit)."""
    rng = random.Random(seed)
    zones = [Availability(zone, hours) for zone, hours in ZONES]
    mentors = [
        Mentor(
            id=100_000 + number,
            topics=frozenset(rng.sample(TOPICS, 5)),
            site=rng.choice(SITES),
            capacity=6,
            availability=rng.choice(zones),
        )
        for number in range(mentees // 4)
    ]
    requests = [
        Request(
            id=number,
            mentee_id=number,
            topic=rng.choice(TOPICS),
            site=rng.choice(SITES),
            availability=rng.choice(zones),
        )
        for number in range(mentees)
    ]
    return mentors, requests


def matching_rules() -> ProgramRules:
    return ProgramRules(
        kind="intervention",
        sessions=3,
        session_minutes=45,
        window_start=WINDOW_START,
        window_end=WINDOW_END,
        site_rule="other-preferred",
    )


def plain_flow(mentors: Sequence[Mentor], requests: Sequence[Request]) -> int:
    """Solve the same assignment with one arc per eligible request-mentor pair."""
    topic_of = {topic: number for number, topic in enumerate(TOPICS)}
    offers = np.zeros((len(mentors), len(TOPICS)), dtype=bool)
    for index, mentor in enumerate(mentors):
        offers[index, [topic_of[t] for t in mentor.topics]] = True
    wanted = np.array([topic_of[r.topic] for r in requests])
    request_index, mentor_index = np.nonzero(offers[:, wanted].T)

    source, sink = 0, 1
    flow = SimpleMinCostFlow()
    count = len(requests)
    flow.add_arcs_with_capacity_and_unit_cost(
        np.zeros(count, dtype=np.int32),
        np.arange(2, 2 + count, dtype=np.int32),
        np.ones(count, dtype=np.int64),
        np.zeros(count, dtype=np.int64),
    )
    flow.add_arcs_with_capacity_and_unit_cost(
        (2 + request_index).astype(np.int32),
        (2 + count + mentor_index).astype(np.int32),
        np.ones(request_index.size, dtype=np.int64),
        np.ones(request_index.size, dtype=np.int64),
    )
    mentor_nodes = np.arange(2 + count, 2 + count + len(mentors), dtype=np.int32)
    flow.add_arcs_with_capacity_and_unit_cost(
        mentor_nodes,
        np.full(len(mentors), sink, dtype=np.int32),
        np.full(len(mentors), 6, dtype=np.int64),
        np.zeros(len(mentors), dtype=np.int64),
    )
    flow.set_node_supply(source, count)
    flow.set_node_supply(sink, -count)
    flow.solve_max_flow_with_min_cost()
    return int(flow.maximum_flow())


def bench_matching(size: int) -> dict[str, Any]:
    mentors, requests = matching_problem(size, seed=size)
    engine_seconds, plan = timed(
        lambda: plan_program(matching_rules(), mentors, requests, NOW)
    )
    plain_seconds, plain_matched = timed(lambda: plain_flow(mentors, requests))
    return {
        "case": f"match {size} mentees / {size // 4} mentors",
        "engine_s": round(engine_seconds, 3),
        "plain_solver_s": round(plain_seconds, 3),
        "matched": len(plan.matches),
        "plain_matched": plain_matched,
        "arcs_note": "plain build has one arc per eligible request-mentor pair",
        "peak_mib": round(peak_memory_mib(), 1),
    }


# --- series planning -----------------------------------------------------------


def busy_calendar(
    rng: random.Random, count: int
) -> tuple[tuple[datetime, datetime], ...]:
    """``count`` busy intervals of 15 to 120 minutes spread over the window."""
    span = int((WINDOW_END - WINDOW_START).total_seconds() // 60)
    busy = []
    for _ in range(count):
        start = WINDOW_START + timedelta(minutes=rng.randrange(0, span // 15) * 15)
        busy.append((start, start + timedelta(minutes=rng.choice([15, 30, 60, 120]))))
    return tuple(sorted(busy))


def planning_problem(pairs: int, seed: int) -> list[tuple[Availability, Availability]]:
    """Pairs of a mentor (four mentees each) and a mentee, 300 busy each."""
    rng = random.Random(seed)
    mentors = [
        Availability(*rng.choice(ZONES), busy=busy_calendar(rng, 300))
        for _ in range(pairs // 4)
    ]
    return [
        (
            mentors[number // 4],
            Availability(*rng.choice(ZONES), busy=busy_calendar(rng, 300)),
        )
        for number in range(pairs)
    ]


def planning_query() -> SlotQuery:
    return SlotQuery(45, WINDOW_START, WINDOW_END, interval_minutes=15, now=NOW)


_PAIRS: list[tuple[Availability, Availability]] = []


def plan_chunk(bounds: tuple[int, int]) -> int:
    """Plan the series of pairs[first:last] and return how many were found."""
    query = planning_query()
    found = 0
    for mentor, mentee in _PAIRS[bounds[0] : bounds[1]]:
        if plan_series(query, [mentor, mentee], 3, 7) is not None:
            found += 1
    return found


def convert_chunk(bounds: tuple[int, int]) -> int:
    """Convert the busy calendars of pairs[first:last] to minute arrays."""
    for mentor, mentee in _PAIRS[bounds[0] : bounds[1]]:
        busy_minutes(mentor.busy)
        busy_minutes(mentee.busy)
    return bounds[1] - bounds[0]


def with_minutes(
    pairs: list[tuple[Availability, Availability]],
) -> list[tuple[Availability, Availability]]:
    """Give every calendar its busy time as minutes only, sharing mentors."""
    converted: dict[int, Availability] = {}

    def convert(person: Availability) -> Availability:
        if id(person) not in converted:
            minutes = tuple(minute_intervals(person.busy))
            converted[id(person)] = replace(person, busy=(), busy_minutes=minutes)
        return converted[id(person)]

    return [(convert(mentor), convert(mentee)) for mentor, mentee in pairs]


def merge_minutes_chunk(bounds: tuple[int, int]) -> int:
    """Merge the minute busy time of pairs[first:last] into arrays."""
    for mentor, mentee in _PAIRS[bounds[0] : bounds[1]]:
        person_busy(mentor)
        person_busy(mentee)
    return bounds[1] - bounds[0]


def plan_parallel(workers: int) -> int:
    """Plan every pair in ``workers`` forked processes (calendars converted)."""
    size = len(_PAIRS)
    chunks = [(size * k // workers, size * (k + 1) // workers) for k in range(workers)]
    context = multiprocessing.get_context("fork")
    # Frozen objects are skipped by the collector, so forked workers touch
    # fewer of the parent's pages.
    gc.freeze()
    with context.Pool(workers) as pool:
        return sum(pool.map(plan_chunk, chunks))


def plain_series(query: SlotQuery, people: list[Availability]) -> bool:
    """Plan a series the plain way: list slots as datetimes, pick greedily."""
    chosen: list[datetime] = []
    for slot in find_slots(query, people):
        if not chosen or slot.start.date() >= chosen[-1].date() + timedelta(days=7):
            chosen.append(slot.start)
            if len(chosen) == 3:
                return True
    return False


def bench_planning(pairs: int, workers: int, plain_sample: int) -> list[dict[str, Any]]:
    global _PAIRS
    _PAIRS = planning_problem(pairs, seed=pairs)

    convert_seconds, _ = timed(lambda: convert_chunk((0, len(_PAIRS))))
    plan_seconds, found = timed(lambda: plan_chunk((0, len(_PAIRS))))
    parallel_seconds, parallel_found = timed(lambda: plan_parallel(workers))

    query = planning_query()
    datetime_pairs = _PAIRS
    _PAIRS = with_minutes(datetime_pairs)
    merge_seconds, _ = timed(lambda: merge_minutes_chunk((0, len(_PAIRS))))
    minutes_seconds, minutes_found = timed(lambda: plan_chunk((0, len(_PAIRS))))
    _PAIRS = datetime_pairs
    sample = _PAIRS[:plain_sample]
    plain_seconds, _ = timed(lambda: [plain_series(query, list(p)) for p in sample])
    plain_estimate = round(plain_seconds * pairs / max(1, len(sample)), 3)

    def row(
        case: str, seconds: float, plain: float | None, count: int | None
    ) -> dict[str, Any]:
        return {
            "case": f"plan {pairs} pairs: {case}",
            "engine_s": round(seconds, 3),
            "plain_solver_s": plain,
            "matched": count,
            "peak_mib": round(peak_memory_mib(), 1),
        }

    return [
        row("calendar conversion, 1 process", convert_seconds, None, None),
        row("series, 1 process", plan_seconds, plain_estimate, found),
        row(f"series, {workers} processes", parallel_seconds, None, parallel_found),
        row(
            f"end to end ({workers} processes)",
            convert_seconds + parallel_seconds,
            None,
            parallel_found,
        ),
        row("busy as minutes: merge, 1 process", merge_seconds, None, None),
        row("busy as minutes: series, 1 process", minutes_seconds, None, minutes_found),
        row(
            "busy as minutes: end to end, 1 process",
            merge_seconds + minutes_seconds,
            None,
            minutes_found,
        ),
    ]


def print_table(rows: Sequence[dict[str, Any]]) -> None:
    header = f"{'case':<52} {'engine s':>9} {'plain s':>9} {'found':>7} {'peak MiB':>9}"
    print(header)
    print("-" * len(header))
    for row in rows:
        plain = "-" if row["plain_solver_s"] is None else f"{row['plain_solver_s']:.3f}"
        found = "-" if row["matched"] is None else str(row["matched"])
        print(
            f"{row['case']:<52} {row['engine_s']:>9.3f} {plain:>9} {found:>7}"
            f" {row['peak_mib']:>9.1f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="*", default=[1000, 3000, 10000])
    parser.add_argument("--pairs", type=int, default=10_000, help="pairs to plan")
    parser.add_argument("--workers", type=int, default=2, help="processes for planning")
    parser.add_argument(
        "--plain-sample", type=int, default=500, help="pairs the plain planner runs"
    )
    args = parser.parse_args()

    rows = [bench_matching(size) for size in args.sizes]
    rows.extend(bench_planning(args.pairs, args.workers, args.plain_sample))
    print_table(rows)

    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"rows": rows}, indent=2) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
