"""The application factory."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.routing import IntegerConverter, Map

from config import Settings, load_settings
from web.extensions import csrf, db, login_manager, migrate

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(
    settings: Settings | None = None, overrides: dict[str, Any] | None = None
) -> Flask:
    """Build the Flask app from ``settings`` (default: the environment)."""
    settings = settings or load_settings(overrides=overrides)
    app = Flask(__name__, instance_path=str(settings.instance_path.resolve()))
    app.config.update(
        TORACE=settings,
        SECRET_KEY=settings.secret_key,
        SECRET_KEY_FALLBACKS=list(settings.secret_keys[:-1]),
        SQLALCHEMY_DATABASE_URI=settings.resolved_database_url,
        SQLALCHEMY_ENGINE_OPTIONS=_engine_options(settings.resolved_database_url),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.base_url.startswith("https://"),
        WTF_CSRF_TIME_LIMIT=None,
        TESTING=settings.env == "testing",
    )

    db.init_app(app)
    migrate.init_app(app, db, directory=str(MIGRATIONS), render_as_batch=True)
    csrf.init_app(app)
    login_manager.init_app(app)

    from web import filters, holds, tasks
    from web.views import admin, errors, links, participants, reports
    from web.views import calendars as calendar_views
    from web.views import speed as speed_views

    app.extensions["torace.tasks"] = tasks.make_huey(settings)
    app.url_map.converters["int"] = DatabaseId
    app.register_blueprint(admin.bp)
    app.register_blueprint(links.bp)
    app.register_blueprint(calendar_views.bp)
    app.register_blueprint(speed_views.bp)
    app.register_blueprint(participants.bp)
    app.register_blueprint(reports.bp)
    errors.register(app)
    filters.register(app)
    holds.register()
    return app


class DatabaseId(IntegerConverter):
    """An ``<int:...>`` URL part that fits the database's integer ids.

    A larger number cannot name a row, and PostgreSQL would reject it with
    an error, so such a URL is simply not found.
    """

    def __init__(self, url_map: Map, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(url_map, *args, **kwargs)


def _engine_options(url: str) -> dict[str, Any]:
    if url.startswith("sqlite"):
        # A second writer waits for the lock instead of failing at once.
        return {"connect_args": {"timeout": 30}}
    return {"pool_pre_ping": True}


def configure_logging(level: int = logging.INFO) -> None:
    """Set up plain logging for the command line, before any app exists."""
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
