"""Pages behind signed links: GET shows a page, only POST changes anything."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import Blueprint, render_template, request

from web import booking, feedback, rescheduling
from web.audit import record
from web.extensions import csrf, db
from web.links import (
    LinkClaim,
    LinkExpired,
    LinkInvalid,
    LinkRejected,
    link_url,
    read_token,
)
from web.models import MentoringSession, Person, Program, Series, Topic
from web.models.types import utcnow
from web.outbox import queue_mail
from web.ratelimit import over_limit
from web.states import ACTIVE
from web.views import participants

bp = Blueprint("links", __name__, url_prefix="/l")
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LinkAction:
    model: type
    template: str
    act: Callable[[Any, Person, LinkClaim], bool]
    current: Callable[[Any, Person], str] | None = None
    """The fingerprint of the object's current state; None: any state."""
    context: Callable[[Any, Person], dict[str, Any]] | None = None
    """Extra values the page shows, such as the times on offer."""
    audited: bool = False
    """True when ``act`` records its own, more detailed audit events."""
    context_after_post: bool = True
    """False when the page after a POST needs no context (and it is costly)."""


Rejected = LinkRejected


def _confirm(series: Series, person: Person, claim: LinkClaim) -> bool:
    return booking.confirm(series, person)


def _decline(series: Series, person: Person, claim: LinkClaim) -> bool:
    return booking.decline(series, person, request.form.get("reason", "")[:500])


def _cancel(session: MentoringSession, person: Person, claim: LinkClaim) -> bool:
    return booking.cancel_session(session, person)


def _another_time_context(session: MentoringSession, person: Person) -> dict[str, Any]:
    if session.status not in ACTIVE:
        return {"slots": []}
    return {"slots": rescheduling.other_times(session, utcnow())}


def _another_time(session: MentoringSession, person: Person, claim: LinkClaim) -> bool:
    try:
        start = datetime.fromisoformat(request.form.get("start", ""))
    except ValueError:
        raise Rejected("Choose one of the times listed.") from None
    if start.tzinfo is None or session.status not in ACTIVE:
        raise Rejected("Choose one of the times listed.")
    reason = rescheduling.move(session, start, f"link:{person.email}", utcnow())
    if reason is not None:
        raise Rejected(f"That time cannot be booked: {reason}")
    return True


def _check_held(session: MentoringSession) -> None:
    """Reject feedback on a session that has not taken place."""
    if session.status != "completed":
        raise Rejected(
            "Feedback opens once the session has taken place; use the link in "
            "the email you get after it."
        )


def _feedback(session: MentoringSession, person: Person, claim: LinkClaim) -> bool:
    _check_held(session)
    return feedback.save_from_form(session, person, request.form)


def _rate(session: MentoringSession, person: Person, claim: LinkClaim) -> bool:
    _check_held(session)
    return feedback.save_rating(session, person, int(claim.extra))


def _feedback_context(session: MentoringSession, person: Person) -> dict[str, Any]:
    return feedback.page_values(session, person)


def _unsubscribe(target: Person, person: Person, claim: LinkClaim) -> bool:
    if target.unsubscribed:
        return False
    target.unsubscribed = True
    return True


ACTIONS: dict[str, LinkAction] = {
    "confirm": LinkAction(
        Series, "links/confirm.html", _confirm, booking.series_fingerprint
    ),
    "decline": LinkAction(
        Series, "links/decline.html", _decline, booking.series_fingerprint
    ),
    "cancel-session": LinkAction(
        MentoringSession, "links/cancel.html", _cancel, booking.session_fingerprint
    ),
    "another-time": LinkAction(
        MentoringSession,
        "links/another_time.html",
        _another_time,
        booking.session_fingerprint,
        _another_time_context,
        context_after_post=False,
    ),
    "feedback": LinkAction(
        MentoringSession,
        "links/feedback.html",
        _feedback,
        context=_feedback_context,
    ),
    "rate": LinkAction(MentoringSession, "links/rate.html", _rate),
    "unsubscribe": LinkAction(Person, "links/unsubscribe.html", _unsubscribe),
    "preferences": LinkAction(
        Person, "links/preferences.html", participants.save_preferences
    ),
    "my-mentoring": LinkAction(
        Person,
        "participants/my_mentoring.html",
        participants.save_mentoring,
        context=participants.mentoring_context,
        audited=True,
    ),
    "request": LinkAction(
        Program,
        "participants/request.html",
        participants.save_requests,
        context=participants.request_context,
        audited=True,
    ),
    "volunteer": LinkAction(
        Topic,
        "participants/volunteer.html",
        participants.volunteer,
        context=participants.volunteer_context,
        audited=True,
    ),
}


def _load(purpose: str, token: str) -> tuple[LinkAction, LinkClaim, Any, Person]:
    action = ACTIONS.get(purpose)
    if action is None:
        raise LinkInvalid()
    claim = read_token(purpose, token)
    obj = db.session.get(action.model, claim.object_id)
    person = db.session.get(Person, claim.person_id)
    if obj is None or person is None or not _belongs(obj, person):
        raise LinkInvalid()
    if purpose == "rate" and claim.extra not in {"1", "2", "3", "4", "5"}:
        raise LinkInvalid()
    return action, claim, obj, person


def _belongs(obj: Any, person: Person) -> bool:
    if isinstance(obj, Series):
        return obj.role_of(person.id) is not None
    if isinstance(obj, MentoringSession):
        return obj.series.role_of(person.id) is not None
    if isinstance(obj, Program):
        return participants.is_mentee_in(obj, person)
    if isinstance(obj, Topic):
        # The call went to a pool chosen when it was sent; the signature
        # is the proof that this person was in it.
        return True
    return isinstance(obj, Person) and obj.id == person.id


@bp.route("/<purpose>/<token>", methods=["GET", "POST"])
@csrf.exempt
def follow(purpose: str, token: str):
    """Show the page of a link (GET) or carry out its action (POST)."""
    wait = over_limit(token)
    if wait is not None:
        return _too_many(wait)
    try:
        action, claim, obj, person = _load(purpose, token)
    except LinkExpired as expired:
        return _expired(purpose, token, expired.claim)
    except LinkInvalid:
        return render_template("links/invalid.html"), 404

    outdated = (
        action.current is not None and action.current(obj, person) != claim.fingerprint
    )
    context = {
        "obj": obj,
        "person": person,
        "claim": claim,
        "outdated": outdated,
        "purpose": purpose,
    }
    if request.method == "GET" or outdated:
        if action.context is not None and not outdated:
            context.update(action.context(obj, person))
        return render_template(action.template, done=False, **context)

    try:
        changed = action.act(obj, person, claim)
    except Rejected as rejected:
        db.session.rollback()
        if action.context is not None:
            context.update(action.context(obj, person))
        return render_template(
            action.template, done=False, error=str(rejected), **context
        ), 422
    if changed and not action.audited:
        record(
            f"link:{person.email}", f"link.{purpose}", obj, program_id=_program_of(obj)
        )
    db.session.commit()
    if action.context is not None and action.context_after_post:
        context.update(action.context(obj, person))
    return render_template(action.template, done=True, changed=changed, **context)


def _too_many(wait: int):
    page = render_template("links/too_many.html", wait=wait)
    return page, 429, {"Retry-After": str(wait)}


def _program_of(obj: Any) -> int | None:
    if isinstance(obj, Series):
        return obj.program_id
    if isinstance(obj, MentoringSession):
        return obj.series.program_id
    if isinstance(obj, Program):
        return obj.id
    if isinstance(obj, Topic):
        return obj.program_id
    return None


def _expired(purpose: str, token: str, claim: LinkClaim | None):
    if request.method == "POST" and request.form.get("fresh") and claim is not None:
        _send_fresh_link(claim)
    return render_template(
        "links/expired.html",
        purpose=purpose,
        token=token,
        sent=request.method == "POST",
    ), 410


def _send_fresh_link(claim: LinkClaim) -> None:
    """Email the link's own person a new link; say nothing to anyone else."""
    person = db.session.get(Person, claim.person_id)
    if person is None:
        return
    fingerprint = claim.fingerprint
    action = ACTIONS.get(claim.purpose)
    obj = db.session.get(action.model, claim.object_id) if action else None
    if action is None or obj is None:
        return
    if action.current is not None:
        fingerprint = action.current(obj, person)
    url = link_url(claim.purpose, person.id, claim.object_id, fingerprint, claim.extra)
    queue_mail(
        "fresh-link",
        f"{claim.purpose}:{claim.object_id}:{fingerprint}",
        person,
        "Your new Torace link",
        "fresh_link",
        url=url,
    )
    record(f"link:{person.email}", "link.fresh", person)
    db.session.commit()
