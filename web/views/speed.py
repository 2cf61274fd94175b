"""Speed-mentoring pages: the event's rounds and each person's schedule."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from web import speed
from web.extensions import db
from web.links import LinkExpired, LinkInvalid, read_token
from web.models import Person, Program
from web.models.types import utcnow
from web.views.admin import program_or_404

bp = Blueprint("speed", __name__)


def speed_program_or_404(slug: str) -> Program:
    """The speed program ``slug`` the logged-in administrator manages."""
    program = program_or_404(slug)
    if program.kind != "speed":
        abort(404, f"Program {slug!r} is not a speed-mentoring event.")
    return program


@bp.route("/programs/<slug>/speed")
@login_required
def event(slug: str):
    """Show the event's rounds: time, table, mentor and mentee."""
    program = speed_program_or_404(slug)
    meetings = speed.event_meetings(program)
    pending = any(m.series.status == "pending-approval" for m in meetings)
    return render_template(
        "speed/event.html",
        program=program,
        rounds=speed.rounds_of(meetings),
        pending=pending,
    )


@bp.route("/programs/<slug>/speed/approve", methods=["POST"])
@login_required
def approve(slug: str):
    """Approve every pending meeting and send invitations and schedules."""
    program = speed_program_or_404(slug)
    approved = speed.approve_event(program, f"admin:{current_user.email}", utcnow())
    flash(f"Approved {len(approved)} meetings; invitations and schedules are queued.")
    return redirect(url_for("speed.event", slug=slug))


@bp.route(f"/l/{speed.SCHEDULE_PURPOSE}/<token>")
def schedule(token: str):
    """Show one person's schedule at the event, reached by a signed link."""
    try:
        claim = read_token(speed.SCHEDULE_PURPOSE, token)
    except LinkExpired:
        return render_template("speed/expired.html"), 410
    except LinkInvalid:
        return render_template("links/invalid.html"), 404

    program = db.session.get(Program, claim.object_id)
    person = db.session.get(Person, claim.person_id)
    if program is None or person is None:
        return render_template("links/invalid.html"), 404
    return render_template(
        "speed/schedule.html",
        program=program,
        person=person,
        meetings=speed.schedule_of(program, person),
    )
