"""Retry timing and the envelope read from a message's headers."""

from __future__ import annotations

import pytest

from mail.delivery import InvalidMessage, backoff_seconds, read_envelope
from tests.mail.helpers import raw_message


def test_backoff_doubles_from_base() -> None:
    waits = [backoff_seconds(attempt, base=60.0, cap=10_000.0) for attempt in (1, 2, 3)]

    assert waits == [60.0, 120.0, 240.0]


def test_backoff_stops_at_cap() -> None:
    assert backoff_seconds(8, base=60.0, cap=3600.0) == 3600.0


def test_backoff_survives_huge_attempt() -> None:
    assert backoff_seconds(10_000, base=60.0, cap=3600.0) == 3600.0


def test_backoff_jitter_is_reproducible() -> None:
    first = backoff_seconds(3, base=60.0, jitter_key="<a@torace.example.org>")
    again = backoff_seconds(3, base=60.0, jitter_key="<a@torace.example.org>")

    assert first == again


def test_backoff_jitter_stays_in_lower_half() -> None:
    for index in range(50):
        wait = backoff_seconds(3, base=60.0, jitter_key=f"<{index}@torace>")
        assert 120.0 <= wait < 240.0


def test_backoff_jitter_spreads_messages() -> None:
    waits = {backoff_seconds(3, jitter_key=f"<{index}@torace>") for index in range(20)}

    assert len(waits) == 20


def test_backoff_attempt_zero_is_rejected() -> None:
    with pytest.raises(ValueError, match="attempt 0"):
        backoff_seconds(0)


def test_envelope_comes_from_headers() -> None:
    message_id, raw = raw_message("one", recipient="Zoë <zoe@example.org>")

    envelope = read_envelope(message_id, raw)

    assert envelope.sender == "torace@torace.example.org"
    assert envelope.recipients == ("zoe@example.org",)


def test_envelope_checks_message_id() -> None:
    _, raw = raw_message("one")

    with pytest.raises(InvalidMessage, match="does not match"):
        read_envelope("<other@torace.example.org>", raw)


def test_envelope_rejects_bcc() -> None:
    message_id, raw = raw_message("one")
    with_bcc = b"Bcc: sam@example.org\r\n" + raw

    with pytest.raises(InvalidMessage, match="Bcc"):
        read_envelope(message_id, with_bcc)


def test_envelope_needs_a_recipient() -> None:
    message_id, raw = raw_message("one")
    without_to = b"\r\n".join(
        line for line in raw.split(b"\r\n") if not line.startswith(b"To:")
    )

    with pytest.raises(InvalidMessage, match="To addresses"):
        read_envelope(message_id, without_to)
