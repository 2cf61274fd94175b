"""Delivery of built messages: SMTP in production, files on disk by default.

This module gathers the delivery API in one place and computes retry waits.
"""

from __future__ import annotations

import hashlib

from mail.delivery_base import (
    Delivery,
    DeliveryResult,
    DeliveryStatus,
    Envelope,
    InvalidMessage,
    read_envelope,
)
from mail.file_delivery import FileDelivery, safe_file_name
from mail.smtp_delivery import SmtpDelivery, SmtpSecurity

__all__ = [
    "BACKOFF_BASE_SECONDS",
    "BACKOFF_CAP_SECONDS",
    "Delivery",
    "DeliveryResult",
    "DeliveryStatus",
    "Envelope",
    "FileDelivery",
    "InvalidMessage",
    "SmtpDelivery",
    "SmtpSecurity",
    "backoff_seconds",
    "read_envelope",
    "safe_file_name",
]

BACKOFF_BASE_SECONDS = 60.0
BACKOFF_CAP_SECONDS = 6 * 60 * 60.0


def backoff_seconds(
    attempt: int,
    *,
    base: float = BACKOFF_BASE_SECONDS,
    cap: float = BACKOFF_CAP_SECONDS,
    jitter_key: str | None = None,
) -> float:
    """Return the wait before retry number ``attempt`` (1 is the first retry).

    The wait doubles from ``base`` up to ``cap``. With ``jitter_key`` (say,
    the message id) the wait is scaled by a factor in [0.5, 1.0) that depends
    only on the key and attempt, so retries of many messages spread out while
    each message's schedule stays reproducible.
    """
    if attempt < 1:
        raise ValueError(f"attempt {attempt} is below 1; the first retry is 1")
    if base <= 0 or cap < base:
        raise ValueError(f"backoff needs 0 < base <= cap, got base={base}, cap={cap}")

    # Beyond 2**62 every float wait is past any reasonable cap.
    exponent = min(attempt - 1, 62)
    wait = min(cap, base * 2.0**exponent)
    if jitter_key is None:
        return wait

    digest = hashlib.sha256(f"{jitter_key}:{attempt}".encode()).digest()
    fraction = int.from_bytes(digest[:8], "big") / 2.0**64
    return wait * (0.5 + fraction / 2)
