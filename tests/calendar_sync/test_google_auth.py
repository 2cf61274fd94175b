"""Google OAuth consent and code exchange against the Google fake."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from calendar_sync.errors import AuthError
from calendar_sync.google import (
    SCOPES,
    GoogleCalendar,
    google_auth_url,
    google_exchange_code,
)
from tests.fakes.google_fake import GoogleFake
from tests.fakes.tls import TlsFiles, make_loopback_cert

REDIRECT_URI = "https://torace.test/oauth/google"


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_loopback_cert(Path(tmp_path_factory.mktemp("tls")))


@pytest.fixture
def fake(tls: TlsFiles) -> Iterator[GoogleFake]:
    with GoogleFake(tls) as running:
        running.add_calendar("primary")
        yield running


def consent_query(fake: GoogleFake) -> dict[str, list[str]]:
    url = google_auth_url(fake.client_config(), REDIRECT_URI, state="state-123")
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == fake.auth_uri
    return parse_qs(parts.query)


def test_auth_url_asks_for_offline_access(fake):
    query = consent_query(fake)

    assert query["access_type"] == ["offline"]
    assert query["prompt"] == ["consent"]


def test_auth_url_carries_state_and_redirect(fake):
    query = consent_query(fake)

    assert query["state"] == ["state-123"]
    assert query["redirect_uri"] == [REDIRECT_URI]
    assert query["response_type"] == ["code"]
    assert query["client_id"] == [fake.client_id]


def test_auth_url_requests_event_and_freebusy_scopes(fake):
    query = consent_query(fake)

    assert set(query["scope"][0].split()) == set(SCOPES)


def test_code_exchange_returns_refresh_token(fake, tls):
    code = fake.issue_code()

    info = google_exchange_code(
        fake.client_config(), REDIRECT_URI, code, ca_certs=str(tls.cert)
    )

    assert info["refresh_token"] in fake.refresh_tokens
    assert info["access_token"] in fake.access_tokens
    assert datetime.fromisoformat(info["expiry"]) > datetime.now(UTC)


def test_used_code_is_rejected(fake, tls):
    code = fake.issue_code()
    google_exchange_code(
        fake.client_config(), REDIRECT_URI, code, ca_certs=str(tls.cert)
    )

    with pytest.raises(AuthError, match="authorization code"):
        google_exchange_code(
            fake.client_config(), REDIRECT_URI, code, ca_certs=str(tls.cert)
        )


def test_exchanged_tokens_read_calendar(fake, tls):
    code = fake.issue_code()
    info = google_exchange_code(
        fake.client_config(), REDIRECT_URI, code, ca_certs=str(tls.cert)
    )
    calendar = GoogleCalendar(
        info,
        fake.client_config(),
        api_endpoint=fake.api_endpoint,
        ca_certs=str(tls.cert),
    )

    report = calendar.read_busy(
        datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 2, tzinfo=UTC)
    )

    assert report.warnings == []
    assert not calendar.token_info_changed


def test_token_info_without_refresh_token_rejected(fake):
    with pytest.raises(ValueError, match="refresh_token"):
        GoogleCalendar({"access_token": "x"}, fake.client_config())
