"""Helpers shared by the command-line modules."""

from __future__ import annotations

from datetime import UTC, datetime

import click

from web.extensions import db
from web.models import Program


def parse_instant(value: str | None, option: str) -> datetime | None:
    """Read an ISO 8601 time; a value without an offset is taken as UTC."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not an ISO 8601 time; write it like 2027-01-11T09:00:00Z",
            param_hint=option,
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def program_by_slug(slug: str) -> Program:
    """The program ``slug``, or a usage error listing the loaded ones."""
    program = db.session.scalar(db.select(Program).filter_by(slug=slug))
    if program is None:
        slugs = ", ".join(db.session.scalars(db.select(Program.slug))) or "none yet"
        raise click.ClickException(
            f"no program {slug!r}; loaded programs: {slugs}. "
            "Load one with `torace program load FILE.toml`."
        )
    return program
