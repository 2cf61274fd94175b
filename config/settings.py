"""Torace's settings, read from ``TORACE_*`` variables and an optional TOML file.

The embedded default needs no server: SQLite, Huey on SQLite and mail written
as ``.eml`` files, all under the instance folder. Setting
``TORACE_DATABASE_URL``, ``TORACE_REDIS_URL`` or ``TORACE_SMTP_HOST`` switches
that part to its production form.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

DEV_SECRET_KEY = "torace-development-key-not-secret"
MIN_SECRET_LENGTH = 32


class SettingsError(ValueError):
    """A setting is missing or invalid; the message names it and the fix."""


@dataclass(frozen=True)
class Settings:
    env: str = "development"
    instance_path: Path = Path("instance")
    secret_keys: tuple[str, ...] = (DEV_SECRET_KEY,)
    """Newest last: the last key signs, every key still verifies."""
    database_url: str = ""
    redis_url: str = ""
    mail_dir: Path | None = None
    mail_from: str = "torace@localhost"
    mail_from_name: str = "Torace"
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_security: str = "starttls"
    smtp_username: str = ""
    smtp_password: str = ""
    base_url: str = "http://127.0.0.1:5000"
    google_client_id: str = ""
    google_client_secret: str = ""
    google_auth_uri: str = "https://accounts.google.com/o/oauth2/auth"
    google_token_uri: str = "https://oauth2.googleapis.com/token"
    google_api_endpoint: str = ""
    microsoft_client_id: str = ""
    microsoft_client_secret: str = ""
    microsoft_authority: str = "https://login.microsoftonline.com/common"
    microsoft_graph_url: str = "https://graph.microsoft.com/v1.0"
    calendar_timeout_seconds: float = 10.0
    calendar_ca_bundle: str = ""
    """PEM file of CAs trusted for Google and Microsoft; empty: the default store."""
    huey_immediate: bool = False
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def production(self) -> bool:
        return self.env == "production"

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.instance_path / 'torace.db').resolve()}"

    @property
    def resolved_mail_dir(self) -> Path:
        return self.mail_dir or self.instance_path / "mail"

    @property
    def secret_key(self) -> str:
        """The key that signs; the older ones in ``secret_keys`` only verify."""
        return self.secret_keys[-1]


_INT_FIELDS = {"smtp_port"}
_FLOAT_FIELDS = {"calendar_timeout_seconds"}
_BOOL_FIELDS = {"huey_immediate"}
_PATH_FIELDS = {"instance_path", "mail_dir"}


def load_settings(
    environ: Mapping[str, str] | None = None, overrides: Mapping[str, Any] | None = None
) -> Settings:
    """Build the settings from a TOML file, then the environment, then overrides.

    ``TORACE_CONFIG`` names the optional TOML file; its keys are the field
    names of :class:`Settings`. ``TORACE_SECRET_KEY`` is the signing key and
    ``TORACE_OLD_SECRET_KEYS`` a comma-separated list of keys that still
    verify links signed before a rotation.
    """
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}

    config_file = environ.get("TORACE_CONFIG")
    if config_file:
        values.update(_read_toml(Path(config_file)))

    known = {f.name for f in fields(Settings)}
    for name in known - {"secret_keys", "extra"}:
        raw = environ.get(f"TORACE_{name.upper()}")
        if raw is not None and raw != "":
            values[name] = raw

    keys = _secret_keys(environ, values)
    if keys:
        values["secret_keys"] = keys
    values.pop("secret_key", None)
    values.pop("old_secret_keys", None)
    if overrides:
        values.update(overrides)

    settings = Settings(**{k: _coerce(k, v) for k, v in values.items() if k in known})
    _check(settings, secret_given=bool(keys) or "secret_keys" in (overrides or {}))
    return settings


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise SettingsError(
            f"TORACE_CONFIG names {path}, which does not exist; "
            "create it or unset TORACE_CONFIG."
        ) from None
    except tomllib.TOMLDecodeError as error:
        raise SettingsError(f"{path} is not valid TOML: {error}") from error


def _secret_keys(environ: Mapping[str, str], values: dict[str, Any]) -> tuple[str, ...]:
    old = environ.get("TORACE_OLD_SECRET_KEYS") or values.get("old_secret_keys") or ""
    if isinstance(old, str):
        old = [key.strip() for key in old.split(",")]
    current = environ.get("TORACE_SECRET_KEY") or values.get("secret_key") or ""
    if not current:
        return ()
    return tuple(key for key in [*old, current] if key)


def _coerce(name: str, value: Any) -> Any:
    if name in _PATH_FIELDS and value is not None:
        return Path(value)
    if name in _INT_FIELDS:
        return _number(name, value, int)
    if name in _FLOAT_FIELDS:
        return _number(name, value, float)
    if name in _BOOL_FIELDS and isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes", "on"}
    if name == "secret_keys":
        return tuple(value)
    return value


def _number(name: str, value: Any, kind: type) -> Any:
    try:
        return kind(value)
    except (TypeError, ValueError):
        raise SettingsError(
            f"TORACE_{name.upper()}={value!r} is not a number; "
            f"set it to a {kind.__name__}."
        ) from None


def _check(settings: Settings, *, secret_given: bool) -> None:
    if settings.env not in {"development", "testing", "production"}:
        raise SettingsError(
            f"TORACE_ENV={settings.env!r} is not known; "
            "use development, testing or production."
        )
    if settings.production and (
        not secret_given or DEV_SECRET_KEY in settings.secret_keys
    ):
        raise SettingsError(
            "TORACE_ENV=production needs TORACE_SECRET_KEY: set it to a long "
            "random string, for example the output of "
            "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`."
        )
    if settings.production and len(settings.secret_key) < MIN_SECRET_LENGTH:
        raise SettingsError(
            f"TORACE_SECRET_KEY has {len(settings.secret_key)} characters; in "
            f"production use at least {MIN_SECRET_LENGTH}, for example the output "
            "of `python -c 'import secrets; print(secrets.token_urlsafe(48))'`."
        )
    if settings.smtp_security not in {"none", "starttls", "tls"}:
        raise SettingsError(
            f"TORACE_SMTP_SECURITY={settings.smtp_security!r} is not known; "
            "use none, starttls or tls."
        )
    if not settings.base_url.startswith(("http://", "https://")):
        raise SettingsError(
            f"TORACE_BASE_URL={settings.base_url!r} must start with http:// or https://."
        )
