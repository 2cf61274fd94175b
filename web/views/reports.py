"""Report pages for administrators: tables, SVG bar charts and CSV exports."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, Response, abort, render_template
from flask_login import current_user, login_required

from web import csv_export
from web.extensions import db
from web.models import Program
from web.reports import Table, program_report

bp = Blueprint("reports", __name__)

BAR_HEIGHT = 22
BAR_GAP = 8
LABEL_WIDTH = 220
PLOT_WIDTH = 360
VALUE_WIDTH = 90


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    text: str
    y: int
    width: float


@dataclass(frozen=True)
class Chart:
    """A horizontal bar chart, laid out for the SVG macro in reports/_chart.html."""

    ident: str
    title: str
    bars: list[Bar]
    height: int
    label_width: int = LABEL_WIDTH
    plot_width: int = PLOT_WIDTH
    value_width: int = VALUE_WIDTH


def bar_chart(
    ident: str, title: str, items: list[tuple[str, float | None, str]]
) -> Chart:
    """Lay out one bar per ``(label, value, text)``; None values draw no bar."""
    top = max([value or 0 for _, value, _ in items] + [0])
    bars = []
    for index, (label, value, text) in enumerate(items):
        width = 0.0 if not top or value is None else PLOT_WIDTH * value / top
        bars.append(Bar(label, value or 0, text, index * (BAR_HEIGHT + BAR_GAP), width))
    height = max(len(items), 1) * (BAR_HEIGHT + BAR_GAP)
    return Chart(ident, title, bars, height)


def percent(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.0f}%"


def program_or_404(slug: str) -> Program:
    """Return the program ``slug`` if the logged-in administrator manages it, or 404."""
    program = db.session.scalar(db.select(Program).filter_by(slug=slug))
    if program is None or not current_user.can_manage(program):
        abort(404, f"No program {slug!r} that you manage.")
    return program


def charts(tables: dict[str, Table]) -> list[Chart]:
    """Build the charts of the report page from its tables."""
    ratings = tables["ratings"].rows
    topics = tables["topics"].rows
    sites = tables["sites"].rows
    mentors = tables["mentors"].rows
    return [
        bar_chart(
            "ratings",
            "Answers per rating",
            [(f"{n} of 5", count, str(count)) for n, count in ratings],
        ),
        bar_chart(
            "topics",
            "Share of requests matched, by topic",
            [(row[0], row[3], f"{percent(row[3])} of {row[1]}") for row in topics],
        ),
        bar_chart(
            "sites",
            "Share of requests matched, by site of the mentee",
            [(row[0], row[3], f"{percent(row[3])} of {row[1]}") for row in sites],
        ),
        bar_chart(
            "mentors",
            "Series per mentor",
            [(row[1], row[3], str(row[3])) for row in mentors],
        ),
    ]


@bp.route("/programs/<slug>/reports", endpoint="program_report")
@login_required
def program_report_page(slug: str):
    """Show every report table and chart of one program."""
    program = program_or_404(slug)
    tables = program_report(program)
    return render_template(
        "reports/program.html",
        program=program,
        tables=tables,
        charts=charts(tables),
        percent=percent,
    )


@bp.route("/programs/<slug>/reports/<name>.csv")
@login_required
def table_csv(slug: str, name: str):
    """Download one report table as CSV, with its header row."""
    program = program_or_404(slug)
    table = program_report(program).get(name)
    if table is None:
        abort(404, f"No report table {name!r}.")
    return Response(
        to_csv(table),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{slug}-{name}.csv"'},
    )


def to_csv(table: Table) -> str:
    return csv_export.to_csv(table.columns, table.rows)
