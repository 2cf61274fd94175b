"""Fuzzing signed links: no altered, re-signed or misdirected token is accepted."""

from __future__ import annotations

import random
import string
from collections.abc import Callable, Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from itsdangerous import URLSafeTimedSerializer

from tests.conftest import TEST_KEY
from tests.web.factories import booked_series
from tests.web.snapshot import snapshot
from web.booking import approve
from web.links import (
    MAX_AGE,
    LinkClaim,
    LinkExpired,
    LinkInvalid,
    make_token,
    read_token,
)
from web.models import Series

ALPHABET = string.ascii_letters + string.digits + "-_"
JUNK = ALPHABET + ".!*~%$=+/ é"
CASES_PER_KIND = 1500
PURPOSES = sorted(MAX_AGE)


def genuine(purpose: str, seed: int) -> str:
    return make_token(LinkClaim(purpose, seed % 97 + 1, seed % 89 + 1, f"v{seed}"))


def flip(rng: random.Random, token: str) -> str:
    # Only characters inside a segment, never its last one: the spare bits
    # of a segment's last base64 character make some flips no change at all.
    positions = [
        i
        for i in range(len(token) - 1)
        if token[i] != "." and token[i + 1] != "." and i + 1 < len(token) - 1
    ]
    i = rng.choice(positions)
    new = rng.choice([c for c in JUNK if c != token[i]])
    return token[:i] + new + token[i + 1 :]


def truncate(rng: random.Random, token: str) -> str:
    return token[: rng.randrange(0, len(token) - 1)]


def insert(rng: random.Random, token: str) -> str:
    i = rng.randrange(0, len(token) + 1)
    return token[:i] + rng.choice(JUNK) + token[i:]


def delete(rng: random.Random, token: str) -> str:
    i = rng.randrange(0, len(token))
    return token[:i] + token[i + 1 :]


def resign(rng: random.Random, purpose: str) -> str:
    """The genuine payload and salt, signed with a key Torace does not hold."""
    other = f"not-the-key-{rng.randrange(10**9)}"
    serializer = URLSafeTimedSerializer(other, salt=f"torace.link.{purpose}")
    return serializer.dumps({"p": 1, "o": 1, "f": "v1"})


def bad_shape(rng: random.Random, purpose: str) -> str:
    """The right key and salt around a payload that names no person and object."""
    shapes: list[object] = [
        [1, 1],
        "p=1",
        {"p": "1", "o": 1},
        {"p": 1},
        {"p": True, "o": 1},
        {"p": 1, "o": 1.0},
        {"p": 1, "o": 1, "f": 7},
        {"p": 1, "o": 1, "x": ["5"]},
        None,
    ]
    serializer = URLSafeTimedSerializer(TEST_KEY, salt=f"torace.link.{purpose}")
    return serializer.dumps(rng.choice(shapes))


def garbage(rng: random.Random) -> str:
    return "".join(rng.choice(JUNK) for _ in range(rng.randrange(0, 120)))


Case = tuple[str, str]
"""The purpose the token is read for, and the token."""


def mutated_cases(rng: random.Random) -> Iterator[Case]:
    mutations: list[Callable[[random.Random, str], str]] = [
        flip,
        truncate,
        insert,
        delete,
    ]
    for n in range(CASES_PER_KIND * len(mutations)):
        purpose = PURPOSES[n % len(PURPOSES)]
        token = genuine(purpose, n)
        mutated = mutations[n % len(mutations)](rng, token)
        if mutated != token:
            yield purpose, mutated


def other_cases(rng: random.Random) -> Iterator[Case]:
    for n in range(CASES_PER_KIND):
        purpose = PURPOSES[n % len(PURPOSES)]
        wrong = PURPOSES[(n + 1 + n % (len(PURPOSES) - 1)) % len(PURPOSES)]
        yield wrong, genuine(purpose, n)
        yield purpose, resign(rng, purpose)
        yield purpose, bad_shape(rng, purpose)
        yield purpose, garbage(rng)


def all_cases() -> list[Case]:
    rng = random.Random(8058)
    return [*mutated_cases(rng), *other_cases(rng)]


def test_read_token_accepts_no_fuzzed_token(app: Flask) -> None:
    cases = all_cases()
    accepted = []

    for purpose, token in cases:
        try:
            claim = read_token(purpose, token)
        except (LinkInvalid, LinkExpired):
            continue
        accepted.append((purpose, token, claim))

    assert len(cases) >= 10_000
    assert accepted == []


def test_wrong_purpose_is_invalid_not_expired(app: Flask) -> None:
    token = genuine("confirm", 3)

    with pytest.raises(LinkInvalid):
        read_token("decline", token)


def test_genuine_tokens_still_read(app: Flask) -> None:
    for n, purpose in enumerate(PURPOSES):
        claim = read_token(purpose, genuine(purpose, n))
        assert (claim.person_id, claim.object_id) == (n % 97 + 1, n % 89 + 1)


@pytest.fixture
def series(app: Flask) -> Series:
    series = booked_series(sessions=1)
    approve([series], "admin")
    app.config["LINK_RATE_LIMITS"] = {"address": (10**6, 60), "token": (10**6, 60)}
    app.extensions.pop("torace.link_limiter", None)
    return series


def test_http_sample_of_fuzzed_tokens_changes_nothing(
    series: Series, client: FlaskClient
) -> None:
    rng = random.Random(2024)
    sample = rng.sample(all_cases(), 400)
    before = snapshot()
    answers = set()

    for n, (purpose, token) in enumerate(sample):
        path = f"/l/{purpose}/{token}"
        response = client.post(path) if n % 2 else client.get(path)
        answers.add(response.status_code)

    assert answers <= {404, 405, 308}
    assert snapshot() == before
