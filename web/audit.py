"""Recording who or what changed something."""

from __future__ import annotations

from typing import Any

from web.extensions import db
from web.models import AuditEvent


def record(
    actor: str,
    action: str,
    obj: Any,
    *,
    program_id: int | None = None,
    **detail: Any,
) -> AuditEvent:
    """Add an audit event for ``obj`` to the current transaction."""
    event = AuditEvent(
        actor=actor,
        action=action,
        object_type=type(obj).__name__.lower(),
        object_id=getattr(obj, "id", None),
        program_id=program_id
        if program_id is not None
        else getattr(obj, "program_id", None),
        detail=detail,
    )
    db.session.add(event)
    return event
