"""``torace program`` commands for ready program files and speed events."""

from __future__ import annotations

import re
import sys
from datetime import UTC, datetime
from pathlib import Path

import click
from flask.cli import with_appcontext

from web.cli_common import parse_instant, program_by_slug
from web.cli_tools import EXAMPLES

# A checkout or editable install keeps examples/ next to the packages; an
# installed copy would find the files under the environment's share/ folder.
TEMPLATE_DIRS = (
    EXAMPLES / "templates",
    Path(sys.prefix) / "share" / "torace" / "templates",
)
SLUG = re.compile(r"^[A-Za-z0-9-]+$")


def templates_dir() -> Path:
    """The folder holding one program file per kind, or a ClickException."""
    for folder in TEMPLATE_DIRS:
        if any(folder.glob("*.toml")):
            return folder
    searched = ", ".join(str(folder) for folder in TEMPLATE_DIRS)
    raise click.ClickException(
        f"no program templates found (searched {searched}); reinstall Torace"
        " from its repository with `pip install -e .`"
    )


def template_kinds() -> dict[str, Path]:
    """Map each program kind to its ready program file."""
    return {path.stem: path for path in sorted(templates_dir().glob("*.toml"))}


def describe(path: Path) -> str:
    """The first sentence of a template's opening comment."""
    lines = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            break
        lines.append(line.lstrip("#").strip())
    text = " ".join(lines)
    sentence = text.split(". ")[0].rstrip(".")
    return sentence.partition(": ")[2] or sentence


@click.command("templates")
def program_templates() -> None:
    """List the program kinds that have a ready program file."""
    for kind, path in template_kinds().items():
        click.echo(f"{kind:<18} {describe(path)}")


@click.command("new")
@click.argument("kind")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--slug", help="Short id of the new program: letters, digits and '-'.")
@click.option("--name", help="Display name of the new program.")
@click.option("--force", is_flag=True, help="Overwrite FILE if it exists.")
def program_new(
    kind: str, file: Path, slug: str | None, name: str | None, force: bool
) -> None:
    """Write a ready program file of KIND to FILE, to edit and load."""
    kinds = template_kinds()
    if kind not in kinds:
        raise click.BadParameter(
            f"{kind!r} is not a program kind; use one of {', '.join(kinds)}",
            param_hint="KIND",
        )
    if file.exists() and not force:
        raise click.ClickException(
            f"{file} already exists; choose another file or pass --force"
        )
    if slug is not None and not SLUG.match(slug):
        raise click.BadParameter(
            f"{slug!r}; use letters, digits and '-' only, e.g. sel-spring-2027",
            param_hint="--slug",
        )

    text = kinds[kind].read_text(encoding="utf-8")
    if slug is not None:
        text = _set_value(text, "slug", slug)
    if name is not None:
        text = _set_value(text, "name", name)
    file.write_text(text, encoding="utf-8")
    click.echo(f"wrote {file}; edit it, then run `torace program load {file}`")


def _set_value(text: str, key: str, value: str) -> str:
    """Replace the string value of top-level ``key``, keeping the comments."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    pattern = re.compile(rf'^{key} = ".*"$', re.MULTILINE)
    return pattern.sub(lambda _: f'{key} = "{escaped}"', text, count=1)


@click.command("approve-event")
@click.argument("slug")
@click.option("--now", help="Approve as of this time (ISO 8601); default: now.")
@with_appcontext
def program_approve_event(slug: str, now: str | None) -> None:
    """Approve the speed event SLUG and queue invitations and schedules.

    The event time is fixed, so meetings are not re-checked or moved.
    """
    from web.speed import approve_event

    program = program_by_slug(slug)
    if program.kind != "speed":
        raise click.ClickException(
            f"program {slug} is a {program.kind} program; use `torace approve`"
        )
    instant = parse_instant(now, "--now") or datetime.now(UTC)
    approved = approve_event(program, "cli", instant)
    click.echo(f"approved {len(approved)} meetings; schedules queued")


PROGRAM_COMMANDS = (program_templates, program_new, program_approve_event)
