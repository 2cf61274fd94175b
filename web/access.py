"""What an administrator may see and act on: every program, or only theirs.

An organisation-wide administrator manages every program. A program
administrator manages only the programs linked to their account, on every
admin page and in every command run with ``--as EMAIL``.

The outbox has no program column, so a program administrator sees a message
when its recipient is a member or an administrator of one of their
programs. A person in two programs shows up for the administrators of both.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Select, or_

from web.extensions import db
from web.models import (
    Admin,
    Membership,
    OutboxMessage,
    Person,
    Program,
    ProgramAdmin,
)


class NotPermitted(Exception):
    """The administrator may not act on this program."""


def admin_by_email(email: str) -> Admin | None:
    """The administrator account for ``email``, compared case-insensitively."""
    return db.session.scalar(db.select(Admin).filter_by(email=email.strip().lower()))


def managed_programs(admin: Admin) -> list[Program]:
    """The programs ``admin`` manages, by name."""
    query = db.select(Program).order_by(Program.name)
    if not admin.organisation_wide:
        query = query.join(ProgramAdmin, ProgramAdmin.program_id == Program.id)
        query = query.filter(ProgramAdmin.admin_id == admin.id)
    return list(db.session.scalars(query))


def check_program(admin: Admin | None, program: Program) -> None:
    """Raise NotPermitted unless ``admin`` is None (no scope) or manages it."""
    if admin is None or admin.can_manage(program):
        return
    raise NotPermitted(
        f"administrator {admin.email} does not manage program {program.slug!r}"
    )


def outbox_query(admin: Admin) -> Select[tuple[OutboxMessage]]:
    """The outbox rows ``admin`` may see, newest first."""
    query = db.select(OutboxMessage).order_by(OutboxMessage.id.desc())
    if admin.organisation_wide:
        return query
    ids = [p.id for p in admin.programs]
    return query.filter(or_(*_recipient_filters(ids, admin.email)))


def _recipient_filters(program_ids: Sequence[int], own_email: str) -> list:
    members = (
        db.select(Person.email)
        .join(Membership, Membership.person_id == Person.id)
        .filter(Membership.program_id.in_(program_ids))
    )
    admins = (
        db.select(Admin.email)
        .join(ProgramAdmin, ProgramAdmin.admin_id == Admin.id)
        .filter(ProgramAdmin.program_id.in_(program_ids))
    )
    return [
        OutboxMessage.recipient.in_(members),
        OutboxMessage.recipient.in_(admins),
        OutboxMessage.recipient == own_email,
    ]


def program_admins(program: Program) -> list[Admin]:
    """The administrators of ``program``, or the organisation-wide ones if none."""
    own = list(
        db.session.scalars(
            db.select(Admin)
            .join(ProgramAdmin, ProgramAdmin.admin_id == Admin.id)
            .filter(ProgramAdmin.program_id == program.id)
            .order_by(Admin.email)
        )
    )
    if own:
        return own
    return list(
        db.session.scalars(
            db.select(Admin).filter_by(organisation_wide=True).order_by(Admin.email)
        )
    )
