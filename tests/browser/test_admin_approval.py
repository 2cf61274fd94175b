import pytest

from tests.web.factories import booked_series
from web.extensions import db
from web.models import Admin, Series

pytestmark = pytest.mark.browser


@pytest.fixture
def admin_login(app) -> tuple[str, str]:
    account = Admin(email="lead@example.org", organisation_wide=True)
    account.set_password("correct horse")
    db.session.add(account)
    db.session.commit()
    return "lead@example.org", "correct horse"


def test_admin_approves_a_pending_series(live_server, page, admin_login) -> None:
    series = booked_series(sessions=2)
    email, password = admin_login

    page.goto(f"{live_server}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("link", name=series.program.name).click()
    page.get_by_label(f"Select series {series.id}").check()
    page.get_by_role("button", name="Approve selected").click()

    assert "Approved 1 series" in page.content()
    db.session.expire_all()
    assert db.session.get(Series, series.id).status == "invited"


def test_participant_confirms_through_the_mailed_link(live_server, page) -> None:
    from web.booking import approve, participant_links

    series = booked_series(sessions=1)
    approve([series], "admin")
    url = participant_links(series, series.mentee)["confirm"]

    page.goto(url)
    page.get_by_role("button", name="Confirm these sessions").click()

    assert "your sessions are confirmed" in page.content()
    db.session.expire_all()
    assert db.session.get(Series, series.id).mentee_confirmed


def test_admin_approves_through_the_emailed_link(
    live_server, page, admin_login
) -> None:
    from web.booking import series_fingerprint
    from web.links import link_url

    series = booked_series(sessions=1)
    admin = db.session.scalar(db.select(Admin).filter_by(email=admin_login[0]))
    url = link_url("approve", admin.id, series.id, series_fingerprint(series))

    page.goto(url)
    assert db.session.get(Series, series.id).status == "pending-approval"
    page.get_by_role("button", name="Approve this series").click()

    assert "Approved. The invitations are on their way." in page.content()
    db.session.expire_all()
    assert db.session.get(Series, series.id).status == "invited"


def test_program_admin_sees_no_other_program(live_server, page) -> None:
    from tests.web.factories import make_program

    series = booked_series(sessions=1)
    mine = make_program("mine")
    account = Admin(email="pat@example.org", organisation_wide=False)
    account.set_password("correct horse")
    account.programs = [mine]
    db.session.add(account)
    db.session.commit()

    page.goto(f"{live_server}/login")
    page.get_by_label("Email").fill("pat@example.org")
    page.get_by_label("Password").fill("correct horse")
    page.get_by_role("button", name="Log in").click()

    assert page.get_by_role("link", name=mine.name).count() == 1
    assert page.get_by_role("link", name=series.program.name).count() == 0
    response = page.goto(f"{live_server}/programs/{series.program.slug}")
    assert response is not None and response.status == 404
