"""Admin pages: programs, people, series, approval, overrides, audit and outbox.

A program administrator sees and acts on only their own programs: every
lookup goes through ``program_or_404``, so another program's pages, series
and sessions answer 404. Outbox rows are scoped by recipient (see
``web.access``).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required, login_user, logout_user

from web import access, booking, overrides, rescheduling
from web.extensions import csrf, db, login_manager
from web.links import LinkExpired, LinkInvalid, read_token
from web.matching_run import ProgramSettingsError, run_matching
from web.models import (
    Admin,
    AuditEvent,
    Membership,
    MentoringSession,
    Person,
    Program,
    Request,
    Series,
)
from web.models.types import utcnow
from web.ratelimit import FixedWindow

log = logging.getLogger(__name__)
bp = Blueprint("admin", __name__)
login_manager.login_view = "admin.login"
WRITE_WAITING = ("pending", "failed")


@login_manager.user_loader
def load_admin(admin_id: str) -> Admin | None:
    return db.session.get(Admin, int(admin_id))


@bp.app_context_processor
def navigation() -> dict[str, bool]:
    """Tell the nav which optional pages (reports, calendars) this app has."""
    views = current_app.view_functions
    return {
        "has_reports": "reports.program_report" in views,
        "has_calendars": "calendars.admin_list" in views,
    }


def actor() -> str:
    return f"admin:{current_user.email}"


def program_or_404(slug: str) -> Program:
    """The program ``slug`` if the logged-in administrator may manage it."""
    program = db.session.scalar(db.select(Program).filter_by(slug=slug))
    if program is None or not current_user.can_manage(program):
        abort(404, f"No program {slug!r} that you manage.")
    return program


def series_or_404(slug: str, series_id: int) -> Series:
    """Series ``series_id`` of program ``slug``, if the administrator manages it."""
    program = program_or_404(slug)
    series = db.session.get(Series, series_id)
    if series is None or series.program_id != program.id:
        abort(404, f"No series {series_id} in program {slug!r}.")
    return series


def session_or_404(slug: str, series_id: int, session_id: int) -> MentoringSession:
    series = series_or_404(slug, series_id)
    session = db.session.get(MentoringSession, session_id)
    if session is None or session.series_id != series.id:
        abort(404, f"No session {session_id} in series {series_id}.")
    return session


@bp.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "POST":
        email = request.form.get("email", "").strip().lower()
        wait = _login_wait(email)
        if wait is not None:
            log.warning(
                "login attempts for %s from %s over the limit",
                email,
                request.remote_addr,
            )
            return render_template(
                "error.html",
                code=429,
                title="Too many attempts",
                message=f"Too many login attempts. Wait {wait} "
                "seconds, then try again.",
            ), 429
        admin = db.session.scalar(db.select(Admin).filter_by(email=email))
        if admin is not None and admin.check_password(request.form.get("password", "")):
            login_user(admin)
            return redirect(url_for("admin.index"))
        flash("Wrong email or password.")
    return render_template("admin/login.html")


LOGIN_LIMITS = {"address": (30, 300), "email": (10, 300)}
"""Login attempts allowed per client address and per email, per 5 minutes."""


def _login_wait(email: str) -> int | None:
    """Count a login attempt; return seconds to wait when it is over a limit."""
    windows = current_app.extensions.setdefault(
        "torace.login_limits",
        {
            kind: FixedWindow(f"login-{kind}", count, seconds)
            for kind, (count, seconds) in LOGIN_LIMITS.items()
        },
    )
    waits = [
        wait
        for wait in (
            windows["address"].hit(request.remote_addr or "unknown"),
            windows["email"].hit(email),
        )
        if wait is not None
    ]
    return int(max(waits)) + 1 if waits else None


@bp.route("/logout", methods=["POST"])
def logout():
    logout_user()
    return redirect(url_for("admin.login"))


@bp.route("/")
@login_required
def index():
    programs = access.managed_programs(current_user)
    return render_template("admin/index.html", programs=programs)


@bp.route("/programs/<slug>")
@login_required
def program(slug: str):
    program = program_or_404(slug)
    series = db.session.scalars(
        db.select(Series).filter_by(program_id=program.id).order_by(Series.id)
    ).all()
    unmatched = db.session.scalars(
        db.select(Request).filter(
            Request.program_id == program.id,
            Request.status.in_(("unmatched", "open")),
        )
    ).all()
    pending = [s for s in series if s.status == "pending-approval"]
    others = [s for s in series if s.status != "pending-approval"]
    return render_template(
        "admin/program.html",
        program=program,
        pending=pending,
        others=others,
        unmatched=unmatched,
    )


@bp.route("/programs/<slug>/people")
@login_required
def people(slug: str):
    program = program_or_404(slug)
    members = db.session.scalars(
        db.select(Membership)
        .join(Person, Person.id == Membership.person_id)
        .filter(Membership.program_id == program.id)
        .order_by(Person.name)
    ).all()
    loads = {
        m.person_id: overrides.mentor_load(program.id, m.person_id)
        for m in members
        if m.is_mentor
    }
    return render_template(
        "admin/people.html", program=program, members=members, loads=loads
    )


@bp.route("/programs/<slug>/approve", methods=["POST"])
@login_required
def approve(slug: str):
    program = program_or_404(slug)
    query = db.select(Series).filter_by(
        program_id=program.id, status="pending-approval"
    )
    if request.form.get("all") != "1":
        ids = [int(i) for i in request.form.getlist("series") if i.isdigit()]
        query = query.filter(Series.id.in_(ids))
    approved = booking.approve(db.session.scalars(query).all(), actor())
    flash(f"Approved {len(approved)} series; invitations are on their way.")
    return redirect(url_for("admin.program", slug=slug))


@bp.route("/programs/<slug>/match", methods=["POST"])
@login_required
def match(slug: str):
    """Run matching on the program's open requests with the real clock."""
    program = program_or_404(slug)
    try:
        summary = run_matching(program, datetime.now(UTC), actor=actor())
    except ProgramSettingsError as error:
        flash(f"Matching did not run: {error}")
        return redirect(url_for("admin.program", slug=slug))
    if program.approval == "auto" and summary.series:
        booking.approve(summary.series, "auto-approval")
    elif summary.series:
        booking.request_approval(program)
    flash(
        f"Matched {summary.matched} of {summary.requests} requests; "
        f"{len(summary.unmatched)} unmatched."
    )
    return redirect(url_for("admin.program", slug=slug))


@bp.route("/programs/<slug>/series/<int:series_id>")
@login_required
def series(slug: str, series_id: int):
    series = series_or_404(slug, series_id)
    mentors, times = [], {}
    if series.status == "pending-approval":
        mentors = overrides.eligible_mentors(series)
    if series.status in ("pending-approval", "invited", "confirmed", "rescheduled"):
        now = utcnow()
        times = {
            s.id: rescheduling.other_times(s, now)
            for s in series.sessions
            if s.status not in ("cancelled", "completed")
        }
    return render_template(
        "admin/series.html",
        program=series.program,
        series=series,
        mentors=mentors,
        times=times,
    )


@bp.route("/programs/<slug>/series/<int:series_id>/reject", methods=["POST"])
@login_required
def reject(slug: str, series_id: int):
    series = series_or_404(slug, series_id)
    try:
        overrides.reject(series, actor(), request.form.get("note", "")[:1000])
    except overrides.OverrideRejected as error:
        flash(str(error))
        return redirect(url_for("admin.series", slug=slug, series_id=series_id))
    flash(f"Rejected series {series_id}; the request is open for matching again.")
    return redirect(url_for("admin.program", slug=slug))


@bp.route("/programs/<slug>/series/<int:series_id>/mentor", methods=["POST"])
@login_required
def change_mentor(slug: str, series_id: int):
    series = series_or_404(slug, series_id)
    mentor_id = request.form.get("mentor", "")
    mentor = db.session.get(Person, int(mentor_id)) if mentor_id.isdigit() else None
    if mentor is None:
        flash("Choose a mentor from the list.")
    else:
        try:
            overrides.change_mentor(series, mentor, actor(), utcnow())
            flash(f"{mentor.name} is now the mentor; check the new times.")
        except overrides.OverrideRejected as error:
            flash(str(error))
    return redirect(url_for("admin.series", slug=slug, series_id=series_id))


@bp.route(
    "/programs/<slug>/series/<int:series_id>/sessions/<int:session_id>/slot",
    methods=["POST"],
)
@login_required
def change_slot(slug: str, series_id: int, session_id: int):
    session = session_or_404(slug, series_id, session_id)
    try:
        start = datetime.fromisoformat(request.form.get("start", ""))
    except ValueError:
        start = None
    if start is None or start.tzinfo is None:
        flash("Choose one of the times listed.")
    else:
        try:
            overrides.change_slot(session, start, actor(), utcnow())
            flash(f"Session {session.position} moved.")
        except overrides.OverrideRejected as error:
            flash(str(error))
    return redirect(url_for("admin.series", slug=slug, series_id=series_id))


@bp.route("/programs/<slug>/audit")
@login_required
def audit(slug: str):
    program = program_or_404(slug)
    events = db.session.scalars(
        db.select(AuditEvent)
        .filter_by(program_id=program.id)
        .order_by(AuditEvent.id.desc())
        .limit(500)
    ).all()
    return render_template("admin/audit.html", program=program, events=events)


@bp.route("/programs/<slug>/calendar-writes")
@login_required
def calendar_writes(slug: str):
    """Sessions whose event is not yet on the mentor's calendar, and why."""
    program = program_or_404(slug)
    sessions = db.session.scalars(
        db.select(MentoringSession)
        .join(MentoringSession.series)
        .filter(
            Series.program_id == program.id,
            MentoringSession.calendar_write.in_(WRITE_WAITING),
        )
        .order_by(MentoringSession.start)
    ).all()
    return render_template(
        "admin/calendar_writes.html", program=program, sessions=sessions
    )


@bp.route("/outbox")
@login_required
def outbox():
    messages = db.session.scalars(access.outbox_query(current_user).limit(500)).all()
    return render_template("admin/outbox.html", messages=messages)


@bp.route("/l/approve/<token>", methods=["GET", "POST"])
@csrf.exempt
def approve_link(token: str):
    """Show a series from an approval email (GET) or approve it (POST).

    The signed link is the credential, so no login is needed; the
    administrator it names must still manage the series' program.
    """
    try:
        claim = read_token("approve", token)
    except LinkExpired:
        return render_template("admin/approve_link.html", expired=True), 410
    except LinkInvalid:
        return render_template("links/invalid.html"), 404
    admin = db.session.get(Admin, claim.person_id)
    series = db.session.get(Series, claim.object_id)
    if admin is None or series is None or not admin.can_manage(series.program):
        return render_template("links/invalid.html"), 404

    approved = None
    if request.method == "POST":
        approved = bool(booking.approve([series], f"admin:{admin.email}"))
    outdated = booking.series_fingerprint(series) != claim.fingerprint
    return render_template(
        "admin/approve_link.html",
        expired=False,
        series=series,
        admin=admin,
        approved=approved,
        outdated=outdated and approved is None,
    )
