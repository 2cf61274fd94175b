"""Admin pages: programs, pending series, approval and the audit log."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required, login_user, logout_user

from web import booking
from web.extensions import db, login_manager
from web.models import Admin, AuditEvent, OutboxMessage, Program, Request, Series

bp = Blueprint("admin", __name__)
login_manager.login_view = "admin.login"


@login_manager.user_loader
def load_admin(admin_id: str) -> Admin | None:
    return db.session.get(Admin, int(admin_id))


def program_or_404(slug: str) -> Program:
    """The program ``slug`` if the logged-in administrator may manage it."""
    program = db.session.scalar(db.select(Program).filter_by(slug=slug))
    if program is None or not current_user.can_manage(program):
        abort(404, f"No program {slug!r} that you manage.")
    return program


@bp.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "POST":
        email = request.form.get("email", "").strip().lower()
        admin = db.session.scalar(db.select(Admin).filter_by(email=email))
        if admin is not None and admin.check_password(request.form.get("password", "")):
            login_user(admin)
            return redirect(url_for("admin.index"))
        flash("Wrong email or password.")
    return render_template("admin/login.html")


@bp.route("/logout", methods=["POST"])
def logout():
    logout_user()
    return redirect(url_for("admin.login"))


@bp.route("/")
@login_required
def index():
    programs = db.session.scalars(db.select(Program).order_by(Program.name)).all()
    visible = [p for p in programs if current_user.can_manage(p)]
    return render_template("admin/index.html", programs=visible)


@bp.route("/programs/<slug>")
@login_required
def program(slug: str):
    program = program_or_404(slug)
    series = db.session.scalars(
        db.select(Series).filter_by(program_id=program.id).order_by(Series.id)
    ).all()
    unmatched = db.session.scalars(
        db.select(Request).filter_by(program_id=program.id, status="unmatched")
    ).all()
    return render_template(
        "admin/program.html", program=program, series=series, unmatched=unmatched
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
    approved = booking.approve(
        db.session.scalars(query).all(), f"admin:{current_user.email}"
    )
    flash(f"Approved {len(approved)} series; invitations are on their way.")
    return redirect(url_for("admin.program", slug=slug))


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


@bp.route("/outbox")
@login_required
def outbox():
    if not current_user.organisation_wide:
        abort(404)
    messages = db.session.scalars(
        db.select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(500)
    ).all()
    return render_template("admin/outbox.html", messages=messages)
