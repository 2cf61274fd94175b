"""Feedback on sessions: saving answers and exporting them."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping

from web.extensions import db
from web.models import Feedback, MentoringSession, Person, Program, Series
from web.models.types import utcnow

RATINGS = range(1, 6)


def save_rating(session: MentoringSession, person: Person, rating: int) -> bool:
    """Record a one-click rating; return False if it was already that rating."""
    if rating not in RATINGS:
        raise ValueError(f"rating {rating} is outside 1 to 5")
    answer = _answer(session, person)
    if answer is not None and answer.rating == rating:
        return False
    if answer is None:
        answer = Feedback(session=session, person=person, rating=rating)
        db.session.add(answer)
    answer.rating, answer.updated_at = rating, utcnow()
    db.session.commit()
    return True


def save_from_form(
    session: MentoringSession, person: Person, form: Mapping[str, str]
) -> bool:
    """Save the full feedback form; a second answer replaces the first."""
    try:
        rating = int(form.get("rating", ""))
    except ValueError:
        return False
    if rating not in RATINGS:
        return False
    answer = _answer(session, person)
    if answer is None:
        answer = Feedback(session=session, person=person, rating=rating)
        db.session.add(answer)
    keep = form.get("keep_meeting")
    answer.rating = rating
    answer.helped = form.get("helped", "")[:2000]
    answer.comment = form.get("comment", "")[:4000]
    answer.keep_meeting = None if keep in (None, "") else keep == "yes"
    answer.updated_at = utcnow()
    db.session.commit()
    return True


def _answer(session: MentoringSession, person: Person) -> Feedback | None:
    return db.session.scalar(
        db.select(Feedback).filter_by(session_id=session.id, person_id=person.id)
    )


EXPORT_COLUMNS = (
    "program",
    "series",
    "session",
    "session_start",
    "person_email",
    "person_name",
    "role",
    "rating",
    "helped",
    "comment",
    "keep_meeting",
    "submitted_at",
)


def export_csv(program: Program) -> str:
    """Every feedback answer of ``program`` as CSV text, oldest first."""
    rows = db.session.scalars(
        db.select(Feedback)
        .join(Feedback.session)
        .join(MentoringSession.series)
        .filter(Series.program_id == program.id)
        .order_by(MentoringSession.start, Feedback.id)
    )
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(EXPORT_COLUMNS)
    for answer in rows:
        session = answer.session
        series = session.series
        writer.writerow(
            [
                program.slug,
                series.id,
                session.id,
                session.start.isoformat(),
                answer.person.email,
                answer.person.name,
                series.role_of(answer.person_id),
                answer.rating,
                answer.helped,
                answer.comment,
                ""
                if answer.keep_meeting is None
                else ("yes" if answer.keep_meeting else "no"),
                answer.updated_at.isoformat(),
            ]
        )
    return out.getvalue()
