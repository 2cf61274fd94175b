from flask import Flask

from web.extensions import db
from web.models import Admin


def test_repeated_wrong_passwords_are_slowed_down(app: Flask) -> None:
    app.config["WTF_CSRF_ENABLED"] = False
    account = Admin(email="lead@example.org", organisation_wide=True)
    account.set_password("correct horse")
    db.session.add(account)
    db.session.commit()
    client = app.test_client()
    form = {"email": "lead@example.org", "password": "wrong"}

    answers = [client.post("/login", data=form).status_code for _ in range(10)]
    blocked = client.post("/login", data={**form, "password": "correct horse"})

    assert answers == [200] * 10
    assert blocked.status_code == 429
    assert b"Too many login attempts" in blocked.data


def test_huge_series_id_is_not_found(app: Flask) -> None:
    from tests.web.factories import make_program

    app.config["WTF_CSRF_ENABLED"] = False
    account = Admin(email="lead@example.org", organisation_wide=True)
    account.set_password("correct horse")
    db.session.add(account)
    make_program("pilot")
    db.session.commit()
    client = app.test_client()
    client.post(
        "/login", data={"email": "lead@example.org", "password": "correct horse"}
    )

    response = client.get("/programs/pilot/series/99999999999999999999")

    assert response.status_code == 404


def test_admin_create_rejects_a_bad_email_before_asking(app: Flask) -> None:
    from click.testing import CliRunner
    from flask.cli import ScriptInfo

    from web.cli import main

    result = CliRunner().invoke(
        main,
        ["admin", "create", "not-an-email"],
        obj=ScriptInfo(create_app=lambda: app),
    )

    assert result.exit_code == 2
    assert "'not-an-email' is not an email address" in result.output
    assert "Password" not in result.output
    assert db.session.scalars(db.select(Admin)).all() == []
