"""The calendar connection pages: signed links, CalDAV, feeds and Google OAuth."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from tests.calendar_sync.servers import free_port, start_radicale
from tests.fakes.google_fake import GoogleFake
from tests.fakes.tls import TlsFiles, make_loopback_cert
from tests.web.factories import make_person, make_program
from web.crypto import secret_box
from web.extensions import db
from web.links import link_url
from web.models import Admin, CalendarConnection, Membership

USER, PASSWORD = "mentor", "right-password"


@pytest.fixture(scope="module")
def radicale(tmp_path_factory) -> Iterator[str]:
    """Radicale checking plain-text htpasswd logins; yields its root URL."""
    folder = tmp_path_factory.mktemp("radicale-auth")
    users = folder / "users"
    users.write_text(f"{USER}:{PASSWORD}\n")
    server = start_radicale(
        folder,
        [
            "--auth-type",
            "htpasswd",
            "--auth-htpasswd-filename",
            str(users),
            "--auth-htpasswd-encryption",
            "plain",
        ],
    )
    session = requests.Session()
    session.trust_env = False
    session.auth = (USER, PASSWORD)
    for name in ("work", "home"):
        url = f"{server.root_url}{USER}/{name}/"
        session.request("MKCALENDAR", url, timeout=10).raise_for_status()
    yield server.root_url
    server.stop()


@pytest.fixture
def person(app):
    person = make_person("mentor@example.org")
    db.session.commit()
    return person


def page_path(person) -> str:
    return urlsplit(link_url("connect", person.id, person.id)).path


def connections() -> list[CalendarConnection]:
    return list(db.session.scalars(db.select(CalendarConnection)))


def test_page_shows_connect_forms(client, person):
    reply = client.get(page_path(person))

    assert reply.status_code == 200
    assert b"Connect CalDAV calendar" in reply.data
    assert b"Connect feed" in reply.data


def test_page_get_changes_nothing(client, person):
    client.get(page_path(person))

    assert connections() == []


def test_tampered_link_rejected(client, person):
    reply = client.get(page_path(person) + "x")

    assert reply.status_code == 404


def test_caldav_wrong_password_stores_nothing(client, person, radicale):
    reply = client.post(
        page_path(person) + "/caldav",
        data={"url": radicale, "username": USER, "password": "wrong"},
    )

    assert reply.status_code == 422
    assert b"rejected the user name or password" in reply.data
    assert connections() == []


def test_caldav_unreachable_url_stores_nothing(client, person):
    closed = f"http://127.0.0.1:{free_port()}/"
    reply = client.post(
        page_path(person) + "/caldav",
        data={"url": closed, "username": USER, "password": PASSWORD},
    )

    assert reply.status_code == 422
    assert b"No CalDAV calendar was found" in reply.data
    assert connections() == []


def test_caldav_two_calendars_asks_which(client, person, radicale):
    reply = client.post(
        page_path(person) + "/caldav",
        data={"url": radicale, "username": USER, "password": PASSWORD},
    )

    assert b"Choose a calendar" in reply.data
    assert f"{radicale}{USER}/work/".encode() in reply.data
    assert connections() == []


def test_caldav_chosen_calendar_stored_encrypted(client, person, radicale):
    first = client.post(
        page_path(person) + "/caldav",
        data={"url": radicale, "username": USER, "password": PASSWORD},
    )
    pending = first.data.split(b'name="pending" value="')[1].split(b'"')[0]
    chosen = f"{radicale}{USER}/home/"

    reply = client.post(
        page_path(person) + "/caldav",
        data={"pending": pending.decode(), "calendar": chosen},
    )

    [connection] = connections()
    assert reply.status_code == 302
    assert (connection.kind, connection.url) == ("caldav", chosen)
    assert PASSWORD not in connection.secret
    assert secret_box().decrypt(connection.secret) == PASSWORD


def test_caldav_radicale_recognised_for_quirks(client, person, radicale):
    first = client.post(
        page_path(person) + "/caldav",
        data={"url": radicale, "username": USER, "password": PASSWORD},
    )
    pending = first.data.split(b'name="pending" value="')[1].split(b'"')[0]
    client.post(
        page_path(person) + "/caldav",
        data={"pending": pending.decode(), "calendar": f"{radicale}{USER}/work/"},
    )

    [connection] = connections()
    assert connection.sync_state["server"] == "radicale"


def test_feed_that_is_not_a_calendar_stores_nothing(client, person, radicale):
    reply = client.post(page_path(person) + "/feed", data={"url": "ftp://x/y.ics"})

    assert reply.status_code == 422
    assert b"not a web address" in reply.data
    assert connections() == []


def test_disconnect_removes_connection(client, person):
    connection = CalendarConnection(person=person, kind="ics-feed", url="http://x/")
    db.session.add(connection)
    db.session.commit()

    client.post(f"{page_path(person)}/{connection.id}/disconnect")

    assert connections() == []


# -- Google OAuth ------------------------------------------------------------


@pytest.fixture(scope="module")
def tls(tmp_path_factory) -> TlsFiles:
    return make_loopback_cert(Path(tmp_path_factory.mktemp("tls")))


@pytest.fixture
def google(app, tls) -> Iterator[GoogleFake]:
    with GoogleFake(tls) as fake:
        app.config["TORACE"] = dataclasses.replace(
            app.config["TORACE"],
            google_client_id=fake.client_id,
            google_client_secret=fake.client_secret,
            google_auth_uri=fake.auth_uri,
            google_token_uri=fake.token_uri,
            google_api_endpoint=fake.api_endpoint,
            calendar_ca_bundle=str(tls.cert),
        )
        yield fake


def start_google(client, person) -> str:
    reply = client.post(page_path(person) + "/google")
    assert reply.status_code == 302
    return parse_qs(urlsplit(reply.headers["Location"]).query)["state"][0]


def test_google_start_redirects_to_consent(client, person, google):
    reply = client.post(page_path(person) + "/google")

    location = reply.headers["Location"]
    assert location.startswith(google.auth_uri)
    assert connections() == []


def test_google_callback_stores_encrypted_grant(client, person, google):
    state = start_google(client, person)
    code = google.issue_code()

    reply = client.get(f"/oauth/google/callback?state={state}&code={code}")

    [connection] = connections()
    info = json.loads(secret_box().decrypt(connection.secret))
    assert reply.status_code == 302
    assert connection.kind == "google"
    assert info["refresh_token"] in google.refresh_tokens
    assert info["refresh_token"] not in connection.secret


def test_google_callback_state_works_once(client, person, google):
    state = start_google(client, person)
    client.get(f"/oauth/google/callback?state={state}&code={google.issue_code()}")

    reply = client.get(
        f"/oauth/google/callback?state={state}&code={google.issue_code()}"
    )

    assert reply.status_code == 400
    assert len(connections()) == 1


def test_google_callback_unknown_state_rejected(client, person, google):
    reply = client.get(
        f"/oauth/google/callback?state=made-up&code={google.issue_code()}"
    )

    assert reply.status_code == 400
    assert connections() == []


def test_session_cookie_carries_no_token(client, person, google):
    state = start_google(client, person)
    client.get(f"/oauth/google/callback?state={state}&code={google.issue_code()}")

    cookies = " ".join(c.value for c in client._cookies.values())
    info = json.loads(secret_box().decrypt(connections()[0].secret))
    assert info["refresh_token"] not in cookies
    assert state not in cookies


# -- the administrators' list ------------------------------------------------


def test_admin_list_needs_login(client):
    reply = client.get("/admin/calendars")

    assert reply.status_code == 302


@pytest.fixture
def admin_client(app, client):
    """Return a function that logs ``client`` in as a new administrator."""
    app.config["WTF_CSRF_ENABLED"] = False

    def log_in(email: str, programs: list | None = None):
        admin = Admin(email=email, organisation_wide=programs is None)
        admin.set_password("pw")
        admin.programs = programs or []
        db.session.add(admin)
        db.session.commit()
        client.post("/login", data={"email": email, "password": "pw"})
        return client

    return log_in


def add_connection(person, **values) -> CalendarConnection:
    connection = CalendarConnection(person=person, kind="caldav", url="http://x/")
    for name, value in values.items():
        setattr(connection, name, value)
    db.session.add(connection)
    db.session.commit()
    return connection


def test_admin_list_shows_last_error(admin_client, person):
    add_connection(person, status="error", last_error="the server timed out")

    reply = admin_client("boss@example.org").get("/admin/calendars")

    assert b"the server timed out" in reply.data
    assert b"mentor@example.org" in reply.data


def test_program_admin_sees_only_own_members(admin_client, person):
    program = make_program()
    db.session.add(Membership(program=program, person=person, role="mentor"))
    add_connection(person)
    add_connection(make_person("outsider@example.org"))

    reply = admin_client("pat@example.org", [program]).get("/admin/calendars")

    assert b"mentor@example.org" in reply.data
    assert b"outsider@example.org" not in reply.data
