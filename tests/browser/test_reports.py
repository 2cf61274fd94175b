"""An administrator reads a program's reports in a real browser."""

from __future__ import annotations

import pytest

from tests.web.factories import booked_series
from web.extensions import db
from web.models import Admin

pytestmark = pytest.mark.browser


def test_admin_reads_charts_and_downloads_csv(live_server, page) -> None:
    series = booked_series(sessions=1)
    account = Admin(email="lead@example.org", organisation_wide=True)
    account.set_password("correct horse")
    db.session.add(account)
    db.session.commit()

    page.goto(f"{live_server}/login")
    page.get_by_label("Email").fill("lead@example.org")
    page.get_by_label("Password").fill("correct horse")
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{live_server}/programs/{series.program.slug}/reports")

    chart = page.get_by_role("img", name="Series per mentor")
    assert chart.is_visible()
    assert "Mentor load" in page.content()
    with page.expect_download() as download:
        page.get_by_role("link", name="Download rating distribution as CSV").click()
    assert download.value.suggested_filename == "pilot-ratings.csv"
