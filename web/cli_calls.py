"""``torace call``: emails that ask mentees for requests and mentors to volunteer."""

from __future__ import annotations

import logging

import click
from flask.cli import with_appcontext

from web.audit import record
from web.cli_common import program_by_slug
from web.extensions import db
from web.links import link_url
from web.models import Membership, Person, Program
from web.outbox import queue_mail

log = logging.getLogger(__name__)
MENTOR_ROLES = ("mentor", "both")
MENTEE_ROLES = ("mentee", "both")


class PoolError(ValueError):
    """A pool name that matches no program, site or keyword."""


def program_mentees(program: Program) -> list[Person]:
    """Return every mentee in ``program``, by email."""
    return list(
        db.session.scalars(
            db.select(Person)
            .join(Membership, Membership.person_id == Person.id)
            .filter(
                Membership.program_id == program.id,
                Membership.role.in_(MENTEE_ROLES),
            )
            .order_by(Person.email)
        )
    )


def send_call_for_requests(program: Program, round_number: int = 1) -> int:
    """Queue a call for requests to each mentee of ``program``; commit.

    Returns the number of messages queued. A round already sent queues no
    second copy, and unsubscribed people get none.
    """
    queued = 0
    for person in program_mentees(program):
        message = queue_mail(
            "call-for-requests",
            f"{program.slug}:{round_number}",
            person,
            f"{program.name}: ask for a mentor",
            "call_for_requests",
            program=program,
            request_url=link_url("request", person.id, program.id),
        )
        queued += message is not None
    record("cli", "call.requests", program, round=round_number, queued=queued)
    db.session.commit()
    log.info("queued %d calls for requests in program %s", queued, program.slug)
    return queued


def mentor_pool(pool: str) -> list[Person]:
    """Return the people a call for mentors goes to; paused people are left out.

    ``all`` means every person who is a mentor in any program. A program
    slug means that program's mentors. Anything else is a site name, matched
    case-insensitively against the mentors of every program.
    """
    query = (
        db.select(Person)
        .join(Membership, Membership.person_id == Person.id)
        .filter(Membership.role.in_(MENTOR_ROLES), Person.paused.is_(False))
        .distinct()
        .order_by(Person.email)
    )
    if pool == "all":
        return list(db.session.scalars(query))
    program = db.session.scalar(db.select(Program).filter_by(slug=pool))
    if program is not None:
        return list(
            db.session.scalars(query.filter(Membership.program_id == program.id))
        )
    people = list(
        db.session.scalars(query.filter(db.func.lower(Person.site) == pool.lower()))
    )
    if not people:
        raise PoolError(
            f"pool {pool!r} is not 'all', a program slug or the site of any mentor"
        )
    return people


def send_call_for_mentors(program: Program, people: list[Person]) -> int:
    """Queue a call for mentors for every topic of ``program``; commit."""
    if program.kind != "one-off":
        raise PoolError(
            f"program {program.slug} is a {program.kind} program; calls for "
            "mentors are for one-off programs"
        )
    queued = 0
    for person in people:
        urls = [
            (t.name, link_url("volunteer", person.id, t.id)) for t in program.topics
        ]
        message = queue_mail(
            "call-for-mentors",
            program.slug,
            person,
            f"{program.name}: mentors wanted",
            "call_for_mentors",
            program=program,
            volunteer_urls=urls,
        )
        queued += message is not None
    record("cli", "call.mentors", program, people=len(people), queued=queued)
    db.session.commit()
    log.info("queued %d calls for mentors in program %s", queued, program.slug)
    return queued


@click.group()
def call() -> None:
    """Email calls: for requests from mentees, for mentors to volunteer."""


@call.command("requests")
@click.argument("slug")
@click.option(
    "--round",
    "round_number",
    default=1,
    show_default=True,
    help="Raise to send the call again to everyone; the same round never repeats.",
)
@with_appcontext
def call_requests(slug: str, round_number: int) -> None:
    """Email every mentee of program SLUG a link to ask for a topic."""
    queued = send_call_for_requests(program_by_slug(slug), round_number)
    click.echo(f"queued {queued} calls for requests; `torace run-due` sends them")


@call.command("mentors")
@click.argument("slug")
@click.option(
    "--pool",
    default="all",
    show_default=True,
    help="'all' (mentors of every program), a program slug, or a site name.",
)
@with_appcontext
def call_mentors(slug: str, pool: str) -> None:
    """Email the mentors of POOL a volunteer link for each topic of SLUG."""
    program = program_by_slug(slug)
    try:
        queued = send_call_for_mentors(program, mentor_pool(pool))
    except PoolError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"queued {queued} calls for mentors; `torace run-due` sends them")
