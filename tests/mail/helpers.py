"""Raw test messages keyed by Message-ID."""

from __future__ import annotations

from mail.message import build_message, make_message_id

DOMAIN = "torace.example.org"


def raw_message(key: str, recipient: str = "zoe@example.org") -> tuple[str, bytes]:
    """Return ``(message_id, raw bytes)`` of a plain message for ``key``."""
    message_id = make_message_id(key, DOMAIN)
    message = build_message(
        sender=f"torace@{DOMAIN}",
        sender_name="Torace",
        recipient=recipient,
        subject=f"Reminder {key}",
        text=f"Body of {key}.",
        html=f"<p>Body of {key}.</p>",
        message_id=message_id,
    )
    return message_id, bytes(message)


def batch(count: int, prefix: str = "message") -> list[tuple[str, bytes]]:
    return [raw_message(f"{prefix}-{index}") for index in range(count)]
