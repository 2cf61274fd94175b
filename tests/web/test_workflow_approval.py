"""Approval by the signed link in the approval email, and two approvers at once."""

from __future__ import annotations

import re
import threading
from email import message_from_bytes, policy

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.web.factories import add_mentor, make_person, make_program, make_series
from web.booking import approve, request_approval
from web.extensions import db
from web.links import link_url
from web.models import Admin, OutboxMessage, Series


@pytest.fixture
def pending(app: Flask) -> Series:
    """A pending series in program pilot, whose administrator is pat."""
    program = make_program("pilot")
    series = make_series(
        program, make_person("maya@example.org"), make_person("ada@example.org")
    )
    make_program("other")
    for email, programs in (("pat@example.org", [program]), ("oz@example.org", [])):
        account = Admin(email=email, organisation_wide=False)
        account.set_password("correct horse")
        account.programs = programs
        db.session.add(account)
    db.session.commit()
    return series


def admin_id(email: str) -> int:
    return db.session.scalar(db.select(Admin.id).filter_by(email=email))


def mailed_link(series: Series) -> str:
    """Queue the approval email and return the series' link path from its text."""
    request_approval(series.program)
    row = db.session.scalar(db.select(OutboxMessage).filter_by(kind="approval-request"))
    message = message_from_bytes(row.raw, policy=policy.default)
    body = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    found = re.search(r"http://127\.0\.0\.1:5000(/l/approve/\S+)", body)
    assert found is not None, body
    return found.group(1)


def status_of(series: Series) -> str:
    db.session.expire_all()
    return db.session.get(Series, series.id).status


def test_approval_email_goes_to_the_program_admin(pending: Series) -> None:
    request_approval(pending.program)

    rows = db.session.scalars(
        db.select(OutboxMessage).filter_by(kind="approval-request")
    ).all()
    assert [r.recipient for r in rows] == ["pat@example.org"]
    assert "1 mentoring series to approve in Program pilot" == rows[0].subject


def test_approval_email_asked_twice_is_queued_once(pending: Series) -> None:
    request_approval(pending.program)

    assert request_approval(pending.program) == 0


def test_approval_link_get_shows_series_and_changes_nothing(
    client: FlaskClient, pending: Series
) -> None:
    response = client.get(mailed_link(pending))

    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Approve this series" in page
    assert "Maya" in page
    assert status_of(pending) == "pending-approval"


def test_approval_link_post_approves(client: FlaskClient, pending: Series) -> None:
    response = client.post(mailed_link(pending))

    assert response.status_code == 200
    assert "Approved." in response.get_data(as_text=True)
    assert status_of(pending) == "invited"
    assert db.session.get(Series, pending.id).approved_by == "admin:pat@example.org"


def test_approval_link_posted_twice_approves_once(
    client: FlaskClient, pending: Series
) -> None:
    link = mailed_link(pending)
    client.post(link)

    again = client.post(link)

    assert "Nothing changed" in again.get_data(as_text=True)
    invitations = db.session.scalars(
        db.select(OutboxMessage).filter_by(kind="invitation")
    ).all()
    assert len(invitations) == 2 * len(pending.sessions)


def test_link_for_other_programs_admin_rejected(
    client: FlaskClient, pending: Series
) -> None:
    link = link_url("approve", admin_id("oz@example.org"), pending.id, "v1")
    path = link.removeprefix("http://127.0.0.1:5000")

    assert client.post(path).status_code == 404
    assert status_of(pending) == "pending-approval"


def test_tampered_approval_link_is_rejected(
    client: FlaskClient, pending: Series
) -> None:
    link = mailed_link(pending)

    assert client.get(link[:-3] + "abc").status_code == 404


def test_two_admins_approving_at_once_approve_once(app: Flask, pending: Series) -> None:
    series_id = pending.id
    db.session.remove()
    start = threading.Barrier(2)
    results: dict[str, int] = {}

    def approve_as(actor: str) -> None:
        with app.app_context():
            series = db.session.get(Series, series_id)
            start.wait()
            results[actor] = len(approve([series], actor))
            db.session.remove()

    threads = [
        threading.Thread(target=approve_as, args=(f"admin:{name}@example.org",))
        for name in ("pat", "lead")
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(results.values()) == [0, 1]
    series = db.session.get(Series, series_id)
    assert series.status == "invited"
    winner = next(actor for actor, count in results.items() if count == 1)
    assert series.approved_by == winner
    invitations = db.session.scalars(
        db.select(OutboxMessage).filter_by(kind="invitation")
    ).all()
    assert len(invitations) == 2 * len(series.sessions)


def test_matching_run_asks_for_approval(app: Flask, pending: Series) -> None:
    from click.testing import CliRunner
    from flask.cli import ScriptInfo

    from web.cli import main
    from web.overrides import reject

    reject(pending, "test", "match again")
    add_mentor(pending.program, "kim@example.org")
    result = CliRunner().invoke(
        main,
        ["match", "pilot", "--now", "2026-12-01T00:00:00Z"],
        obj=ScriptInfo(create_app=lambda: app),
    )

    assert result.exit_code == 0, result.output
    assert "approval requested from 1 administrator(s)" in result.output
