"""The app's box for secrets kept at rest (passwords, refresh tokens)."""

from __future__ import annotations

from flask import current_app

from calendar_sync.crypto import SecretBox


def secret_box() -> SecretBox:
    """Return the box keyed by the app's secret keys, newest first."""
    keys = list(reversed(current_app.config["TORACE"].secret_keys))
    return SecretBox(keys)
