"""Speed-mentoring rounds: who meets whom, in which round, at which table.

Meetings are chosen with a min-cost max-flow: as many meetings as the
rounds allow (each person at most one per round, each pair at most once),
then as many shared topics as possible, then an even spread of meetings
over mentors and mentees. The meetings are then split into rounds by a
bipartite edge colouring, which needs exactly as many rounds as the
busiest person has meetings (König's theorem). Each mentor keeps one table
for the whole event, so only mentees move.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from ortools.graph.python.min_cost_flow import SimpleMinCostFlow

from matching.eligibility import normalise
from matching.model import Mentor
from matching.timebase import require_aware

logger = logging.getLogger(__name__)

TOPIC_COST = 1
"""Cost unit of a meeting without a shared topic (spread costs sit below)."""


@dataclass(frozen=True, slots=True)
class SpeedMentee:
    """A mentee at a speed-mentoring event and the topics they care about."""

    id: int
    topics: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class SpeedRound:
    """One round: its times and its meetings as (mentor, mentee, table)."""

    number: int
    start: datetime
    end: datetime
    meetings: tuple[tuple[int, int, int], ...]


def plan_rounds(
    mentors: Sequence[Mentor],
    mentees: Sequence[SpeedMentee],
    start: datetime,
    round_minutes: int,
    rounds: int,
    break_minutes: int = 0,
    require_topic: bool = False,
) -> list[SpeedRound]:
    """Plan up to ``rounds`` rounds; the result has max-degree rounds.

    With ``require_topic`` only pairs that share a topic meet; otherwise
    such pairs are preferred and others fill the remaining places.
    """
    require_aware(start, "event start")
    if round_minutes <= 0 or rounds <= 0 or break_minutes < 0:
        raise ValueError(
            f"Rounds of {round_minutes} minutes, {rounds} rounds and breaks of"
            f" {break_minutes} minutes cannot be planned; use positive round"
            " minutes and rounds, and breaks of 0 or more minutes."
        )

    ordered_mentors = sorted(mentors, key=lambda m: m.id)
    ordered_mentees = sorted(mentees, key=lambda m: m.id)
    meetings = choose_meetings(ordered_mentors, ordered_mentees, rounds, require_topic)
    colours = colour_edges(meetings, len(ordered_mentors), len(ordered_mentees))

    count = max(colours, default=-1) + 1
    step = timedelta(minutes=round_minutes + break_minutes)
    result = []
    for number in range(count):
        chosen = sorted(
            (ordered_mentors[m].id, ordered_mentees[e].id, m + 1)
            for (m, e), colour in zip(meetings, colours, strict=True)
            if colour == number
        )
        round_start = start + number * step
        result.append(
            SpeedRound(
                number + 1,
                round_start,
                round_start + timedelta(minutes=round_minutes),
                tuple(chosen),
            )
        )
    logger.info("planned %d meetings in %d speed rounds", len(meetings), count)
    return result


def choose_meetings(
    mentors: Sequence[Mentor],
    mentees: Sequence[SpeedMentee],
    rounds: int,
    require_topic: bool,
) -> list[tuple[int, int]]:
    """Pick (mentor index, mentee index) meetings, each pair at most once."""
    source, sink = 0, 1
    mentee_base, mentor_base = 2, 2 + len(mentees)
    mentor_topics = [{normalise(t) for t in m.topics} for m in mentors]

    # Spread costs rise by one per extra meeting of a person; their total is
    # kept below one topic unit so they never cost a shared topic.
    spread_total = (len(mentors) + len(mentees)) * rounds * rounds + 1
    topic_unit = TOPIC_COST * spread_total

    tails, heads, capacities, costs = [], [], [], []
    pairs: list[tuple[int, int]] = []
    for e, mentee in enumerate(mentees):
        wanted = {normalise(t) for t in mentee.topics}
        for extra in range(rounds):
            tails.append(source)
            heads.append(mentee_base + e)
            capacities.append(1)
            costs.append(extra)
        for m, topics in enumerate(mentor_topics):
            shared = bool(wanted & topics)
            if require_topic and not shared:
                continue
            tails.append(mentee_base + e)
            heads.append(mentor_base + m)
            capacities.append(1)
            costs.append(0 if shared else topic_unit)
            pairs.append((m, e))
    pair_positions = [i for i, tail in enumerate(tails) if tail >= mentee_base]

    for m in range(len(mentors)):
        for extra in range(rounds):
            tails.append(mentor_base + m)
            heads.append(sink)
            capacities.append(1)
            costs.append(extra)

    flow = SimpleMinCostFlow()
    if not pairs:
        return []
    flow.add_arcs_with_capacity_and_unit_cost(
        np.array(tails, dtype=np.int32),
        np.array(heads, dtype=np.int32),
        np.array(capacities, dtype=np.int64),
        np.array(costs, dtype=np.int64),
    )
    total = len(mentees) * rounds
    flow.set_node_supply(source, total)
    flow.set_node_supply(sink, -total)
    status = flow.solve_max_flow_with_min_cost()
    if status != flow.OPTIMAL:
        raise RuntimeError(f"Min-cost flow did not solve: status {status}.")

    used = flow.flows(np.array(pair_positions, dtype=np.int32))
    return [pair for pair, amount in zip(pairs, used.tolist(), strict=True) if amount]


def colour_edges(
    edges: Sequence[tuple[int, int]], left_count: int, right_count: int
) -> list[int]:
    """Colour bipartite edges so no vertex has two edges of one colour.

    Uses max-degree colours: for each edge take a colour free at its left
    end and one free at its right end; when they differ, swap the two
    colours along the alternating path from the right end first.
    """
    counts = Counter(left for left, _ in edges)
    counts.update(left_count + right for _, right in edges)
    degree = max(counts.values(), default=0)
    # at[vertex][colour] = edge index; right vertices follow the left ones.
    at: list[list[int | None]] = [
        [None] * degree for _ in range(left_count + right_count)
    ]
    colours = [-1] * len(edges)

    for index, (left, right) in enumerate(edges):
        u, v = left, left_count + right
        a = at[u].index(None)
        b = at[v].index(None)
        if at[v][a] is not None:
            _swap_path(edges, left_count, at, colours, v, a, b)
        at[u][a] = index
        at[v][a] = index
        colours[index] = a
    return colours


def _swap_path(
    edges: Sequence[tuple[int, int]],
    left_count: int,
    at: list[list[int | None]],
    colours: list[int],
    vertex: int,
    a: int,
    b: int,
) -> None:
    """Swap colours a and b on the a/b path starting at ``vertex``."""
    path: list[int] = []
    colour, current = a, vertex
    while (edge := at[current][colour]) is not None:
        path.append(edge)
        left, right = edges[edge]
        ends = (left, left_count + right)
        current = ends[1] if ends[0] == current else ends[0]
        colour = b if colour == a else a

    for edge in path:
        left, right = edges[edge]
        for end in (left, left_count + right):
            if at[end][colours[edge]] == edge:
                at[end][colours[edge]] = None
    for edge in path:
        colours[edge] = b if colours[edge] == a else a
        left, right = edges[edge]
        at[left][colours[edge]] = edge
        at[left_count + right][colours[edge]] = edge
