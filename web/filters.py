"""Template filters."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Flask


def local(value: datetime, zone: str, fmt: str = "%a %d %b %Y, %H:%M %Z") -> str:
    """Show a UTC datetime in a person's own zone."""
    return value.astimezone(ZoneInfo(zone)).strftime(fmt)


def register(app: Flask) -> None:
    app.add_template_filter(local, "local")
