"""OAuth for Google and Microsoft connections, and the clients built from them.

A sign-in in progress is kept on the server under its ``state`` value, never
in the session cookie: Microsoft's ``form_post`` reply is a cross-site POST
that carries no SameSite=Lax cookie, and tokens do not belong in a cookie.
Pending sign-ins are small encrypted JSON files in the instance folder, one
per state, removed when the callback takes them or when they expire. Files
work across several worker processes on one host.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests
from flask import current_app

from calendar_sync.base import ReadOptions
from calendar_sync.crypto import DecryptionError
from calendar_sync.errors import AuthError
from calendar_sync.google import GoogleCalendar
from calendar_sync.microsoft import MicrosoftAuth, MicrosoftCalendar
from config import Settings
from web.crypto import secret_box
from web.models import CalendarConnection

log = logging.getLogger(__name__)

PENDING_MAX_AGE = 15 * 60  # seconds a sign-in may take from start to callback
# The tenant id Microsoft gives every personal (outlook.com) account.
CONSUMER_TENANT = "9188040d-6c67-4c5b-b112-36a304b66dad"


# -- pending sign-ins --------------------------------------------------------


class PendingStore:
    """Pending sign-ins and form steps, one encrypted file per random key."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def put(self, data: dict[str, Any], key: str | None = None) -> str:
        """Store ``data``; return the key (random unless given) that takes it once."""
        self.folder.mkdir(parents=True, exist_ok=True)
        self._purge_expired()
        key = key or new_state()
        record = {"expires": time.time() + PENDING_MAX_AGE, "data": data}
        sealed = secret_box().encrypt(json.dumps(record))
        self._path(key).write_text(sealed, encoding="ascii")
        return key

    def take(self, key: str) -> dict[str, Any] | None:
        """Return and remove the data stored under ``key``; None if absent or old."""
        if not key:
            return None
        path = self._path(key)
        claimed = path.with_name(f"{path.name}.{secrets.token_hex(4)}")
        try:
            # Renaming first makes the take atomic across worker processes.
            os.replace(path, claimed)
        except FileNotFoundError:
            return None
        try:
            record = json.loads(secret_box().decrypt(claimed.read_text("ascii")))
        except (DecryptionError, ValueError, OSError):
            return None
        finally:
            claimed.unlink(missing_ok=True)
        if record.get("expires", 0) < time.time():
            return None
        data = record.get("data")
        return data if isinstance(data, dict) else None

    def _path(self, key: str) -> Path:
        # The file name is a digest, so a crafted key cannot name another path.
        return self.folder / hashlib.sha256(key.encode("utf-8")).hexdigest()

    def _purge_expired(self) -> None:
        cutoff = time.time() - PENDING_MAX_AGE
        for path in self.folder.iterdir():
            try:
                if path.stat().st_mtime < cutoff:
                    path.unlink(missing_ok=True)
            except FileNotFoundError:
                continue


def new_state() -> str:
    """Return a random, unguessable key for a pending sign-in."""
    return secrets.token_urlsafe(32)


def pending_store() -> PendingStore:
    """Return the app's store of pending sign-ins."""
    return PendingStore(Path(current_app.instance_path) / "oauth-pending")


# -- provider settings -------------------------------------------------------


def settings() -> Settings:
    """Return the app's settings."""
    value: Settings = current_app.config["TORACE"]
    return value


def google_configured(config: Settings) -> bool:
    return bool(config.google_client_id and config.google_client_secret)


def microsoft_configured(config: Settings) -> bool:
    return bool(config.microsoft_client_id and config.microsoft_client_secret)


def google_client_config(config: Settings) -> dict[str, Any]:
    """Return the ``client_secrets.json``-shaped web client from the settings."""
    return {
        "web": {
            "client_id": config.google_client_id,
            "client_secret": config.google_client_secret,
            "auth_uri": config.google_auth_uri,
            "token_uri": config.google_token_uri,
        }
    }


def redirect_uri(config: Settings, provider: str) -> str:
    """Return the callback URL registered with the provider."""
    return f"{config.base_url.rstrip('/')}/oauth/{provider}/callback"


def ca_certs(config: Settings) -> str | None:
    return config.calendar_ca_bundle or None


def http_session(config: Settings) -> requests.Session:
    """Return a requests session for Microsoft that trusts the configured CAs."""
    session = requests.Session()
    if config.calendar_ca_bundle:
        # With trust_env on, REQUESTS_CA_BUNDLE would replace ``verify``.
        session.trust_env = False
        session.verify = config.calendar_ca_bundle
    return session


def microsoft_auth(config: Settings, session: requests.Session) -> MicrosoftAuth:
    return MicrosoftAuth(
        config.microsoft_client_id,
        config.microsoft_client_secret,
        config.microsoft_authority,
        http_client=session,
        timeout=config.calendar_timeout_seconds,
    )


# -- stored secrets ----------------------------------------------------------


def open_secret(connection: CalendarConnection) -> str:
    """Decrypt the connection's secret; an unreadable one means reconnect."""
    if not connection.secret:
        return ""
    try:
        return secret_box().decrypt(connection.secret)
    except DecryptionError as error:
        raise AuthError(
            str(error), provider=connection.kind, calendar=str(connection.id)
        ) from error


def seal_secret(plaintext: str) -> str:
    return secret_box().encrypt(plaintext)


def google_token_info(connection: CalendarConnection) -> dict[str, Any]:
    """Return the stored Google token info of ``connection``."""
    try:
        info = json.loads(open_secret(connection) or "null")
    except ValueError:
        info = None
    if not isinstance(info, dict) or not info.get("refresh_token"):
        raise AuthError(
            "the stored Google grant is missing; connect the calendar again",
            provider="google",
            calendar=str(connection.id),
        )
    return info


def is_personal_account(cache_blob: str) -> bool:
    """Tell from an MSAL cache whether its account is a personal Microsoft one."""
    try:
        accounts = json.loads(cache_blob).get("Account", {})
    except (ValueError, AttributeError):
        return False
    return any(
        isinstance(a, dict) and a.get("realm") == CONSUMER_TENANT
        for a in accounts.values()
    )


# -- clients for one connection ----------------------------------------------


def google_calendar(
    config: Settings, token_info: dict[str, Any], calendar_id: str, options: ReadOptions
) -> GoogleCalendar:
    return GoogleCalendar(
        token_info,
        google_client_config(config),
        calendar_id,
        api_endpoint=config.google_api_endpoint or None,
        options=options,
        ca_certs=ca_certs(config),
        timeout=config.calendar_timeout_seconds,
    )


def microsoft_calendar(
    config: Settings,
    session: requests.Session,
    token_provider: Callable[[], str],
    mailbox: str,
    personal: bool,
    options: ReadOptions,
) -> MicrosoftCalendar:
    return MicrosoftCalendar(
        token_provider,
        mailbox,
        graph_url=config.microsoft_graph_url,
        personal=personal,
        options=options,
        session=session,
        timeout=config.calendar_timeout_seconds,
    )


class SavingGoogleCalendar:
    """A GoogleCalendar that stores a refreshed access token back, encrypted."""

    provider = "google"

    def __init__(self, connection: CalendarConnection, calendar: GoogleCalendar):
        self.connection = connection
        self.calendar = calendar.calendar
        self._inner = calendar

    def read_busy(self, start: Any, end: Any) -> Any:
        """Read busy time, then store a refreshed token."""
        try:
            return self._inner.read_busy(start, end)
        finally:
            self._save()

    def upsert_event(self, event: Any) -> str:
        """Create or update the event, then store a refreshed token."""
        try:
            return self._inner.upsert_event(event)
        finally:
            self._save()

    def cancel_event(self, event: Any) -> None:
        """Remove the event, then store a refreshed token."""
        try:
            self._inner.cancel_event(event)
        finally:
            self._save()

    def _save(self) -> None:
        if self._inner.token_info_changed:
            self.connection.secret = seal_secret(json.dumps(self._inner.token_info))


def open_provider_calendar(
    connection: CalendarConnection, options: ReadOptions
) -> SavingGoogleCalendar | MicrosoftCalendar:
    """Open a Google or Microsoft connection for reading and writing events.

    A refreshed token is written back to ``connection`` (encrypted); the
    caller commits.
    """
    config = settings()
    if connection.kind == "google":
        info = google_token_info(connection)
        inner = google_calendar(config, info, connection.url or "primary", options)
        return SavingGoogleCalendar(connection, inner)

    session = http_session(config)
    auth = microsoft_auth(config, session)

    def token() -> str:
        stored = open_secret(connection)
        access, blob = auth.access_token(stored)
        if blob != stored:
            connection.secret = seal_secret(blob)
        return access

    personal = bool((connection.sync_state or {}).get("personal"))
    return microsoft_calendar(config, session, token, connection.url, personal, options)
