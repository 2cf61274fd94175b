"""Huey tasks on SQLite (the embedded default) and on Redis."""

from __future__ import annotations

import random

import pytest
import redis
from flask import Flask
from huey import RedisHuey, SqliteHuey

from config import load_settings
from tests.web.factories import booked_series
from web.extensions import db
from web.models import OutboxMessage
from web.outbox import queue_mail
from web.tasks import make_huey

REDIS_URL = "redis://127.0.0.1:6379"


def queue_two_messages() -> None:
    """Put two messages in the outbox without delivering them."""
    series = booked_series(sessions=1)
    for person in (series.mentor, series.mentee):
        queue_mail(
            "fresh-link",
            "task-test",
            person,
            "Your new Torace link",
            "fresh_link",
            url="http://127.0.0.1:5000/",
        )
    db.session.commit()


def pending() -> int:
    query = db.select(OutboxMessage).filter_by(status="pending")
    return len(db.session.scalars(query).all())


def run_one_task(huey) -> object:  # type: ignore[no-untyped-def]
    """Take the next task off the queue and run it, as a worker would."""
    task = huey.dequeue()
    assert task is not None
    return huey.execute(task)


def test_outbox_task_runs_from_the_sqlite_queue(app: Flask) -> None:
    settings = load_settings(
        {}, {**app.config["TORACE"].__dict__, "huey_immediate": False}
    )
    queue = make_huey(settings)
    queue_two_messages()
    before = pending()

    assert isinstance(queue.huey, SqliteHuey)
    queue.deliver_outbox()
    counts = run_one_task(queue.huey)

    assert before == 2
    assert pending() == 0
    assert counts["sent"] == 2  # type: ignore[index]


def test_outbox_task_runs_from_redis(app: Flask) -> None:
    database = random.randint(1, 15)
    url = f"{REDIS_URL}/{database}"
    try:
        redis.Redis.from_url(url).ping()
    except redis.ConnectionError:
        pytest.fail(
            f"Redis is not running at {REDIS_URL}; start it (see scripts/test.sh)"
        )
    settings = load_settings(
        {}, {**app.config["TORACE"].__dict__, "huey_immediate": False, "redis_url": url}
    )
    queue = make_huey(settings)
    queue.huey.flush()
    queue_two_messages()

    assert isinstance(queue.huey, RedisHuey)
    queue.deliver_outbox()
    run_one_task(queue.huey)

    assert pending() == 0
    queue.huey.flush()
