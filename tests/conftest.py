"""Fixtures shared by the whole suite.

The database tests run on SQLite by default and on PostgreSQL when
``TORACE_TEST_DATABASE_URL`` names one; both build the schema with the
Alembic migrations, never ``create_all``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import create_engine, text

from config import load_settings
from web.app import MIGRATIONS, create_app
from web.extensions import db

POSTGRES_URL = os.environ.get("TORACE_TEST_DATABASE_URL", "")
TEST_KEY = "test-secret-key-for-links-only"


@pytest.fixture(scope="session")
def postgres_schema() -> Iterator[str]:
    """A fresh PostgreSQL schema for this test run, migrated once."""
    if not POSTGRES_URL:
        yield ""
        return
    engine = create_engine(POSTGRES_URL)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    app = create_app(
        load_settings(
            {},
            {
                "env": "testing",
                "database_url": POSTGRES_URL,
                "secret_keys": (TEST_KEY,),
            },
        )
    )
    with app.app_context():
        upgrade(directory=str(MIGRATIONS))
    yield POSTGRES_URL


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


def _truncate_all() -> None:
    tables = ", ".join(t.name for t in db.metadata.sorted_tables)
    with db.engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()
