"""Rows for tests that start from a booked series rather than a matching run."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

from web.extensions import db
from web.models import (
    Match,
    Membership,
    MentoringSession,
    Person,
    Program,
    Request,
    Series,
    Topic,
)

FIRST_SESSION = datetime(2027, 1, 12, 15, 0, tzinfo=UTC)


def make_program(slug: str = "pilot", **values: object) -> Program:
    program = Program(
        slug=slug,
        name=f"Program {slug}",
        kind="intervention",
        sessions=3,
        session_minutes=45,
        window_start=date(2027, 1, 11),
        window_end=date(2027, 2, 19),
        hours="Mon-Fri 08:00-17:00",
        min_notice_hours=24,
        mentor_capacity=3,
        approval="required",
        site_rule="any",
        options={},
        **values,
    )
    program.topics.append(Topic(name="literacy coaching"))
    db.session.add(program)
    db.session.flush()
    return program


def make_person(
    email: str, site: str = "North", zone: str = "America/Chicago"
) -> Person:
    person = Person(
        email=email, name=email.split("@")[0].title(), site=site, timezone=zone
    )
    db.session.add(person)
    db.session.flush()
    return person


def make_series(
    program: Program,
    mentor: Person,
    mentee: Person,
    sessions: int = 3,
    status: str = "pending-approval",
) -> Series:
    """Weekly 45-minute sessions from FIRST_SESSION, stored as matching does."""
    for person, role in ((mentor, "mentor"), (mentee, "mentee")):
        if (
            db.session.scalar(
                db.select(Membership).filter_by(
                    program_id=program.id, person_id=person.id
                )
            )
            is None
        ):
            db.session.add(
                Membership(
                    program=program,
                    person=person,
                    role=role,
                    offers=["literacy coaching"],
                )
            )
    request = Request(
        program=program, mentee=mentee, topic=program.topics[0], status="matched"
    )
    match = Match(
        program_id=program.id,
        request=request,
        mentor_id=mentor.id,
        score=1.0,
        reasons=["Both work on literacy coaching."],
    )
    series = Series(
        program=program,
        match=match,
        mentor_id=mentor.id,
        mentee_id=mentee.id,
        status=status,
    )
    for position in range(1, sessions + 1):
        start = FIRST_SESSION + timedelta(weeks=position - 1)
        series.sessions.append(
            MentoringSession(
                position=position,
                start=start,
                end=start + timedelta(minutes=45),
                status=status,
                uid=f"{uuid.uuid4()}@torace",
            )
        )
    db.session.add(series)
    db.session.commit()
    return series


def booked_series(sessions: int = 3) -> Series:
    program = make_program()
    return make_series(
        program,
        make_person("mentor@example.org"),
        make_person("mentee@example.org", site="South"),
        sessions,
    )


def held(series: Series) -> Series:
    """Mark every session of an approved series as having taken place."""
    for session in series.sessions:
        session.status = "completed"
    db.session.commit()
    return series


def add_mentor(program: Program, email: str) -> Person:
    """Another mentor in ``program`` offering its first topic."""
    mentor = make_person(email)
    db.session.add(
        Membership(
            program=program,
            person=mentor,
            role="mentor",
            offers=[program.topics[0].name],
        )
    )
    db.session.commit()
    return mentor
