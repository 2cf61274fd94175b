"""Rate limits on signed-link endpoints, per client address and per token."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.web.factories import booked_series
from web.booking import approve, participant_links
from web.ratelimit import FixedWindow


@pytest.fixture
def links(app: Flask) -> dict[str, str]:
    series = booked_series(sessions=1)
    approve([series], "admin")
    urls = participant_links(series, series.mentee, series.sessions[0])
    return {name: urlsplit(url).path for name, url in urls.items()}


def limit(app: Flask, address: tuple[int, int], token: tuple[int, int]) -> None:
    app.config["LINK_RATE_LIMITS"] = {"address": address, "token": token}
    app.extensions.pop("torace.link_limiter", None)


def test_token_over_its_limit_gets_429_with_retry_after(
    app: Flask, client: FlaskClient, links: dict[str, str]
) -> None:
    limit(app, address=(100, 60), token=(3, 60))

    codes = [client.get(links["confirm"]).status_code for _ in range(4)]
    response = client.get(links["confirm"])

    assert codes == [200, 200, 200, 429]
    assert 1 <= int(response.headers["Retry-After"]) <= 60
    assert b"Too many requests" in response.data


def test_other_token_is_counted_apart(
    app: Flask, client: FlaskClient, links: dict[str, str]
) -> None:
    limit(app, address=(100, 60), token=(2, 60))
    for _ in range(3):
        client.get(links["confirm"])

    assert client.get(links["decline"]).status_code == 200


def test_address_over_its_limit_gets_429_on_any_token(
    app: Flask, client: FlaskClient, links: dict[str, str]
) -> None:
    limit(app, address=(3, 60), token=(100, 60))

    codes = [client.get(path).status_code for path in links.values()]

    assert codes == [200, 200, 200, 429]


def test_other_address_is_counted_apart(
    app: Flask, client: FlaskClient, links: dict[str, str]
) -> None:
    limit(app, address=(1, 60), token=(100, 60))
    client.get(links["confirm"])

    response = client.get(
        links["confirm"], environ_overrides={"REMOTE_ADDR": "127.0.0.2"}
    )

    assert response.status_code == 200


def test_fixed_window_resets_at_the_next_window() -> None:
    now = [119.0]
    window = FixedWindow("token", 2, 60, clock=lambda: now[0])

    results = [window.hit("a"), window.hit("a"), window.hit("a")]
    now[0] = 120.0
    after = window.hit("a")

    assert results[:2] == [None, None]
    assert results[2] == pytest.approx(1.0)
    assert after is None


def test_rejected_post_over_limit_changes_nothing(
    app: Flask, client: FlaskClient, links: dict[str, str]
) -> None:
    from tests.web.snapshot import snapshot

    limit(app, address=(100, 60), token=(1, 60))
    client.get(links["confirm"])
    before = snapshot()

    response = client.post(links["confirm"])

    assert response.status_code == 429
    assert snapshot() == before
