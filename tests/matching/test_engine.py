"""Program matching: optimality, coverage, capacity, rules and reasons."""

import itertools
import random
from collections import Counter
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import maximum_flow

from matching.engine import RulesError, plan_program, validate_rules
from matching.model import Availability, MatchPlan, Mentor, ProgramRules, Request

NOW = datetime(2026, 1, 1, tzinfo=UTC)
OPEN = Availability("UTC", "Mon-Fri 09:00-17:00")
NIGHT = Availability("UTC", "Sat 02:00-03:00")


def rules(**changes: object) -> ProgramRules:
    base: dict[str, object] = {
        "kind": "intervention",
        "sessions": 1,
        "session_minutes": 45,
        "window_start": datetime(2026, 1, 5, tzinfo=UTC),
        "window_end": datetime(2026, 2, 9, tzinfo=UTC),
    }
    base.update(changes)
    return ProgramRules(**base)  # type: ignore[arg-type]


def mentor(
    mid: int, topics: set[str], site: str = "North", capacity: int = 1, **extra: object
) -> Mentor:
    return Mentor(
        mid, frozenset(topics), site, capacity, extra.pop("availability", OPEN), **extra
    )  # type: ignore[arg-type]


def request(
    rid: int,
    topic: str,
    site: str = "North",
    mentee: int | None = None,
    availability: Availability = OPEN,
) -> Request:
    return Request(
        rid, mentee if mentee is not None else 1000 + rid, topic, site, availability
    )


def pairs(plan: MatchPlan) -> dict[int, int]:
    return {m.request_id: m.mentor_id for m in plan.matches}


# --- optimality against brute force -------------------------------------


def brute_force_best(mentors: list[Mentor], requests: list[Request]) -> tuple[int, int]:
    """Best (coverage, total score) over every assignment, topic exact = 10."""
    options = []
    for req in requests:
        fit = [m for m in mentors if req.topic in m.topics]
        options.append([None, *fit])
    best = (0, 0)
    for choice in itertools.product(*options):
        used = Counter(m.id for m in choice if m is not None)
        if any(used[m.id] > m.capacity for m in mentors):
            continue
        covered = sum(1 for m in choice if m is not None)
        best = max(best, (covered, 10 * covered))
    return best


def brute_force_best_scored(
    mentors: list[Mentor], requests: list[Request], scores: dict[tuple[int, int], int]
) -> tuple[int, int]:
    options = [
        [None, *[m for m in mentors if (r.id, m.id) in scores]] for r in requests
    ]
    best = (0, 0)
    for choice in itertools.product(*options):
        used = Counter(m.id for m in choice if m is not None)
        if any(used[m.id] > m.capacity for m in mentors):
            continue
        covered = sum(1 for m in choice if m is not None)
        total = sum(
            scores[(r.id, m.id)]
            for r, m in zip(requests, choice, strict=True)
            if m is not None
        )
        best = max(best, (covered, total))
    return best


def test_greedy_by_id_would_lose_a_match() -> None:
    mentors = [mentor(1, {"a", "b"}), mentor(2, {"b"})]
    requests = [request(1, "b"), request(2, "a")]
    plan = plan_program(rules(), mentors, requests, NOW)
    assert pairs(plan) == {1: 2, 2: 1}


def test_score_beats_first_fit() -> None:
    # Request 1 takes the related mentor so that request 2 gets its exact one.
    mentors = [mentor(1, {"algebra"}), mentor(2, {"geometry"})]
    requests = [request(1, "algebra"), request(2, "algebra")]
    related = (frozenset({"algebra", "geometry"}),)
    plan = plan_program(rules(related=related), mentors, requests, NOW)
    assert len(plan.matches) == 2
    assert sorted(m.score for m in plan.matches) == [6.0, 10.0]


def test_optimal_against_brute_force_on_random_instances() -> None:
    rng = random.Random(42)
    related = (frozenset({"a", "b"}),)
    for _ in range(40):
        mentors = [
            mentor(
                i,
                set(rng.sample(["a", "b", "c"], rng.randrange(1, 3))),
                capacity=rng.randrange(1, 3),
            )
            for i in range(1, rng.randrange(2, 5))
        ]
        requests = [
            request(i, rng.choice(["a", "b", "c", "d"]))
            for i in range(1, rng.randrange(2, 7))
        ]
        scores = {}
        for r in requests:
            for m in mentors:
                if r.topic in m.topics:
                    scores[(r.id, m.id)] = 10
                elif r.topic in {"a", "b"} and m.topics & {"a", "b"}:
                    scores[(r.id, m.id)] = 6
        plan = plan_program(rules(related=related), mentors, requests, NOW)
        expected = brute_force_best_scored(mentors, requests, scores)
        assert (len(plan.matches), int(sum(m.score for m in plan.matches))) == expected


def independent_max_flow(mentors: list[Mentor], requests: list[Request]) -> int:
    size = 2 + len(requests) + len(mentors)
    source, sink = 0, size - 1
    graph = np.zeros((size, size), dtype=np.int32)
    for i, req in enumerate(requests):
        graph[source, 1 + i] = 1
        for j, m in enumerate(mentors):
            if req.topic in m.topics:
                graph[1 + i, 1 + len(requests) + j] = 1
    for j, m in enumerate(mentors):
        graph[1 + len(requests) + j, sink] = m.capacity
    return int(maximum_flow(csr_matrix(graph), source, sink).flow_value)


def test_coverage_equals_max_flow_on_random_instances() -> None:
    rng = random.Random(7)
    topics = ["a", "b", "c", "d", "e"]
    for _ in range(15):
        mentors = [
            mentor(
                i,
                set(rng.sample(topics, rng.randrange(1, 3))),
                capacity=rng.randrange(1, 4),
            )
            for i in range(1, 12)
        ]
        requests = [request(i, rng.choice(topics)) for i in range(1, 41)]
        plan = plan_program(rules(), mentors, requests, NOW)
        assert len(plan.matches) == independent_max_flow(mentors, requests)


def test_capacity_never_exceeded() -> None:
    rng = random.Random(3)
    mentors = [
        mentor(i, {"a"}, capacity=rng.randrange(1, 4), load=rng.randrange(0, 2))
        for i in range(1, 8)
    ]
    requests = [request(i, "a") for i in range(1, 40)]
    plan = plan_program(rules(), mentors, requests, NOW)
    counts = Counter(m.mentor_id for m in plan.matches)
    for m in mentors:
        assert counts[m.id] <= m.capacity - m.load


def test_loads_differ_by_at_most_one_when_all_fit() -> None:
    mentors = [mentor(i, {"a"}, capacity=10) for i in range(1, 6)]
    requests = [request(i, "a") for i in range(1, 18)]
    plan = plan_program(rules(), mentors, requests, NOW)
    counts = Counter(m.mentor_id for m in plan.matches)
    assert len(plan.matches) == 17
    assert max(counts.values()) - min(counts[m.id] for m in mentors) <= 1


def test_existing_load_counts_for_spreading() -> None:
    mentors = [mentor(1, {"a"}, capacity=5, load=3), mentor(2, {"a"}, capacity=5)]
    plan = plan_program(rules(), mentors, [request(i, "a") for i in range(1, 4)], NOW)
    assert Counter(m.mentor_id for m in plan.matches) == {2: 3}


def test_shuffled_input_gives_same_plan() -> None:
    rng = random.Random(5)
    mentors = [mentor(i, {"a", "b"}, capacity=2) for i in range(1, 6)]
    requests = [request(i, rng.choice(["a", "b"])) for i in range(1, 12)]
    first = plan_program(rules(), mentors, requests, NOW)
    rng.shuffle(mentors)
    rng.shuffle(requests)
    assert plan_program(rules(), mentors, requests, NOW) == first


# --- rules ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("site_rule", "expected"),
    [("same", {1: 1}), ("other-required", {1: 2}), ("other-preferred", {1: 2})],
)
def test_site_rule_picks_mentor(site_rule: str, expected: dict[int, int]) -> None:
    mentors = [mentor(1, {"a"}, site="North"), mentor(2, {"a"}, site="South")]
    plan = plan_program(
        rules(site_rule=site_rule), mentors, [request(1, "a", site="North")], NOW
    )
    assert pairs(plan) == expected


def test_site_rule_any_accepts_either_site() -> None:
    plan = plan_program(
        rules(site_rule="any"), [mentor(1, {"a"}, site="South")], [request(1, "a")], NOW
    )
    assert pairs(plan) == {1: 1}


def test_other_preferred_scores_other_site_higher() -> None:
    mentors = [mentor(1, {"a"}, site="North"), mentor(2, {"a"}, site="South")]
    plan = plan_program(
        rules(site_rule="other-preferred"),
        mentors,
        [request(1, "a"), request(2, "a")],
        NOW,
    )
    by_mentor = {m.mentor_id: m.score for m in plan.matches}
    assert by_mentor[2] > by_mentor[1]


def test_synonym_topics_match_case_insensitively() -> None:
    synonyms = (frozenset({"SEL", "Social and Emotional Learning"}),)
    mentors = [mentor(1, {"social and emotional learning"})]
    plan = plan_program(rules(synonyms=synonyms), mentors, [request(1, "sel")], NOW)
    assert pairs(plan) == {1: 1}
    assert "synonym" in plan.matches[0].reasons[0]


def test_related_topic_scores_below_exact() -> None:
    related = (frozenset({"algebra", "geometry"}),)
    mentors = [mentor(1, {"geometry"}), mentor(2, {"algebra"})]
    plan = plan_program(rules(related=related), mentors, [request(1, "Algebra")], NOW)
    assert pairs(plan) == {1: 2}


def test_development_plan_uses_different_mentors() -> None:
    mentors = [mentor(i, {"a", "b", "c"}, capacity=3) for i in (1, 2, 3)]
    requests = [request(i, t, mentee=77) for i, t in enumerate("abc", start=1)]
    plan = plan_program(rules(kind="development-plan"), mentors, requests, NOW)
    assert len(plan.matches) == 3
    assert len({m.mentor_id for m in plan.matches}) == 3


def test_development_plan_repeats_mentor_when_unavoidable() -> None:
    mentors = [mentor(1, {"a", "b"}, capacity=3), mentor(2, {"c"}, capacity=3)]
    requests = [request(i, t, mentee=77) for i, t in enumerate("abc", start=1)]
    plan = plan_program(rules(kind="development-plan"), mentors, requests, NOW)
    assert pairs(plan) == {1: 1, 2: 1, 3: 2}


def test_development_plan_prefers_new_mentor_over_score() -> None:
    related = (frozenset({"b", "x"}),)
    mentors = [mentor(1, {"a", "b"}, capacity=3), mentor(2, {"x"}, capacity=3)]
    requests = [request(1, "a", mentee=77), request(2, "b", mentee=77)]
    plan = plan_program(
        rules(kind="development-plan", related=related), mentors, requests, NOW
    )
    assert pairs(plan) == {1: 1, 2: 2}


def test_informational_matches_role_at_other_site() -> None:
    mentors = [
        mentor(1, set(), site="North", title="Principal"),
        mentor(2, set(), site="South", title="principal"),
        mentor(3, set(), site="East", tags=frozenset({"Counselor"})),
    ]
    requests = [
        request(1, "Principal", site="North"),
        request(2, "counselor", site="North"),
    ]
    plan = plan_program(rules(kind="informational"), mentors, requests, NOW)
    assert pairs(plan) == {1: 2, 2: 3}


def test_informational_same_site_only_is_site_rule() -> None:
    mentors = [mentor(1, set(), site="North", title="Principal")]
    plan = plan_program(
        rules(kind="informational"), mentors, [request(1, "Principal")], NOW
    )
    assert [u.reason for u in plan.unmatched] == ["site-rule"]


def test_forced_pair_wins_over_topic() -> None:
    mentors = [mentor(1, {"a"}), mentor(2, {"b"})]
    plan = plan_program(
        rules(forced=frozenset({(1, 2)})), mentors, [request(1, "a")], NOW
    )
    assert pairs(plan) == {1: 2}


def test_forbidden_pair_and_self_are_excluded() -> None:
    mentors = [mentor(5, {"a"}), mentor(6, {"a"})]
    requests = [request(1, "a", mentee=5)]
    plan = plan_program(rules(forbidden=frozenset({(5, 6)})), mentors, requests, NOW)
    assert [u.reason for u in plan.unmatched] == ["excluded"]


# --- time ----------------------------------------------------------------


def test_mentor_without_common_time_is_not_chosen() -> None:
    mentors = [mentor(1, {"a"}, availability=NIGHT), mentor(2, {"a"})]
    plan = plan_program(rules(sessions=3), mentors, [request(1, "a")], NOW)
    assert pairs(plan) == {1: 2}


def test_sessions_never_overlap_for_one_person() -> None:
    narrow = Availability("UTC", "Mon 09:00-11:15")
    mentors = [mentor(1, {"a"}, capacity=3, availability=narrow)]
    requests = [request(i, "a", mentee=50) for i in range(1, 4)]
    plan = plan_program(rules(sessions=3), mentors, requests, NOW)
    sessions = sorted(s.start for m in plan.matches for s in m.sessions)
    assert len(plan.matches) == 3
    assert len(sessions) == len(set(sessions)) == 9
    for first, second in itertools.pairwise(sessions):
        assert second - first >= timedelta(minutes=45)


def test_held_time_is_not_given_away() -> None:
    narrow = Availability("UTC", "Mon 09:00-09:45")
    held = tuple(
        (
            1,
            (
                datetime(2026, 1, 5 + 7 * w, 9, tzinfo=UTC),
                datetime(2026, 1, 5 + 7 * w, 9, 45, tzinfo=UTC),
            ),
        )
        for w in range(4)
    )
    mentors = [mentor(1, {"a"}, availability=narrow)]
    plan = plan_program(rules(held=held), mentors, [request(1, "a")], NOW)
    assert plan.matches[0].sessions[0].start == datetime(2026, 2, 2, 9, tzinfo=UTC)


def test_collision_moves_to_next_option() -> None:
    narrow = Availability("UTC", "Mon 09:00-09:45")
    mentors = [
        mentor(1, {"a"}, availability=narrow),
        mentor(2, {"a"}, availability=narrow),
        mentor(3, {"a"}),
    ]
    requests = [
        request(1, "a", mentee=50, availability=narrow),
        request(2, "a", mentee=50),
    ]
    plan = plan_program(
        rules(sessions=3, window_end=datetime(2026, 1, 24, tzinfo=UTC)),
        mentors,
        requests,
        NOW,
    )
    assert len(plan.matches) == 2
    starts = [s.start for m in plan.matches for s in m.sessions]
    assert len(starts) == len(set(starts))


# --- reasons -------------------------------------------------------------


def test_match_reasons_are_sentences() -> None:
    plan = plan_program(
        rules(),
        [mentor(1, {"classroom management"}, site="North", capacity=3)],
        [request(1, "Classroom Management", site="South")],
        NOW,
    )
    assert plan.matches[0].reasons == (
        "Both work on Classroom Management.",
        "Different sites: North and South.",
        "Mentor has 1 of 3 mentees so far.",
        "First session can be on Mon 5 Jan.",
    )


@pytest.mark.parametrize(
    ("mentors", "program", "reason"),
    [
        ([mentor(1, {"b"})], rules(), "no-mentor-for-topic"),
        ([mentor(1, {"a"}, site="South")], rules(site_rule="same"), "site-rule"),
        ([mentor(1, {"a"})], rules(forbidden=frozenset({(1001, 1)})), "excluded"),
        ([mentor(1, {"a"}, capacity=1, load=1)], rules(), "mentors-full"),
        ([mentor(1, {"a"}, availability=NIGHT)], rules(sessions=3), "no-common-time"),
    ],
)
def test_unmatched_reason(
    mentors: list[Mentor], program: ProgramRules, reason: str
) -> None:
    plan = plan_program(program, mentors, [request(1, "a")], NOW)
    assert [u.reason for u in plan.unmatched] == [reason]
    assert plan.unmatched[0].message.endswith(".")


def test_unmatched_when_others_took_capacity() -> None:
    plan = plan_program(
        rules(), [mentor(1, {"a"})], [request(1, "a"), request(2, "a")], NOW
    )
    assert [u.reason for u in plan.unmatched] == ["mentors-full"]


# --- validation ------------------------------------------------------------


def test_validate_window_ending_before_start() -> None:
    problems = validate_rules(rules(window_end=datetime(2026, 1, 1, tzinfo=UTC)))
    assert any("window_end" in p for p in problems)


def test_validate_sessions_cannot_fit_gap() -> None:
    problems = validate_rules(
        rules(sessions=3, window_end=datetime(2026, 1, 15, tzinfo=UTC))
    )
    assert any("min_days_between" in p for p in problems)


@pytest.mark.parametrize("sessions", [0, 4])
def test_validate_session_count(sessions: int) -> None:
    assert any("sessions" in p for p in validate_rules(rules(sessions=sessions)))


def test_validate_good_rules_have_no_problems() -> None:
    assert validate_rules(rules(sessions=3)) == []


def test_plan_rejects_invalid_rules() -> None:
    with pytest.raises(RulesError, match="sessions"):
        plan_program(rules(sessions=5), [], [], NOW)
