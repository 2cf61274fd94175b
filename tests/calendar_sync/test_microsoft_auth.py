"""MicrosoftAuth sign-in and token refresh through real MSAL and the fake."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from calendar_sync.errors import AuthError
from calendar_sync.microsoft import MicrosoftAuth
from tests.fakes import loopback_session
from tests.fakes.microsoft_fake import MicrosoftFake
from tests.fakes.tls import TlsFiles, make_loopback_cert

REDIRECT_URI = "https://torace.test/oauth/microsoft"


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_loopback_cert(Path(tmp_path_factory.mktemp("tls")))


@pytest.fixture
def fake(tls: TlsFiles) -> Iterator[MicrosoftFake]:
    with MicrosoftFake(tls) as running:
        running.add_mailbox(running.login_user)
        yield running


@pytest.fixture
def session(tls: TlsFiles) -> Iterator[requests.Session]:
    with loopback_session(tls) as opened:
        yield opened


@pytest.fixture
def auth(fake, session) -> MicrosoftAuth:
    return MicrosoftAuth(
        fake.client_id, fake.client_secret, fake.authority, http_client=session
    )


def sign_in(auth, session, state: str = "state-42") -> tuple[dict, dict[str, str]]:
    """Run the browser part: open the authorize URL and read the posted form."""
    flow = auth.initiate(REDIRECT_URI, state=state)
    reply = session.get(flow["auth_uri"], allow_redirects=False, timeout=5)
    fields = re.findall(r'name="([^"]+)" value="([^"]*)"', reply.text)
    return flow, {name: html.unescape(value) for name, value in fields}


def test_authorize_url_points_at_authority(fake, auth):
    flow = auth.initiate(REDIRECT_URI, state="state-42")

    parts = urlsplit(flow["auth_uri"])
    query = parse_qs(parts.query)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == (
        f"{fake.authority}/oauth2/v2.0/authorize"
    )
    assert query["state"] == ["state-42"]
    assert query["redirect_uri"] == [REDIRECT_URI]
    assert "offline_access" in query["scope"][0].split()
    assert query["code_challenge_method"] == ["S256"]
    assert query["response_mode"] == ["form_post"]


def test_sign_in_returns_cache_and_username(fake, auth, session):
    flow, query = sign_in(auth, session)

    cache_blob, username = auth.complete(flow, query)

    assert username == fake.login_user
    assert isinstance(cache_blob, str)
    assert fake.count("token") == 1


def test_cached_token_returned_without_refresh(fake, auth, session):
    cache_blob, _ = auth.complete(*sign_in(auth, session))

    token, new_blob = auth.access_token(cache_blob)

    assert fake.access_tokens[token] == fake.login_user
    assert new_blob == cache_blob
    assert fake.count("token") == 1


def test_expiring_token_refreshed(fake, auth, session):
    fake.token_lifetime = 60
    cache_blob, _ = auth.complete(*sign_in(auth, session))

    token, new_blob = auth.access_token(cache_blob)

    assert fake.count("token") == 2
    assert token in fake.access_tokens
    assert new_blob != cache_blob


def test_revoked_grant_raises_auth_error(fake, auth, session):
    fake.token_lifetime = 60
    cache_blob, _ = auth.complete(*sign_in(auth, session))
    fake.revoke_all()

    with pytest.raises(AuthError, match="invalid_grant"):
        auth.access_token(cache_blob)


def test_state_mismatch_raises_auth_error(auth, session):
    flow, query = sign_in(auth, session)

    with pytest.raises(AuthError, match="start connecting again"):
        auth.complete(flow, {**query, "state": "forged"})


def test_empty_cache_raises_auth_error(auth):
    with pytest.raises(AuthError, match="no account"):
        auth.access_token("{}")


def test_discovery_fetched_once_per_auth(fake, auth, session):
    cache_blob, _ = auth.complete(*sign_in(auth, session))

    auth.access_token(cache_blob)
    auth.access_token(cache_blob)

    assert fake.count("openid") == 1
