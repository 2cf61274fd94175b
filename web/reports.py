"""Program reports as plain tables: who asked, who was matched, how it went.

Definitions used throughout:

- a request counts unless it was withdrawn; it is matched when its status
  is ``matched``;
- a session is held when its status is ``completed``;
- a feedback request goes to both people of a session once its
  ``feedback_requested_at`` is set, so each such session counts two;
- the response rate is feedback answers divided by feedback requests;
- a pair is a series that was not cancelled or declined; it is cross-site
  when mentor and mentee have different sites;
- groups by site and by title use the mentee's site and title.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from web.extensions import db
from web.models import (
    Feedback,
    FollowUp,
    Membership,
    MentoringSession,
    Program,
    Request,
    Series,
)

DROPPED_SERIES = ("cancelled", "declined")
NO_SITE = "(no site)"
NO_TITLE = "(no title)"
GROUP_COLUMNS = (
    "requests",
    "matched",
    "matched_share",
    "sessions_held",
    "feedback_requests_sent",
    "feedback_answers",
    "response_rate",
    "mean_rating",
)


@dataclass(frozen=True)
class Table:
    """One report table: a header row and rows of plain values."""

    name: str
    title: str
    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]] = field(default_factory=list)


def share(part: int, whole: int) -> float | None:
    """``part / whole`` rounded to 4 places; None when ``whole`` is 0."""
    return None if whole == 0 else round(part / whole, 4)


def mean(values: list[int]) -> float | None:
    return None if not values else round(sum(values) / len(values), 2)


@dataclass
class _Rows:
    """The program's rows, read once."""

    requests: list[Request]
    series: list[Series]
    sessions: list[MentoringSession]
    answers: list[Feedback]
    follow_ups: list[FollowUp]
    mentors: list[Membership]


def _read(program: Program) -> _Rows:
    scalars = db.session.scalars
    return _Rows(
        requests=list(
            scalars(
                db.select(Request)
                .filter(Request.program_id == program.id)
                .filter(Request.status != "withdrawn")
                .order_by(Request.id)
            )
        ),
        series=list(
            scalars(
                db.select(Series).filter_by(program_id=program.id).order_by(Series.id)
            )
        ),
        sessions=list(
            scalars(
                db.select(MentoringSession)
                .join(MentoringSession.series)
                .filter(Series.program_id == program.id)
                .order_by(MentoringSession.id)
            )
        ),
        answers=list(
            scalars(
                db.select(Feedback)
                .join(Feedback.session)
                .join(MentoringSession.series)
                .filter(Series.program_id == program.id)
                .order_by(Feedback.id)
            )
        ),
        follow_ups=list(
            scalars(
                db.select(FollowUp)
                .join(FollowUp.series)
                .filter(Series.program_id == program.id)
                .order_by(FollowUp.id)
            )
        ),
        mentors=[m for m in program.memberships if m.is_mentor],
    )


def _group_rows(
    rows: _Rows,
    labels: Iterable[str],
    of_request: Callable[[Request], str],
    of_series: Callable[[Series], str],
) -> list[tuple[Any, ...]]:
    """One row of GROUP_COLUMNS per label, in the order given."""
    requests: Counter[str] = Counter(of_request(r) for r in rows.requests)
    matched: Counter[str] = Counter(
        of_request(r) for r in rows.requests if r.status == "matched"
    )
    held: Counter[str] = Counter()
    sent: Counter[str] = Counter()
    for s in rows.sessions:
        label = of_series(s.series)
        held[label] += s.status == "completed"
        sent[label] += 2 if s.feedback_requested_at is not None else 0
    ratings: dict[str, list[int]] = defaultdict(list)
    for answer in rows.answers:
        ratings[of_series(answer.session.series)].append(answer.rating)

    return [
        (
            label,
            requests[label],
            matched[label],
            share(matched[label], requests[label]),
            held[label],
            sent[label],
            len(ratings[label]),
            share(len(ratings[label]), sent[label]),
            mean(ratings[label]),
        )
        for label in labels
    ]


def _topic(request: Request) -> str:
    return request.topic.name


def _site(site: str) -> str:
    return site or NO_SITE


def topics_table(program: Program, rows: _Rows) -> Table:
    labels = [t.name for t in program.topics]
    body = _group_rows(
        rows, labels, _topic, lambda series: series.match.request.topic.name
    )
    return Table("topics", "By topic", ("topic", *GROUP_COLUMNS), body)


def sites_table(rows: _Rows) -> Table:
    labels = sorted({_site(r.mentee.site) for r in rows.requests})
    body = _group_rows(
        rows,
        labels,
        lambda request: _site(request.mentee.site),
        lambda series: _site(series.mentee.site),
    )
    return Table("sites", "By site of the mentee", ("site", *GROUP_COLUMNS), body)


def titles_table(rows: _Rows) -> Table:
    def title(request: Request) -> str:
        return request.mentee.title or NO_TITLE

    requests = Counter(title(r) for r in rows.requests)
    matched = Counter(title(r) for r in rows.requests if r.status == "matched")
    body = [
        (label, requests[label], matched[label], share(matched[label], requests[label]))
        for label in sorted(requests)
    ]
    columns = ("title", "requests", "matched", "matched_share")
    return Table("titles", "Access by role or title of the mentee", columns, body)


def mentors_table(rows: _Rows) -> Table:
    """Series and sessions per mentor, including mentors with none."""
    live = [s for s in rows.series if s.status not in DROPPED_SERIES]
    series = Counter(s.mentor_id for s in live)
    held = Counter(s.series.mentor_id for s in rows.sessions if s.status == "completed")
    ratings: dict[int, list[int]] = defaultdict(list)
    for answer in rows.answers:
        if answer.person_id == answer.session.series.mentee_id:
            ratings[answer.session.series.mentor_id].append(answer.rating)

    people = {m.person_id: m.person for m in rows.mentors}
    people.update({s.mentor_id: s.mentor for s in rows.series})
    ordered = sorted(people.values(), key=lambda p: (-series[p.id], p.email))
    body = [
        (
            p.email,
            p.name,
            p.site,
            series[p.id],
            held[p.id],
            len(ratings[p.id]),
            mean(ratings[p.id]),
        )
        for p in ordered
    ]
    columns = (
        "mentor_email",
        "mentor_name",
        "site",
        "series",
        "sessions_held",
        "ratings_from_mentees",
        "mean_rating_from_mentees",
    )
    return Table("mentors", "Mentor load", columns, body)


def ratings_table(rows: _Rows) -> Table:
    counts = Counter(a.rating for a in rows.answers)
    body = [(n, counts[n]) for n in range(1, 6)]
    return Table("ratings", "Rating distribution", ("rating", "answers"), body)


def follow_ups_table(rows: _Rows) -> Table:
    body = [
        (
            f.series_id,
            f.person.email,
            f.series.role_of(f.person_id) or "",
            f.series.match.request.topic.name,
            f.status,
            f.created_at.isoformat(),
        )
        for f in rows.follow_ups
    ]
    columns = ("series", "person_email", "role", "topic", "status", "created_at")
    return Table("follow-ups", "Wishes to keep meeting", columns, body)


def summary_table(rows: _Rows) -> Table:
    matched = sum(r.status == "matched" for r in rows.requests)
    pairs = [s for s in rows.series if s.status not in DROPPED_SERIES]
    cross = sum(s.mentor.site != s.mentee.site for s in pairs)
    sent = sum(2 for s in rows.sessions if s.feedback_requested_at is not None)
    answers = len(rows.answers)
    body: list[tuple[Any, ...]] = [
        ("requests", len(rows.requests)),
        ("matched", matched),
        ("matched_share", share(matched, len(rows.requests))),
        ("pairs", len(pairs)),
        ("sessions_held", sum(s.status == "completed" for s in rows.sessions)),
        ("feedback_requests_sent", sent),
        ("feedback_answers", answers),
        ("response_rate", share(answers, sent)),
        ("mean_rating", mean([a.rating for a in rows.answers])),
        ("follow_up_wishes", len(rows.follow_ups)),
        ("cross_site_pairs", cross),
        ("cross_site_share", share(cross, len(pairs))),
    ]
    return Table("summary", "Program", ("metric", "value"), body)


def program_report(program: Program) -> dict[str, Table]:
    """Compute every report table of ``program``, by name, in display order."""
    rows = _read(program)
    tables = [
        summary_table(rows),
        topics_table(program, rows),
        sites_table(rows),
        titles_table(rows),
        mentors_table(rows),
        ratings_table(rows),
        follow_ups_table(rows),
    ]
    return {table.name: table for table in tables}
