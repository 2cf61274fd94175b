"""The admin pages for an organisation-wide and a program administrator."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.web.factories import add_mentor, make_person, make_program, make_series
from web.extensions import db
from web.models import (
    Admin,
    AuditEvent,
    CalendarConnection,
    OutboxMessage,
    Program,
    Series,
)
from web.overrides import reject

Login = Callable[[str], FlaskClient]


@pytest.fixture
def programs(app: Flask) -> dict[str, Series]:
    """Two programs with one pending series each, and nobody in both."""
    pilot, other = make_program("pilot"), make_program("other")
    return {
        "pilot": make_series(
            pilot, make_person("maya@example.org"), make_person("ada@example.org")
        ),
        "other": make_series(
            other, make_person("otto@example.org"), make_person("eli@example.org")
        ),
    }


@pytest.fixture
def login(app: Flask, programs: dict[str, Series]) -> Login:
    """Create both kinds of administrator; return a client logged in as one."""
    app.config["WTF_CSRF_ENABLED"] = False
    pilot = db.session.scalar(db.select(Program).filter_by(slug="pilot"))
    for email, wide in (("lead@example.org", True), ("pat@example.org", False)):
        account = Admin(email=email, organisation_wide=wide)
        account.set_password("correct horse")
        if not wide:
            account.programs = [pilot]
        db.session.add(account)
    db.session.commit()

    def log_in(email: str) -> FlaskClient:
        client = app.test_client()
        response = client.post(
            "/login", data={"email": email, "password": "correct horse"}
        )
        assert response.status_code == 302
        return client

    return log_in


def status_of(series: Series) -> str:
    db.session.expire_all()
    return db.session.get(Series, series.id).status


def test_index_lists_every_program_for_organisation_admin(login: Login) -> None:
    page = login("lead@example.org").get("/").get_data(as_text=True)

    assert "Program pilot" in page
    assert "Program other" in page


def test_index_lists_own_programs_for_program_admin(login: Login) -> None:
    page = login("pat@example.org").get("/").get_data(as_text=True)

    assert "Program pilot" in page
    assert "Program other" not in page


@pytest.mark.parametrize(
    "path",
    [
        "/programs/other",
        "/programs/other/people",
        "/programs/other/audit",
        "/programs/other/calendar-writes",
        "/programs/other/series/{other}",
        "/programs/pilot/series/{other}",
    ],
)
def test_program_admin_gets_404_for_other_program(
    login: Login, programs: dict[str, Series], path: str
) -> None:
    url = path.format(other=programs["other"].id)

    assert login("pat@example.org").get(url).status_code == 404


@pytest.mark.parametrize(
    "path",
    [
        "/programs/other",
        "/programs/other/people",
        "/programs/other/audit",
        "/programs/other/calendar-writes",
        "/programs/other/series/{other}",
    ],
)
def test_organisation_admin_sees_every_program_page(
    login: Login, programs: dict[str, Series], path: str
) -> None:
    url = path.format(other=programs["other"].id)

    assert login("lead@example.org").get(url).status_code == 200


@pytest.mark.parametrize(
    "path, form",
    [
        ("/programs/other/approve", {"all": "1"}),
        ("/programs/other/series/{other}/reject", {"note": "no"}),
        ("/programs/other/match", {}),
        ("/programs/pilot/series/{other}/reject", {"note": "no"}),
    ],
)
def test_program_admin_cannot_act_on_other_program(
    login: Login, programs: dict[str, Series], path: str, form: dict[str, str]
) -> None:
    url = path.format(other=programs["other"].id)

    response = login("pat@example.org").post(url, data=form)

    assert response.status_code == 404
    assert status_of(programs["other"]) == "pending-approval"


def test_program_page_shows_match_reasons_and_note(
    login: Login, programs: dict[str, Series]
) -> None:
    series = programs["pilot"]
    series.note, series.flagged = "Session 2 moved: mentor now busy.", True
    db.session.commit()

    page = login("pat@example.org").get("/programs/pilot").get_data(as_text=True)

    assert "Both work on literacy coaching." in page
    assert "Session 2 moved: mentor now busy." in page
    assert "Check this:" in page


def test_approve_selected_approves_only_those(app: Flask, login: Login) -> None:
    pilot = db.session.scalar(db.select(Program).filter_by(slug="pilot"))
    first = db.session.scalars(db.select(Series).filter_by(program_id=pilot.id)).one()
    second = make_series(
        pilot, make_person("noor@example.org"), make_person("bo@example.org")
    )

    login("pat@example.org").post("/programs/pilot/approve", data={"series": first.id})

    assert status_of(first) == "invited"
    assert status_of(second) == "pending-approval"


def test_approve_all_approves_every_pending_series(app: Flask, login: Login) -> None:
    pilot = db.session.scalar(db.select(Program).filter_by(slug="pilot"))
    second = make_series(
        pilot, make_person("noor@example.org"), make_person("bo@example.org")
    )

    login("pat@example.org").post("/programs/pilot/approve", data={"all": "1"})

    statuses = db.session.scalars(
        db.select(Series.status).filter_by(program_id=pilot.id)
    ).all()
    assert statuses == ["invited", "invited"]
    assert status_of(second) == "invited"


def test_reject_cancels_and_reopens_request_with_note(
    login: Login, programs: dict[str, Series]
) -> None:
    series = programs["pilot"]
    url = f"/programs/pilot/series/{series.id}/reject"

    login("pat@example.org").post(url, data={"note": "Maya is on leave in January"})

    db.session.expire_all()
    series = db.session.get(Series, series.id)
    assert series.status == "cancelled"
    assert {s.status for s in series.sessions} == {"cancelled"}
    assert series.match.request.status == "open"
    assert "Maya is on leave in January" in series.match.request.unmatched_reason


def test_reject_is_audited_with_its_note(
    login: Login, programs: dict[str, Series]
) -> None:
    series = programs["pilot"]
    client = login("pat@example.org")

    client.post(f"/programs/pilot/series/{series.id}/reject", data={"note": "leave"})

    event = db.session.scalar(db.select(AuditEvent).filter_by(action="series.rejected"))
    assert event.actor == "admin:pat@example.org"
    assert event.detail == {"note": "leave"}
    assert "series.rejected" in client.get("/programs/pilot/audit").get_data(
        as_text=True
    )


def test_reject_without_note_changes_nothing(
    login: Login, programs: dict[str, Series]
) -> None:
    series = programs["pilot"]
    url = f"/programs/pilot/series/{series.id}/reject"

    response = login("pat@example.org").post(url, data={"note": "  "})

    assert response.status_code == 302
    assert status_of(series) == "pending-approval"


def test_people_page_shows_calendar_status_and_load(
    login: Login, programs: dict[str, Series]
) -> None:
    mentor = programs["pilot"].mentor
    mentor.calendars.append(
        CalendarConnection(
            kind="caldav",
            url="https://cal.example.org/maya/",
            status="error",
            last_error="401 Unauthorized from cal.example.org",
        )
    )
    db.session.commit()

    page = login("pat@example.org").get("/programs/pilot/people").get_data(as_text=True)

    assert "401 Unauthorized from cal.example.org" in page
    assert "1 of 3 series" in page
    assert "eli@example.org" not in page


def test_calendar_writes_page_shows_failed_provider(
    login: Login, programs: dict[str, Series]
) -> None:
    series = programs["pilot"]
    series.sessions[0].calendar_write = "pending"
    series.mentor.calendars.append(
        CalendarConnection(
            kind="caldav",
            url="https://cal.example.org/maya/",
            status="error",
            last_error="connection refused",
        )
    )
    db.session.commit()

    page = login("pat@example.org").get("/programs/pilot/calendar-writes")

    text = page.get_data(as_text=True)
    assert "Maya" in text
    assert "connection refused" in text
    assert "Every event is written." not in text


def outbox_row(recipient: str, status: str = "pending", error: str = "") -> None:
    db.session.add(
        OutboxMessage(
            message_id=f"<{recipient}.{status}@test>",
            kind="invitation",
            recipient=recipient,
            subject=f"Mail to {recipient}",
            raw=b"",
            status=status,
            last_error=error,
        )
    )
    db.session.commit()


def test_outbox_for_program_admin_shows_own_program_mail(login: Login) -> None:
    outbox_row("ada@example.org", "rejected", "550 5.1.1 mailbox unknown")
    outbox_row("eli@example.org")

    page = login("pat@example.org").get("/outbox").get_data(as_text=True)

    assert "Mail to ada@example.org" in page
    assert "550 5.1.1 mailbox unknown" in page
    assert "Mail to eli@example.org" not in page


def test_outbox_for_organisation_admin_shows_all_mail(login: Login) -> None:
    outbox_row("ada@example.org")
    outbox_row("eli@example.org")

    page = login("lead@example.org").get("/outbox").get_data(as_text=True)

    assert "Mail to ada@example.org" in page
    assert "Mail to eli@example.org" in page


def test_pages_have_one_h1_and_labelled_controls(
    login: Login, programs: dict[str, Series]
) -> None:
    client = login("pat@example.org")
    series_url = f"/programs/pilot/series/{programs['pilot'].id}"

    for url in ("/", "/programs/pilot", "/programs/pilot/people", series_url):
        page = client.get(url).get_data(as_text=True)
        assert page.count("<h1") == 1, url
        assert "<th" in page, url
    page = client.get(series_url).get_data(as_text=True)
    assert '<label for="note">' in page
    assert 'id="note"' in page


def test_nav_links_the_report_page_when_it_exists(app: Flask, login: Login) -> None:
    if "reports.program_report" not in app.view_functions:
        app.add_url_rule("/reports/<slug>", "reports.program_report", lambda slug: slug)

    page = login("pat@example.org").get("/programs/pilot").get_data(as_text=True)

    assert ">Report</a>" in page


def test_rerun_matching_matches_an_open_request(app: Flask, login: Login) -> None:
    program = make_program("fresh")
    series = make_series(
        program, make_person("ivy@example.org"), make_person("jo@example.org")
    )
    reject(series, "test", "try again")
    # A rejected pair is never proposed again, so another mentor is needed.
    other = add_mentor(program, "kim@example.org")

    login("lead@example.org").post("/programs/fresh/match")

    found = db.session.scalars(
        db.select(Series).filter_by(program_id=program.id, status="pending-approval")
    ).all()
    assert len(found) == 1
    assert found[0].match.request.status == "matched"
    assert found[0].mentor_id == other.id


def test_rerun_matching_mails_approval_request(app: Flask, login: Login) -> None:
    program = make_program("fresh")
    series = make_series(
        program, make_person("ivy@example.org"), make_person("jo@example.org")
    )
    reject(series, "test", "try again")
    add_mentor(program, "kim@example.org")

    login("lead@example.org").post("/programs/fresh/match")

    rows = db.session.scalars(
        db.select(OutboxMessage).filter_by(kind="approval-request")
    ).all()
    assert [r.recipient for r in rows] == ["lead@example.org"]
