"""Background work on Huey: SQLite by default, Redis when configured.

Huey is built by :func:`make_huey` from the settings rather than at import
time, so importing this module opens no database and no connection.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from huey import Huey, RedisHuey, SqliteHuey, crontab

from config import Settings

log = logging.getLogger(__name__)
_APP: Any = None


@dataclass(frozen=True)
class TaskQueue:
    """The Huey instance with Torace's tasks registered on it."""

    huey: Huey
    deliver_outbox: Any
    write_calendars: Any
    periodic_due: Any
    periodic_sync: Any = None


def make_huey(settings: Settings) -> TaskQueue:
    """Build the Huey instance and register Torace's tasks on it."""
    if settings.redis_url:
        huey: Huey = RedisHuey(
            "torace", url=settings.redis_url, immediate=settings.huey_immediate
        )
    else:
        settings.instance_path.mkdir(parents=True, exist_ok=True)
        huey = SqliteHuey(
            "torace",
            filename=str(settings.instance_path / "huey.db"),
            immediate=settings.huey_immediate,
        )

    @huey.task(retries=5, retry_delay=30)
    def deliver_outbox() -> dict[str, int]:
        from web.outbox import deliver_pending

        with _app_context():
            return deliver_pending()

    @huey.task(retries=5, retry_delay=60)
    def write_calendars() -> dict[str, int]:
        from web.calendar_writes import write_pending

        with _app_context():
            return write_pending()

    @huey.periodic_task(crontab(minute="*/5"))
    def periodic_due() -> dict[str, int]:
        from web.due import run_due

        with _app_context():
            return run_due(datetime.now(UTC))

    # Every 10 minutes, so synced busy blocks stay within the 15 minutes in
    # which availability reads them instead of reading calendars live.
    @huey.periodic_task(crontab(minute="*/10"))
    def periodic_sync() -> dict[str, object]:
        from web.sync import sync_all

        with _app_context():
            return sync_all(datetime.now(UTC)).as_dict()

    return TaskQueue(huey, deliver_outbox, write_calendars, periodic_due, periodic_sync)


def _app_context() -> Any:
    """An app context for a task running in the Huey consumer process."""
    from flask import current_app, has_app_context

    if has_app_context():
        return current_app.app_context()
    global _APP
    if _APP is None:
        from web.app import create_app

        _APP = create_app()
    return _APP.app_context()
