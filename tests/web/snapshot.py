"""A full copy of the database's rows, to show that a request changed nothing."""

from __future__ import annotations

from typing import Any

from web.extensions import db


def snapshot() -> dict[str, list[tuple[Any, ...]]]:
    db.session.expire_all()
    rows = {}
    with db.engine.connect() as connection:
        for table in db.metadata.sorted_tables:
            result = connection.execute(table.select().order_by(*table.primary_key))
            rows[table.name] = [tuple(row) for row in result]
    return rows
