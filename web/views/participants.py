"""What mentors and mentees do through their own links.

The functions here are the actions and page values of the ``my-mentoring``,
``request``, ``volunteer`` and ``preferences`` link purposes; the dispatch
in ``web.views.links`` calls them. Each POST validates all of its input
before it changes anything, so a rejected form stores nothing.
"""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

from flask import Blueprint, current_app, request, url_for
from sqlalchemy.exc import IntegrityError

from matching.hours import HoursError, parse_day_windows, parse_hours
from web.audit import record
from web.booking import participant_links
from web.extensions import db
from web.links import MAX_AGE, LinkClaim, LinkRejected, link_url, make_token
from web.models import (
    DateOverride,
    Membership,
    MentoringSession,
    Person,
    Program,
    Request,
    Series,
    Topic,
)
from web.models.types import utcnow
from web.states import ACTIVE

bp = Blueprint("participants", __name__)
log = logging.getLogger(__name__)

MAX_CAPACITY = 50
MAX_MONTHLY = 200
MAX_NOTE = 2000
MULTI_TOPIC_KINDS = ("development-plan",)


@bp.app_template_global()
def mentor_page_url(person: object) -> str:
    """Return the self-service link of ``person`` if they mentor anywhere, else ""."""
    # Administrators get mail through the same templates; their ids are
    # not person ids.
    if not isinstance(person, Person):
        return ""
    mentors = db.session.scalar(
        db.select(db.func.count(Membership.id)).filter(
            Membership.person_id == person.id,
            Membership.role.in_(("mentor", "both")),
        )
    )
    if not mentors:
        return ""
    return link_url("my-mentoring", person.id, person.id)


@bp.app_template_global()
def preferences_url(person: Person) -> str:
    """Return the link to the email preferences page of ``person``."""
    return link_url("preferences", person.id, person.id)


def _actor(person: Person) -> str:
    return f"link:{person.email}"


# Email preferences


def save_preferences(target: Person, person: Person, claim: LinkClaim) -> bool:
    """Turn non-essential mail on or off for the link's own person."""
    choice = request.form.get("mail", "")
    if choice not in ("all", "essential"):
        raise LinkRejected("Choose whether you want reminders and calls.")
    unsubscribed = choice == "essential"
    if target.unsubscribed == unsubscribed:
        return False
    target.unsubscribed = unsubscribed
    return True


# The mentor's self-service page


def mentor_memberships(person: Person) -> list[Membership]:
    """Return the memberships in which ``person`` mentors, by program name."""
    return list(
        db.session.scalars(
            db.select(Membership)
            .join(Membership.program)
            .filter(
                Membership.person_id == person.id,
                Membership.role.in_(("mentor", "both")),
            )
            .order_by(Program.name)
        )
    )


def upcoming_sessions(person: Person) -> list[tuple[MentoringSession, dict[str, str]]]:
    """Active sessions of ``person`` still to come, with fresh links for each."""
    sessions = db.session.scalars(
        db.select(MentoringSession)
        .join(MentoringSession.series)
        .filter(
            (Series.mentor_id == person.id) | (Series.mentee_id == person.id),
            MentoringSession.status.in_(ACTIVE),
            MentoringSession.start > utcnow(),
        )
        .order_by(MentoringSession.start)
    ).all()
    booked = ("invited", "confirmed", "rescheduled")
    return [
        (s, participant_links(s.series, person, s) if s.status in booked else {})
        for s in sessions
    ]


def connect_url(person: Person) -> str:
    """Return the calendar connection page of ``person``, or "" without one."""
    if "calendars.connect_page" not in current_app.view_functions:
        return ""
    if "connect" not in MAX_AGE:
        return ""
    token = make_token(LinkClaim("connect", person.id, person.id, ""))
    return url_for("calendars.connect_page", token=token)


def mentoring_context(target: Person, person: Person) -> dict[str, Any]:
    """Return everything the self-service page shows."""
    overrides = db.session.scalars(
        db.select(DateOverride)
        .filter_by(person_id=person.id)
        .order_by(DateOverride.day)
    ).all()
    return {
        "memberships": mentor_memberships(person),
        "overrides": overrides,
        "calendars": list(person.calendars),
        "connect_url": connect_url(person),
        "upcoming": upcoming_sessions(person),
    }


def save_mentoring(target: Person, person: Person, claim: LinkClaim) -> bool:
    """Save one section of the self-service page; audit what changed."""
    section = request.form.get("section", "")
    handler = _SECTIONS.get(section)
    if handler is None:
        raise LinkRejected("Use one of the forms on this page.")
    return handler(person)


def _own_membership(person: Person) -> Membership:
    raw = request.form.get("membership", "")
    membership = db.session.get(Membership, int(raw)) if raw.isdigit() else None
    if membership is None or membership.person_id != person.id:
        raise LinkRejected("Use one of the forms on this page.")
    if not membership.is_mentor:
        raise LinkRejected("You are not a mentor in that program.")
    return membership


def _optional_count(field: str, label: str, maximum: int) -> int | None:
    raw = request.form.get(field, "").strip()
    if not raw:
        return None
    if not raw.isdigit() or int(raw) > maximum:
        raise LinkRejected(
            f"{label} {raw!r} is not a whole number from 0 to {maximum}; "
            "leave it empty for the default."
        )
    return int(raw)


def _save_program(person: Person) -> bool:
    membership = _own_membership(person)
    names = {t.name for t in membership.program.topics}
    offers = request.form.getlist("offers")
    unknown = [o for o in offers if o not in names]
    if unknown:
        raise LinkRejected(
            f"{unknown[0]!r} is not a topic of {membership.program.name}; "
            "choose from the topics listed."
        )
    capacity = _optional_count("capacity", "Mentees in this program", MAX_CAPACITY)
    monthly = _optional_count("monthly_capacity", "Sessions per month", MAX_MONTHLY)

    before = {
        "offers": list(membership.offers),
        "capacity": membership.capacity,
        "monthly_capacity": membership.monthly_capacity,
    }
    ordered = [t.name for t in membership.program.topics if t.name in offers]
    after = {"offers": ordered, "capacity": capacity, "monthly_capacity": monthly}
    if before == after:
        return False
    membership.offers = ordered
    membership.capacity, membership.monthly_capacity = capacity, monthly
    record(
        _actor(person),
        "mentoring.program",
        membership,
        program_id=membership.program_id,
        before=before,
        after=after,
    )
    return True


def _save_pause(person: Person) -> bool:
    membership = _own_membership(person)
    paused = request.form.get("paused") == "1"
    if membership.paused == paused:
        return False
    membership.paused = paused
    action = "mentoring.paused" if paused else "mentoring.resumed"
    record(_actor(person), action, membership, program_id=membership.program_id)
    return True


def _save_hours(person: Person) -> bool:
    hours = " ".join(request.form.get("hours", "").split())
    if hours:
        try:
            parsed = parse_hours(hours)
        except HoursError as error:
            raise LinkRejected(str(error)) from None
        if parsed.empty:
            raise LinkRejected(
                f"{hours!r} gives no hours on any day; leave it empty to use "
                "the program's hours."
            )
    if person.hours == hours:
        return False
    record(_actor(person), "mentoring.hours", person, before=person.hours, after=hours)
    person.hours = hours
    return True


def _save_override(person: Person) -> bool:
    raw_day = request.form.get("day", "").strip()
    try:
        day = date.fromisoformat(raw_day)
    except ValueError:
        raise LinkRejected(
            f"Date {raw_day!r} is not a date; write it like 2027-01-15."
        ) from None
    hours = " ".join(request.form.get("day_hours", "").split())
    try:
        parse_day_windows(hours)
    except HoursError as error:
        raise LinkRejected(str(error)) from None
    note = request.form.get("note", "").strip()[:200]

    override = db.session.scalar(
        db.select(DateOverride).filter_by(person_id=person.id, day=day)
    )
    if override is not None and (override.hours, override.note) == (hours, note):
        return False
    if override is None:
        override = DateOverride(person_id=person.id, day=day)
        db.session.add(override)
    override.hours, override.note = hours, note
    record(
        _actor(person),
        "mentoring.override",
        person,
        day=day.isoformat(),
        hours=hours,
        note=note,
    )
    return True


def _remove_override(person: Person) -> bool:
    raw = request.form.get("override", "")
    override = db.session.get(DateOverride, int(raw)) if raw.isdigit() else None
    if override is None or override.person_id != person.id:
        return False
    record(_actor(person), "mentoring.override-removed", person, day=str(override.day))
    db.session.delete(override)
    return True


_SECTIONS = {
    "program": _save_program,
    "pause": _save_pause,
    "hours": _save_hours,
    "override": _save_override,
    "override-remove": _remove_override,
}


# Mentee requests


def is_mentee_in(program: Program, person: Person) -> bool:
    """True if ``person`` may ask for mentoring in ``program``."""
    role = db.session.scalar(
        db.select(Membership.role).filter_by(program_id=program.id, person_id=person.id)
    )
    return role in ("mentee", "both")


def _requests_of(program: Program, person: Person) -> list[Request]:
    return list(
        db.session.scalars(
            db.select(Request)
            .filter_by(program_id=program.id, mentee_id=person.id)
            .order_by(Request.id)
        )
    )


def request_context(program: Program, person: Person) -> dict[str, Any]:
    """Return the page values: several topics or one, and the existing requests."""
    return {
        "multiple": program.kind in MULTI_TOPIC_KINDS,
        "requests": _requests_of(program, person),
    }


def _chosen_topics(program: Program) -> list[Topic]:
    names = request.form.getlist("topic")
    if not names:
        raise LinkRejected("Choose a topic.")
    if len(names) > 1 and program.kind not in MULTI_TOPIC_KINDS:
        raise LinkRejected("Choose one topic; this program pairs you for one topic.")
    topics = []
    for name in names:
        topic = program.topic_named(name)
        if topic is None:
            raise LinkRejected(f"{name!r} is not a topic of {program.name}.")
        topics.append(topic)
    return topics


def _checked_hours(raw: str) -> str:
    hours = " ".join(raw.split())
    if not hours:
        return ""
    try:
        parse_hours(hours)
    except HoursError as error:
        raise LinkRejected(str(error)) from None
    return hours


def save_requests(program: Program, person: Person, claim: LinkClaim) -> bool:
    """Add an open request for each chosen topic the mentee has not asked for."""
    topics = _chosen_topics(program)
    note = request.form.get("note", "").strip()[:MAX_NOTE]
    hours = _checked_hours(request.form.get("hours", ""))

    have = {r.topic_id: r for r in _requests_of(program, person)}
    changed = False
    for topic in topics:
        existing = have.get(topic.id)
        if existing is not None and existing.status != "withdrawn":
            continue
        if existing is None:
            existing = Request(program=program, mentee=person, topic=topic)
            db.session.add(existing)
        existing.status, existing.note = "open", note
        db.session.flush()
        record(_actor(person), "request.created", existing, topic=topic.name, note=note)
        changed = True
    if hours and hours != person.hours:
        record(_actor(person), "mentoring.hours", person, after=hours)
        person.hours, changed = hours, True
    try:
        db.session.flush()
    except IntegrityError:
        # A second submit raced this one; its rows are the same requests.
        db.session.rollback()
        return False
    return changed


# Volunteering after a call for mentors


def _membership(program_id: int, person: Person) -> Membership | None:
    return db.session.scalar(
        db.select(Membership).filter_by(program_id=program_id, person_id=person.id)
    )


def volunteer_context(topic: Topic, person: Person) -> dict[str, Any]:
    """Return whether the person already mentors on this topic."""
    membership = _membership(topic.program_id, person)
    offered = (
        membership is not None
        and membership.is_mentor
        and topic.name in membership.offers
    )
    return {"topic": topic, "program": topic.program, "offered": offered}


def volunteer(topic: Topic, person: Person, claim: LinkClaim) -> bool:
    """Make ``person`` a mentor for ``topic`` in its program; False if already."""
    membership = _membership(topic.program_id, person)
    if membership is None:
        membership = Membership(
            program_id=topic.program_id, person_id=person.id, role="mentor", offers=[]
        )
        db.session.add(membership)
    elif membership.is_mentor and topic.name in membership.offers:
        return False
    if membership.role == "mentee":
        membership.role = "both"
    membership.offers = [*membership.offers, topic.name]
    db.session.flush()
    record(
        _actor(person),
        "volunteer.offered",
        membership,
        program_id=topic.program_id,
        topic=topic.name,
    )
    log.info("person %d volunteered for topic %d", person.id, topic.id)
    return True
