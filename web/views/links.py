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
from web.links import LinkClaim, LinkExpired, LinkInvalid, link_url, read_token
from web.models import MentoringSession, Person, Series
from web.models.types import utcnow
from web.outbox import queue_mail
from web.states import ACTIVE

bp = Blueprint("links", __name__, url_prefix="/l")
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LinkAction:
    model: type
    template: str
    act: Callable[[Any, Person, LinkClaim], bool]
    current: Callable[[Any], str] | None = None
    """The fingerprint of the object's current state; None: any state."""
    context: Callable[[Any], dict[str, Any]] | None = None
    """Extra values the page shows, such as the times on offer."""


class Rejected(Exception):
    """The request through a link was refused; the message says why."""


def _confirm(series: Series, person: Person, claim: LinkClaim) -> bool:
    return booking.confirm(series, person)


def _decline(series: Series, person: Person, claim: LinkClaim) -> bool:
    return booking.decline(series, person, request.form.get("reason", "")[:500])


def _cancel(session: MentoringSession, person: Person, claim: LinkClaim) -> bool:
    return booking.cancel_session(session, person)


def _another_time_context(session: MentoringSession) -> dict[str, Any]:
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


def _feedback(session: MentoringSession, person: Person, claim: LinkClaim) -> bool:
    return feedback.save_from_form(session, person, request.form)


def _rate(session: MentoringSession, person: Person, claim: LinkClaim) -> bool:
    return feedback.save_rating(session, person, int(claim.extra))


def _unsubscribe(target: Person, person: Person, claim: LinkClaim) -> bool:
    if target.unsubscribed:
        return False
    target.unsubscribed = True
    db.session.commit()
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
    ),
    "feedback": LinkAction(MentoringSession, "links/feedback.html", _feedback),
    "rate": LinkAction(MentoringSession, "links/rate.html", _rate),
    "unsubscribe": LinkAction(Person, "links/unsubscribe.html", _unsubscribe),
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
    return isinstance(obj, Person) and obj.id == person.id


@bp.route("/<purpose>/<token>", methods=["GET", "POST"])
@csrf.exempt
def follow(purpose: str, token: str):
    """Show the page of a link (GET) or carry out its action (POST)."""
    try:
        action, claim, obj, person = _load(purpose, token)
    except LinkExpired as expired:
        return _expired(purpose, token, expired.claim)
    except LinkInvalid:
        return render_template("links/invalid.html"), 404

    outdated = action.current is not None and action.current(obj) != claim.fingerprint
    context = {
        "obj": obj,
        "person": person,
        "claim": claim,
        "outdated": outdated,
        "purpose": purpose,
    }
    if request.method == "GET" or outdated:
        if action.context is not None and not outdated:
            context.update(action.context(obj))
        return render_template(action.template, done=False, **context)

    try:
        changed = action.act(obj, person, claim)
    except Rejected as rejected:
        if action.context is not None:
            context.update(action.context(obj))
        return render_template(
            action.template, done=False, error=str(rejected), **context
        ), 422
    if changed:
        record(
            f"link:{person.email}", f"link.{purpose}", obj, program_id=_program_of(obj)
        )
        db.session.commit()
    return render_template(action.template, done=True, changed=changed, **context)


def _program_of(obj: Any) -> int | None:
    if isinstance(obj, Series):
        return obj.program_id
    if isinstance(obj, MentoringSession):
        return obj.series.program_id
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
        fingerprint = action.current(obj)
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
