"""The delivery interface: results, and the envelope read from a message.

Every delivery takes ``(message_id, raw RFC 5322 bytes)`` pairs and reads the
envelope from the message itself: the sender from ``From`` and the
recipients from ``To`` and ``Cc``. ``Bcc`` is not supported, because the
raw bytes are sent unchanged and would show it to every recipient.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from email import policy
from email.parser import BytesHeaderParser
from email.utils import getaddresses
from typing import Literal, Protocol

DeliveryStatus = Literal["sent", "retry", "rejected"]
"""``sent``: accepted by the server or written. ``retry``: a temporary failure,
send again later. ``rejected``: a permanent failure, sending again won't help."""


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    """The outcome of one message of a batch."""

    message_id: str
    status: DeliveryStatus
    detail: str


class Delivery(Protocol):
    """A way of handing messages on: SMTP, or files on disk."""

    def send_batch(self, messages: Sequence[tuple[str, bytes]]) -> list[DeliveryResult]:
        """Deliver ``(message_id, raw bytes)`` pairs; return one result each, in order.

        Sending the same message id again must not deliver a second copy
        where the delivery can tell (files); SMTP servers see the same
        Message-ID and may drop the duplicate.
        """
        ...


@dataclass(frozen=True, slots=True)
class Envelope:
    """The SMTP envelope read from a message's own headers."""

    sender: str
    recipients: tuple[str, ...]


class InvalidMessage(ValueError):
    """A message whose headers cannot be delivered as they are."""


def read_envelope(message_id: str, raw: bytes) -> Envelope:
    """Read the envelope from ``raw`` after checking its Message-ID.

    Raises InvalidMessage when the headers cannot be delivered as they are.
    """
    headers = BytesHeaderParser(policy=policy.default).parsebytes(raw)

    found_id = str(headers.get("Message-ID", "")).strip()
    if found_id != message_id:
        raise InvalidMessage(
            f"Message-ID header {found_id!r} does not match message id {message_id!r}"
        )
    if headers.get("Bcc") is not None:
        raise InvalidMessage("message has a Bcc header; send one message per recipient")

    senders = [address for _, address in getaddresses(headers.get_all("From", []))]
    if len(senders) != 1 or "@" not in senders[0]:
        raise InvalidMessage(f"message needs exactly one From address, found {senders}")

    fields = headers.get_all("To", []) + headers.get_all("Cc", [])
    recipients = tuple(address for _, address in getaddresses(fields) if address)
    if not recipients or any("@" not in address for address in recipients):
        raise InvalidMessage(f"message needs To addresses, found {list(recipients)}")
    return Envelope(sender=senders[0], recipients=recipients)
