"""The ``torace`` command line: a Flask CLI group around the app factory."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import click
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext

from config import SettingsError
from web.app import configure_logging, create_app
from web.cli_calls import call
from web.cli_common import parse_instant, program_by_slug
from web.cli_programs import (
    program_approve_event,
    program_new,
    program_templates,
)
from web.cli_tools import busy, demo, slots
from web.extensions import db
from web.models import Admin, Program
from web.roster import EMAIL

ADMIN_KEY = "torace.admin"


def _create_app():
    try:
        return create_app()
    except SettingsError as error:
        raise click.ClickException(str(error)) from None


@click.group(cls=FlaskGroup, create_app=_create_app, add_version_option=False)
@click.option(
    "--as",
    "as_admin",
    envvar="TORACE_ADMIN",
    metavar="EMAIL",
    help="Act as this administrator: commands on a program check that they "
    "manage it. Default: TORACE_ADMIN, or no check.",
)
@click.pass_context
def main(context: click.Context, as_admin: str | None) -> None:
    """Torace: micro-mentoring programs, matched and booked on real calendars."""
    configure_logging()
    context.meta[ADMIN_KEY] = as_admin.strip().lower() if as_admin else None


def acting_admin() -> Admin | None:
    """The administrator named by ``--as``, or None when none was named."""
    from web.access import admin_by_email

    email = click.get_current_context().meta.get(ADMIN_KEY)
    if not email:
        return None
    admin = admin_by_email(email)
    if admin is None:
        raise click.ClickException(
            f"no administrator {email!r}; create one with `torace admin create EMAIL`"
        )
    return admin


def managed_program(slug: str) -> Program:
    """The program ``slug``, if the ``--as`` administrator (if any) manages it."""
    from web.access import NotPermitted, check_program

    program = program_by_slug(slug)
    try:
        check_program(acting_admin(), program)
    except NotPermitted as error:
        raise click.ClickException(str(error)) from None
    return program


def actor_name(default: str = "cli") -> str:
    """The audit actor for a command: the ``--as`` administrator or ``default``."""
    admin = acting_admin()
    return f"admin:{admin.email}" if admin else default


@main.group()
def program() -> None:
    """Create and update programs."""


@program.command("load")
@click.argument("file", type=click.Path(path_type=Path))
@with_appcontext
def program_load(file: Path) -> None:
    """Create or update a program from a TOML file."""
    from web.programs import ProgramFileError, load_program_file

    _check_may_load(file)
    try:
        loaded = load_program_file(file, actor=actor_name())
    except ProgramFileError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"program {loaded.slug}: {loaded.name} ({len(loaded.topics)} topics)")


def _check_may_load(file: Path) -> None:
    """Let a program administrator update only a program they manage."""
    import tomllib

    admin = acting_admin()
    if admin is None or admin.organisation_wide:
        return
    try:
        slug = str(tomllib.loads(file.read_text(encoding="utf-8")).get("slug", ""))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
        return  # load_program_file reports the file's own problem.
    existing = db.session.scalar(db.select(Program).filter_by(slug=slug))
    if existing is None:
        raise click.ClickException(
            f"administrator {admin.email} may not create program {slug!r}; "
            "ask an organisation-wide administrator"
        )
    managed_program(slug)


@main.group()
def roster() -> None:
    """Import people into a program."""


@roster.command("import")
@click.argument("slug")
@click.argument("file", type=click.Path(path_type=Path))
@with_appcontext
def roster_import(slug: str, file: Path) -> None:
    """Import a roster CSV into program SLUG; nothing is imported if a row is bad."""
    from web.roster import RosterError, import_roster

    try:
        summary = import_roster(managed_program(slug), file)
    except RosterError as error:
        raise click.ClickException(str(error)) from None
    click.echo(
        f"{summary.created} people added, {summary.updated} updated, "
        f"{summary.requests} requests, {summary.calendars} calendars"
    )


@main.command()
@click.argument("slug")
@click.option("--now", help="The time to match as of (ISO 8601); default: now.")
@with_appcontext
def match(slug: str, now: str | None) -> None:
    """Match the open requests of program SLUG and hold their sessions."""
    from web.booking import approve, request_approval
    from web.matching_run import ProgramSettingsError, run_matching

    program = managed_program(slug)
    instant = parse_instant(now, "--now") or datetime.now(UTC)
    try:
        summary = run_matching(program, instant, actor=actor_name(), progress=_progress)
    except ProgramSettingsError as error:
        raise click.ClickException(
            f"program {slug} cannot be matched: {error}"
        ) from None
    click.echo(
        f"requests: {summary.requests}  matched: {summary.matched}  "
        f"unmatched: {len(summary.unmatched)}"
    )
    for request, reason in summary.unmatched:
        click.echo(
            f"  unmatched: {request.mentee.email} ({request.topic.name}): {reason}"
        )
    if program.approval == "auto" and summary.series:
        approved = approve(summary.series, "auto-approval")
        click.echo(f"approved automatically: {len(approved)} series")
    elif summary.series:
        asked = request_approval(program)
        click.echo(f"approval requested from {asked} administrator(s)")


def _progress(stage: str, done: int, total: int) -> None:
    width = 30
    filled = width * done // max(total, 1)
    bar = "#" * filled + "-" * (width - filled)
    end = "\n" if done >= total else ""
    click.echo(f"\r{stage} [{bar}] {done}/{total}", nl=False, err=True)
    if end:
        click.echo("", err=True)


@main.command("approve")
@click.argument("slug")
@click.option(
    "--all", "approve_all", is_flag=True, help="Approve every pending series."
)
@click.option(
    "--series",
    "series_ids",
    multiple=True,
    type=int,
    help="Approve this series id; repeat for several.",
)
@click.option(
    "--request",
    "ask",
    is_flag=True,
    help="Approve nothing; email the program's administrators a signed "
    "approval link for each pending series.",
)
@click.option("--now", help="Approve as of this time (ISO 8601); default: now.")
@with_appcontext
def approve_command(
    slug: str,
    approve_all: bool,
    series_ids: tuple[int, ...],
    ask: bool,
    now: str | None,
) -> None:
    """Approve pending series of program SLUG and queue their invitations."""
    from web.booking import approve, request_approval
    from web.models import Series

    program = managed_program(slug)
    if ask:
        asked = request_approval(program)
        click.echo(f"approval requested from {asked} administrator(s)")
        return
    if not approve_all and not series_ids:
        raise click.UsageError("give --all, --request or at least one --series ID")
    query = db.select(Series).filter_by(
        program_id=program.id, status="pending-approval"
    )
    if not approve_all:
        query = query.filter(Series.id.in_(series_ids))
    instant = parse_instant(now, "--now") or datetime.now(UTC)
    approved = approve(db.session.scalars(query).all(), actor_name(), instant)
    click.echo(f"approved {len(approved)} series")


@main.command("run-due")
@click.option("--now", help="Run as of this time (ISO 8601); default: now.")
@with_appcontext
def run_due_command(now: str | None) -> None:
    """Run the due periodic work once: reminders, feedback requests, mail."""
    from web.due import run_due

    counts = run_due(parse_instant(now, "--now") or datetime.now(UTC))
    click.echo("  ".join(f"{name}: {count}" for name, count in counts.items()))


@main.command("sync")
@click.option("--now", help="Sync as of this time (ISO 8601); default: now.")
@with_appcontext
def sync_command(now: str | None) -> None:
    """Refresh the busy time of every connected calendar once."""
    from web.sync import sync_all

    summary = sync_all(parse_instant(now, "--now") or datetime.now(UTC))
    click.echo(
        f"calendars: {summary.connections}  read: {summary.read}  "
        f"unchanged: {summary.unchanged}  failed: {summary.failed}  "
        f"needs reconnect: {summary.needs_reconnect}"
    )
    for error in summary.errors:
        click.echo(f"  {error}", err=True)


@main.command()
@click.option("--workers", default=2, show_default=True, help="Worker threads.")
@with_appcontext
def worker(workers: int) -> None:
    """Run the Huey consumer: outbox delivery and the periodic work."""
    queue = current_app.extensions["torace.tasks"]
    consumer = queue.huey.create_consumer(workers=workers, worker_type="thread")
    consumer.run()


@main.group()
def feedback() -> None:
    """Read the feedback participants gave."""


@feedback.command("export")
@click.argument("slug")
@click.option("--format", "fmt", type=click.Choice(["csv"]), default="csv")
@click.option("--output", type=click.Path(path_type=Path), help="File; default stdout.")
@with_appcontext
def feedback_export(slug: str, fmt: str, output: Path | None) -> None:
    """Write every feedback response of program SLUG as CSV."""
    from web.feedback import export_csv

    text = export_csv(managed_program(slug))
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")


@main.group()
def admin() -> None:
    """Manage administrator accounts."""


@admin.command("create")
@click.argument("email")
@click.option(
    "--program",
    "programs",
    multiple=True,
    help="Limit the account to this program slug; repeat for several.",
)
@with_appcontext
def admin_create(email: str, programs: tuple[str, ...]) -> None:
    """Create an administrator or set their password.

    The password comes from TORACE_ADMIN_PASSWORD or is asked for.
    """
    acting = acting_admin()
    if acting is not None and not acting.organisation_wide:
        raise click.ClickException(
            f"administrator {acting.email} may not create administrators; "
            "ask an organisation-wide administrator"
        )
    email = email.strip().lower()
    if not EMAIL.match(email):
        raise click.BadParameter(
            f"{email!r} is not an email address; write it like lead@school.org",
            param_hint="EMAIL",
        )
    scoped = [program_by_slug(slug) for slug in programs]
    password = os.environ.get("TORACE_ADMIN_PASSWORD") or click.prompt(
        "Password", hide_input=True, confirmation_prompt=True
    )
    if len(password) < 8:
        raise click.ClickException("the password needs at least 8 characters")
    account = db.session.scalar(db.select(Admin).filter_by(email=email))
    if account is None:
        account = Admin(email=email)
        db.session.add(account)
    account.set_password(password)
    account.organisation_wide = not programs
    account.programs = scoped
    db.session.commit()
    scope = ", ".join(programs) if programs else "all programs"
    click.echo(f"administrator {email} can manage {scope}")


main.add_command(busy)
main.add_command(slots)
main.add_command(demo)
main.add_command(call)
program.add_command(program_templates)
program.add_command(program_new)
program.add_command(program_approve_event)
