"""The states of a series and of its sessions, and the moves between them."""

from __future__ import annotations

from typing import Any

from web.audit import record
from web.models import MentoringSession, Series

TRANSITIONS: dict[str, frozenset[str]] = {
    "planned": frozenset({"pending-approval", "cancelled"}),
    "pending-approval": frozenset({"approved", "cancelled", "planned"}),
    "approved": frozenset({"invited", "cancelled"}),
    "invited": frozenset(
        {"confirmed", "declined", "rescheduled", "cancelled", "completed"}
    ),
    "confirmed": frozenset({"rescheduled", "cancelled", "completed", "declined"}),
    "rescheduled": frozenset(
        {"confirmed", "declined", "cancelled", "completed", "rescheduled"}
    ),
    "declined": frozenset(),
    "cancelled": frozenset(),
    "completed": frozenset(),
}
"""Allowed moves; a series and each of its sessions follow the same table."""
ACTIVE = frozenset(
    {"planned", "pending-approval", "approved", "invited", "confirmed", "rescheduled"}
)
"""States in which a session holds its time."""


class TransitionError(ValueError):
    """A move the state machine does not allow."""


def move_series(series: Series, status: str, actor: str, **detail: Any) -> None:
    """Move ``series`` to ``status``, raise its version and audit the move."""
    _check(TRANSITIONS, "series", series.id, series.status, status)
    record(actor, f"series.{status}", series, previous=series.status, **detail)
    series.status = status
    series.version += 1


def move_session(
    session: MentoringSession, status: str, actor: str, **detail: Any
) -> None:
    """Move ``session`` to ``status`` and audit the move."""
    _check(TRANSITIONS, "session", session.id, session.status, status)
    record(
        actor,
        f"session.{status}",
        session,
        program_id=session.series.program_id,
        previous=session.status,
        **detail,
    )
    session.status = status


def _check(
    table: dict[str, frozenset[str]], what: str, ident: int, old: str, new: str
) -> None:
    if new not in table.get(old, frozenset()):
        raise TransitionError(f"{what} {ident} cannot go from {old} to {new}")
