"""sync_all against the Google and Microsoft fakes and a real Radicale."""

from __future__ import annotations

import dataclasses
import html
import json
import logging
import math
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import text

from calendar_sync.google import SCOPES
from calendar_sync.microsoft import MicrosoftAuth
from tests.calendar_sync.servers import start_radicale
from tests.fakes import loopback_session
from tests.fakes.google_fake import GoogleFake
from tests.fakes.microsoft_fake import MicrosoftFake
from tests.fakes.tls import TlsFiles, make_loopback_cert
from tests.web.factories import make_person
from web.crypto import secret_box
from web.extensions import db
from web.models import BusyBlock, CalendarConnection, OutboxMessage
from web.sync import sync_all

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
# The sync range is one day back and 119 days ahead of NOW.
RANGE_START = NOW - timedelta(days=1)
RANGE_END = NOW + timedelta(days=119)
RANGE_DAYS = 120
GOOGLE_CHUNK_DAYS = 60
GRAPH_CHUNK_DAYS = 60


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_loopback_cert(Path(tmp_path_factory.mktemp("tls")))


def configure(app, **values: Any) -> None:
    settings = app.config["TORACE"]
    app.config["TORACE"] = dataclasses.replace(settings, **values)


@pytest.fixture
def google(app, tls) -> Iterator[GoogleFake]:
    with GoogleFake(tls) as fake:
        configure(
            app,
            google_client_id=fake.client_id,
            google_client_secret=fake.client_secret,
            google_auth_uri=fake.auth_uri,
            google_token_uri=fake.token_uri,
            google_api_endpoint=fake.api_endpoint,
            calendar_ca_bundle=str(tls.cert),
        )
        yield fake


@pytest.fixture
def microsoft(app, tls) -> Iterator[MicrosoftFake]:
    with MicrosoftFake(tls) as fake:
        fake.add_mailbox(fake.login_user)
        configure(
            app,
            microsoft_client_id=fake.client_id,
            microsoft_client_secret=fake.client_secret,
            microsoft_authority=fake.authority,
            microsoft_graph_url=fake.graph_url,
            calendar_ca_bundle=str(tls.cert),
        )
        yield fake


def google_token(fake: GoogleFake, expires_in: timedelta = timedelta(hours=1)):
    grant = fake.grant()
    expiry = (datetime.now(UTC) + expires_in).isoformat()
    return {**grant, "expiry": expiry, "scopes": list(SCOPES)}


def connect_google(
    email: str, calendar_id: str, token_info: dict[str, Any]
) -> CalendarConnection:
    connection = CalendarConnection(
        person=make_person(email),
        kind="google",
        url=calendar_id,
        secret=secret_box().encrypt(json.dumps(token_info)),
        sync_state={"grant": "g1"},
    )
    db.session.add(connection)
    db.session.commit()
    return connection


def msal_cache(fake: MicrosoftFake, tls: TlsFiles) -> str:
    """Sign in through real MSAL and the fake; return the token cache blob."""
    with loopback_session(tls) as session:
        auth = MicrosoftAuth(
            fake.client_id, fake.client_secret, fake.authority, http_client=session
        )
        flow = auth.initiate("https://torace.test/oauth/microsoft/callback", "s-1")
        reply = session.get(flow["auth_uri"], allow_redirects=False, timeout=5)
        fields = re.findall(r'name="([^"]+)" value="([^"]*)"', reply.text)
        blob, _ = auth.complete(flow, {k: html.unescape(v) for k, v in fields})
    return blob


def connect_microsoft(email: str, mailbox: str, owner: str, blob: str):
    connection = CalendarConnection(
        person=make_person(email),
        kind="microsoft",
        url=mailbox,
        account=owner,
        secret=secret_box().encrypt(blob),
        sync_state={"grant": "m1", "personal": False},
    )
    db.session.add(connection)
    db.session.commit()
    return connection


def blocks_of(connection: CalendarConnection) -> list[tuple[datetime, datetime, str]]:
    rows = db.session.scalars(
        db.select(BusyBlock)
        .filter_by(connection_id=connection.id)
        .order_by(BusyBlock.start)
    )
    return [(row.start, row.end, row.kind) for row in rows]


def one_hour_google(start: datetime) -> dict[str, Any]:
    return {
        "start": {"dateTime": start.isoformat(), "timeZone": "UTC"},
        "end": {"dateTime": (start + timedelta(hours=1)).isoformat()},
    }


# -- Google --------------------------------------------------------------


def test_google_shared_credential_batches_50_per_query(app, google):
    count = 120
    info = google_token(google)
    for n in range(count):
        google.add_calendar(f"mentor{n}@example.com")
        connect_google(f"mentor{n}@example.org", f"mentor{n}@example.com", info)

    sync_all(NOW)

    chunks = math.ceil(RANGE_DAYS / GOOGLE_CHUNK_DAYS)
    assert google.count("freeBusy") == math.ceil(count / 50) * chunks
    assert google.count("list") == 0
    assert google.count("token") == 0


def test_google_busy_time_stored_as_blocks(app, google):
    google.add_calendar("ana@example.com")
    meeting = datetime(2026, 3, 4, 15, 0, tzinfo=UTC)
    google.add_event("ana@example.com", one_hour_google(meeting))
    connection = connect_google(
        "ana@example.org", "ana@example.com", google_token(google)
    )

    sync_all(NOW)

    assert blocks_of(connection) == [(meeting, meeting + timedelta(hours=1), "busy")]
    assert connection.status == "ok"
    assert connection.last_sync_at == NOW


def test_google_not_found_calendar_becomes_unknown(app, google):
    connection = connect_google(
        "gone@example.org", "gone@example.com", google_token(google)
    )

    sync_all(NOW)

    assert blocks_of(connection) == [(RANGE_START, RANGE_END, "unknown")]
    assert connection.status == "error"
    assert re.search("not ?found", connection.last_error, re.IGNORECASE)


def test_google_revoked_grant_needs_reconnect(app, google):
    info = google_token(google, expires_in=timedelta(hours=-1))
    google.revoke(info["refresh_token"])
    connection = connect_google("ana@example.org", "primary", info)

    sync_all(NOW)

    assert connection.status == "needs-reconnect"
    assert blocks_of(connection) == [(RANGE_START, RANGE_END, "unknown")]


def test_google_revoked_grant_mails_once_over_two_runs(app, google):
    info = google_token(google, expires_in=timedelta(hours=-1))
    google.revoke(info["refresh_token"])
    connect_google("ana@example.org", "primary", info)

    sync_all(NOW)
    sync_all(NOW + timedelta(minutes=10))

    mails = db.session.scalars(db.select(OutboxMessage).filter_by(kind="reconnect"))
    assert [m.recipient for m in mails] == ["ana@example.org"]


def test_google_unchanged_calendars_skipped_second_run(app, google):
    for n in range(3):
        google.add_calendar(f"solo{n}@example.com")
        google.add_event(
            f"solo{n}@example.com", one_hour_google(NOW + timedelta(days=1))
        )
        connect_google(
            f"solo{n}@example.org", f"solo{n}@example.com", google_token(google)
        )
    sync_all(NOW)
    reads_after_first = google.count("freeBusy")

    summary = sync_all(NOW + timedelta(minutes=10))

    assert reads_after_first == 3 * math.ceil(RANGE_DAYS / GOOGLE_CHUNK_DAYS)
    assert google.count("freeBusy") == reads_after_first
    assert summary.unchanged == 3


def test_google_changed_calendar_read_again(app, google):
    google.add_calendar("solo@example.com")
    connection = connect_google(
        "solo@example.org", "solo@example.com", google_token(google)
    )
    sync_all(NOW)
    meeting = datetime(2026, 3, 5, 10, 0, tzinfo=UTC)
    google.add_event("solo@example.com", one_hour_google(meeting))

    sync_all(NOW + timedelta(minutes=10))

    assert blocks_of(connection) == [(meeting, meeting + timedelta(hours=1), "busy")]


def test_refreshed_google_token_stored_encrypted(app, google):
    info = google_token(google, expires_in=timedelta(hours=-1))
    google.add_calendar("ana@example.com")
    connection = connect_google("ana@example.org", "ana@example.com", info)

    sync_all(NOW)

    stored = json.loads(secret_box().decrypt(connection.secret))
    assert stored["access_token"] != info["access_token"]
    assert stored["access_token"] in google.access_tokens
    assert stored["refresh_token"] == info["refresh_token"]


def test_raw_secret_column_contains_no_token(app, google):
    info = google_token(google, expires_in=timedelta(hours=-1))
    google.add_calendar("ana@example.com")
    connection = connect_google("ana@example.org", "ana@example.com", info)
    sync_all(NOW)

    raw = db.session.execute(
        text("SELECT secret FROM calendar_connection WHERE id = :id"),
        {"id": connection.id},
    ).scalar_one()
    stored = json.loads(secret_box().decrypt(connection.secret))

    assert info["refresh_token"] not in raw
    assert stored["access_token"] not in raw


def test_tokens_never_logged(app, google, caplog):
    caplog.set_level(logging.DEBUG)
    info = google_token(google, expires_in=timedelta(hours=-1))
    google.add_calendar("ana@example.com")
    connect_google("ana@example.org", "ana@example.com", info)
    revoked = google_token(google, expires_in=timedelta(hours=-1))
    google.revoke(revoked["refresh_token"])
    connect_google("bo@example.org", "primary", revoked)

    sync_all(NOW)

    for token in [
        info["refresh_token"],
        revoked["refresh_token"],
        *google.access_tokens,
    ]:
        assert token not in caplog.text


# -- Microsoft -----------------------------------------------------------


def test_microsoft_shared_token_batches_20_per_call(app, microsoft, tls):
    count = 45
    blob = msal_cache(microsoft, tls)
    for n in range(count):
        microsoft.add_mailbox(f"mentor{n}@contoso.example")
        connect_microsoft(
            f"mentor{n}@example.org",
            f"mentor{n}@contoso.example",
            microsoft.login_user,
            blob,
        )

    sync_all(NOW)

    chunks = math.ceil(RANGE_DAYS / GRAPH_CHUNK_DAYS)
    assert microsoft.count("getSchedule") == math.ceil(count / 20) * chunks


def test_microsoft_unknown_mailbox_becomes_unknown(app, microsoft, tls):
    blob = msal_cache(microsoft, tls)
    connection = connect_microsoft(
        "ana@example.org", "nobody@contoso.example", microsoft.login_user, blob
    )

    sync_all(NOW)

    assert blocks_of(connection) == [(RANGE_START, RANGE_END, "unknown")]
    assert connection.status == "error"


def test_microsoft_revoked_grant_needs_reconnect(app, microsoft, tls):
    microsoft.token_lifetime = 60
    blob = msal_cache(microsoft, tls)
    microsoft.revoke_all()
    connection = connect_microsoft(
        "ana@example.org", microsoft.login_user, microsoft.login_user, blob
    )

    sync_all(NOW)
    sync_all(NOW + timedelta(minutes=10))

    mails = db.session.scalars(db.select(OutboxMessage).filter_by(kind="reconnect"))
    assert connection.status == "needs-reconnect"
    assert len(list(mails)) == 1


# -- CalDAV on Radicale ----------------------------------------------------


@pytest.fixture(scope="module")
def radicale_log(tmp_path_factory) -> Iterator[tuple[str, Path]]:
    """Radicale without authentication, logging every request."""
    folder = tmp_path_factory.mktemp("radicale-sync")
    server = start_radicale(folder, ["--auth-type", "none", "--logging-level", "info"])
    yield server.root_url, folder / "server.log"
    server.stop()


def make_caldav_calendar(base: str, name: str, meeting: datetime) -> str:
    session = requests.Session()
    session.trust_env = False
    session.auth = ("mentor", "any")
    url = f"{base}mentor/{name}/"
    session.request("MKCALENDAR", url, timeout=10).raise_for_status()
    stamp = meeting.strftime("%Y%m%dT%H%M%SZ")
    end = (meeting + timedelta(hours=1)).strftime("%Y%m%dT%H%M%SZ")
    body = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\n"
        f"UID:{name}-1\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:{stamp}\r\n"
        f"DTEND:{end}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    session.put(
        f"{url}event.ics",
        data=body.encode(),
        headers={"Content-Type": "text/calendar"},
        timeout=10,
    ).raise_for_status()
    return url


def reports_logged(log_path: Path) -> int:
    time.sleep(0.3)  # Radicale writes its log line after answering.
    return len(re.findall(r"REPORT request for", log_path.read_text()))


def connect_caldav(email: str, url: str) -> CalendarConnection:
    connection = CalendarConnection(
        person=make_person(email),
        kind="caldav",
        url=url,
        username="mentor",
        secret=secret_box().encrypt("any"),
        sync_state={"server": "radicale"},
    )
    db.session.add(connection)
    db.session.commit()
    return connection


def test_caldav_one_report_per_calendar(app, radicale_log):
    base, log_path = radicale_log
    meeting = datetime(2026, 3, 3, 14, 0, tzinfo=UTC)
    for n in range(3):
        connect_caldav(
            f"c{n}@example.org", make_caldav_calendar(base, f"one{n}", meeting)
        )
    before = reports_logged(log_path)

    sync_all(NOW)

    assert reports_logged(log_path) - before == 3


def test_caldav_busy_time_stored_as_blocks(app, radicale_log):
    base, _ = radicale_log
    meeting = datetime(2026, 3, 3, 14, 0, tzinfo=UTC)
    connection = connect_caldav(
        "c@example.org", make_caldav_calendar(base, "blocks", meeting)
    )

    sync_all(NOW)

    assert blocks_of(connection) == [(meeting, meeting + timedelta(hours=1), "busy")]


def test_caldav_unchanged_calendar_skipped_second_run(app, radicale_log):
    base, log_path = radicale_log
    meeting = datetime(2026, 3, 3, 14, 0, tzinfo=UTC)
    connect_caldav("c@example.org", make_caldav_calendar(base, "same", meeting))
    sync_all(NOW)
    before = reports_logged(log_path)

    summary = sync_all(NOW + timedelta(minutes=10))

    assert reports_logged(log_path) == before
    assert summary.unchanged == 1
