"""Fixtures shared by the whole suite.

The database tests run on SQLite by default and on PostgreSQL when
``TORACE_TEST_DATABASE_URL`` names one; both build the schema with the
Alembic migrations, never ``create_all``.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import create_engine, make_url, text

from config import load_settings
from web.app import MIGRATIONS, create_app
from web.extensions import db

POSTGRES_URL = os.environ.get("TORACE_TEST_DATABASE_URL", "")
TEST_KEY = "test-secret-key-for-links-only"


@pytest.fixture(scope="session")
def postgres_schema() -> Iterator[str]:
    """A PostgreSQL database of this test run's own, migrated once.

    Each run creates its own database next to the one named by
    ``TORACE_TEST_DATABASE_URL``, so runs side by side never share tables.
    """
    if not POSTGRES_URL:
        yield ""
        return
    name = f"torace_test_{os.getpid()}_{secrets.token_hex(3)}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = (
        make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    )
    app = create_app(
        load_settings(
            {},
            {"env": "testing", "database_url": url, "secret_keys": (TEST_KEY,)},
        )
    )
    with app.app_context():
        upgrade(directory=str(MIGRATIONS))
        db.engine.dispose()
    yield url
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def app(tmp_path: Path, postgres_schema: str) -> Iterator[Flask]:
    """An app on a freshly migrated database, with mail written under tmp_path."""
    overrides = {
        "env": "testing",
        "instance_path": tmp_path / "instance",
        "secret_keys": (TEST_KEY,),
        "base_url": "http://127.0.0.1:5000",
        "huey_immediate": True,
    }
    if postgres_schema:
        overrides["database_url"] = postgres_schema
    settings = load_settings({}, overrides)
    settings.instance_path.mkdir(parents=True)
    app = create_app(settings)
    with app.app_context():
        if not postgres_schema:
            upgrade(directory=str(MIGRATIONS))
        yield app
        db.session.remove()
        if postgres_schema:
            _truncate_all()
        db.engine.dispose()


def _truncate_all() -> None:
    tables = ", ".join(t.name for t in db.metadata.sorted_tables)
    with db.engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()
