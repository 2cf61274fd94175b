"""Feedback on sessions: saving answers, follow-up wishes, and exporting them."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from web.audit import record
from web.csv_export import to_csv
from web.extensions import db
from web.models import Feedback, FollowUp, MentoringSession, Person, Program, Series
from web.models.types import utcnow

log = logging.getLogger(__name__)

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
    if answer.keep_meeting:
        ask_to_keep_meeting(session.series, person)
    db.session.commit()
    return True


def ask_to_keep_meeting(series: Series, person: Person) -> FollowUp:
    """Add the follow-up wish of ``person`` for ``series`` unless it exists."""
    existing = db.session.scalar(
        db.select(FollowUp).filter_by(series_id=series.id, person_id=person.id)
    )
    if existing is not None:
        return existing
    wish = FollowUp(series=series, person=person, status="open")
    db.session.add(wish)
    db.session.flush()
    record(
        f"{series.role_of(person.id)}:{person.email}",
        "followup.requested",
        wish,
        program_id=series.program_id,
        series_id=series.id,
    )
    log.info("follow-up wish %d for series %d", wish.id, series.id)
    return wish


def comments_visible(program: Program) -> bool:
    """True when participants may read each other's feedback comments."""
    return bool(program.options.get("comments_visible", False))


def page_values(session: MentoringSession, person: Person) -> dict[str, Any]:
    """The values the feedback page shows ``person``: their answer, maybe the other's.

    The other participant's answer is shown only when the program allows it;
    otherwise comments stay with the administrators.
    """
    series = session.series
    visible = comments_visible(series.program)
    other_id = series.mentee_id if person.id == series.mentor_id else series.mentor_id
    other = db.session.get(Person, other_id) if visible else None
    return {
        "answer": _answer(session, person),
        "comments_visible": visible,
        "other": other,
        "other_answer": _answer(session, other) if other is not None else None,
    }


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
    return to_csv(EXPORT_COLUMNS, (_export_row(program, answer) for answer in rows))


def _export_row(program: Program, answer: Feedback) -> list[object]:
    session = answer.session
    series = session.series
    return [
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
        _yes_no(answer.keep_meeting),
        answer.updated_at.isoformat(),
    ]


def _yes_no(value: bool | None) -> str:
    if value is None:
        return ""
    return "yes" if value else "no"
