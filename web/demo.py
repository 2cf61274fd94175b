"""The bundled demo: one program run from roster to mail on the embedded default."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from pathlib import Path

from flask import current_app

from web.booking import approve, participant_links
from web.extensions import db
from web.links import link_url
from web.matching_run import run_matching
from web.models import Admin, MentoringSession, Program, Series
from web.outbox import deliver_pending
from web.programs import load_program_file
from web.roster import import_roster

DEMO_ADMIN = "admin@example.org"


def demo_clock(program: Program) -> datetime:
    """Return the demo's matching time: noon a week before its window."""
    day = program.window_start - timedelta(days=7)
    return datetime.combine(day, time(12), UTC)


def run_demo(folder: Path, password: str) -> list[str]:
    """Load, import, match, approve and deliver the demo; return what to print."""
    program = load_program_file(folder / "program.toml", actor="demo")
    people = import_roster(program, folder / "roster.csv", actor="demo")
    summary = run_matching(program, demo_clock(program), actor="demo")
    approve(summary.series, "demo")
    sent = deliver_pending()
    _ensure_admin(password)

    settings = current_app.config["TORACE"]
    lines = [
        f"program {program.slug}: {people.created + people.updated} people, "
        f"{summary.requests} requests, {summary.matched} matched",
        *(
            f"  unmatched: {r.mentee.email} ({r.topic.name}): {why}"
            for r, why in summary.unmatched
        ),
        f"mail: {sent['sent']} messages written to {settings.resolved_mail_dir}",
        f"admin login: {settings.base_url}/login  {DEMO_ADMIN} / {password}",
    ]
    return lines + _sample_links(program)


def _ensure_admin(password: str) -> None:
    account = db.session.scalar(db.select(Admin).filter_by(email=DEMO_ADMIN))
    if account is None:
        account = Admin(email=DEMO_ADMIN, organisation_wide=True)
        db.session.add(account)
    account.set_password(password)
    db.session.commit()


def _sample_links(program: Program) -> list[str]:
    series = db.session.scalar(
        db.select(Series).filter_by(program_id=program.id).order_by(Series.id)
    )
    if series is None:
        return ["no series was booked, so there are no links to show"]
    session: MentoringSession = series.sessions[0]
    mentee = series.mentee
    links = participant_links(series, mentee, session)
    links["feedback"] = link_url("feedback", mentee.id, session.id)
    links["rate"] = link_url("rate", mentee.id, session.id, extra="5")
    links["preferences"] = link_url("preferences", mentee.id, mentee.id)
    links["unsubscribe"] = link_url("unsubscribe", mentee.id, mentee.id)
    lines = [f"link ({name}, for {mentee.email}): {url}" for name, url in links.items()]

    mentor = series.mentor
    for purpose in ("my-mentoring", "connect"):
        url = link_url(purpose, mentor.id, mentor.id)
        lines.append(f"link ({purpose}, for {mentor.email}): {url}")
    lines.append("feedback and rating links open once the session has taken place")
    return lines
