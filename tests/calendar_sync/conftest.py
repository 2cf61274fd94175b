"""Fixtures for the calendar adapters: loopback servers with temporary storage."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .cases import CALENDARS
from .http_server import FeedServer, serve_folder
from .servers import CalDAVServer, start_radicale, start_xandikos


@pytest.fixture(scope="session")
def radicale(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CalDAVServer]:
    """A Radicale server on a free loopback port, storing into a temporary folder."""
    server = start_radicale(tmp_path_factory.mktemp("radicale"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def xandikos(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CalDAVServer]:
    """A Xandikos server on a free loopback port, storing into a temporary folder."""
    server = start_xandikos(tmp_path_factory.mktemp("xandikos"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def feed_server() -> Iterator[FeedServer]:
    """A loopback HTTP server serving the calendar fixtures as feeds."""
    with serve_folder(CALENDARS) as server:
        yield server
