"""Optimal assignment of requests to mentors as a min-cost max-flow.

The network is source -> demand -> mentor -> sink. A demand is a set of
interchangeable requests (same topic, site and availability), so one node
with capacity ``size`` stands for all of them. OR-Tools finds the maximum
flow first (coverage) and the cheapest such flow second. Costs are layered
so that a lower layer can never outweigh one unit of the layer above:

1. repeat cost ``repeat_cost``: a development-plan mentee meeting a mentor a
   second time (only when asked for);
2. score cost ``(MAX_SCORE - score) * load_scale`` on demand -> mentor arcs;
3. load cost: the k-th mentee of a mentor (counting earlier load) costs k,
   which spreads mentees evenly; ``load_scale`` is larger than any possible
   total load cost.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from ortools.graph.python.min_cost_flow import SimpleMinCostFlow

from matching.eligibility import MAX_SCORE

logger = logging.getLogger(__name__)

SOURCE, SINK = 0, 1


@dataclass(slots=True)
class Demand:
    """Requests that share every arc: how many, and which mentors fit."""

    size: int
    arcs: list[tuple[int, int]]
    """(mentor index, score), mentor indices ascending."""
    mentee: int | None = None
    """Set for development-plan requests, to avoid repeating a mentor."""


@dataclass(slots=True)
class Assignment:
    """For each demand, (mentor index, number of its requests) pairs."""

    flows: list[list[tuple[int, int]]] = field(default_factory=list)


def assign(
    demands: Sequence[Demand],
    capacities: Sequence[int],
    loads: Sequence[int],
    used_pairs: frozenset[tuple[int, int]] = frozenset(),
) -> Assignment:
    """Assign demands to mentors: maximum coverage, then score, then spread.

    ``capacities`` are free places per mentor, ``loads`` the mentees each
    already has. ``used_pairs`` contains (mentee, mentor index) pairs already
    matched, which development-plan demands avoid where they can.
    """
    graph = _Network(len(demands), len(capacities))
    load_scale = 1 + sum(
        sum(range(load, load + max(0, cap)))
        for cap, load in zip(capacities, loads, strict=True)
    )
    total = sum(demand.size for demand in demands)
    repeat_cost = MAX_SCORE * load_scale * max(1, total) + 1

    pair_requests: dict[tuple[int, int], int] = {}
    for number, demand in enumerate(demands):
        graph.arc(SOURCE, graph.demand_node(number), demand.size, 0)
        for mentor, score in demand.arcs:
            cost = (MAX_SCORE - score) * load_scale
            if demand.mentee is None:
                head = graph.mentor_node(mentor)
            else:
                key = (demand.mentee, mentor)
                head = graph.pair_node(key)
                pair_requests[key] = pair_requests.get(key, 0) + demand.size
            graph.demand_arc(number, mentor, head, demand.size, cost)

    # A development-plan mentee's first request to a mentor is free; every
    # further one (or the first, when the pair already met) costs repeat_cost.
    for (mentee, mentor), count in pair_requests.items():
        node = graph.pair_node((mentee, mentor))
        first_cost = repeat_cost if (mentee, mentor) in used_pairs else 0
        graph.arc(node, graph.mentor_node(mentor), 1, first_cost)
        if count > 1:
            graph.arc(node, graph.mentor_node(mentor), count - 1, repeat_cost)

    for mentor, (cap, load) in enumerate(zip(capacities, loads, strict=True)):
        for extra in range(max(0, cap)):
            graph.arc(graph.mentor_node(mentor), SINK, 1, load + extra)

    return graph.solve(len(demands), total)


class _Network:
    """Arc lists for one SimpleMinCostFlow, added in one vectorised call."""

    def __init__(self, demand_count: int, mentor_count: int) -> None:
        self.demand_count = demand_count
        self.mentor_count = mentor_count
        self.pairs: dict[tuple[int, int], int] = {}
        self.tails: list[int] = []
        self.heads: list[int] = []
        self.capacities: list[int] = []
        self.costs: list[int] = []
        self.owners: list[tuple[int, int]] = []
        """(demand, mentor) of each demand arc, by position in the arc lists."""
        self.owner_positions: list[int] = []

    def demand_node(self, number: int) -> int:
        return 2 + number

    def mentor_node(self, mentor: int) -> int:
        return 2 + self.demand_count + mentor

    def pair_node(self, key: tuple[int, int]) -> int:
        if key not in self.pairs:
            first_free = 2 + self.demand_count + self.mentor_count
            self.pairs[key] = first_free + len(self.pairs)
        return self.pairs[key]

    def arc(self, tail: int, head: int, capacity: int, cost: int) -> None:
        self.tails.append(tail)
        self.heads.append(head)
        self.capacities.append(capacity)
        self.costs.append(cost)

    def demand_arc(
        self, demand: int, mentor: int, head: int, capacity: int, cost: int
    ) -> None:
        """Add a demand arc and remember which (demand, mentor) it serves."""
        self.owners.append((demand, mentor))
        self.owner_positions.append(len(self.tails))
        self.arc(self.demand_node(demand), head, capacity, cost)

    def solve(self, demand_count: int, total: int) -> Assignment:
        flow = SimpleMinCostFlow()
        # Maximum flow with minimum cost runs between the nodes that have
        # supply, so the source offers every request and the sink takes them.
        flow.set_node_supply(SOURCE, total)
        flow.set_node_supply(SINK, -total)
        if self.tails:
            flow.add_arcs_with_capacity_and_unit_cost(
                np.array(self.tails, dtype=np.int32),
                np.array(self.heads, dtype=np.int32),
                np.array(self.capacities, dtype=np.int64),
                np.array(self.costs, dtype=np.int64),
            )
        status = flow.solve_max_flow_with_min_cost()
        if status != flow.OPTIMAL:
            raise RuntimeError(f"Min-cost flow did not solve: status {status}.")

        result = Assignment([[] for _ in range(demand_count)])
        if not self.owner_positions:
            return result
        flows = flow.flows(np.array(self.owner_positions, dtype=np.int32))
        for (demand, mentor), amount in zip(self.owners, flows.tolist(), strict=True):
            if amount > 0:
                result.flows[demand].append((mentor, int(amount)))
        return result
