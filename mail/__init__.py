"""Torace's mail: iTIP invitations, MIME messages and their delivery.

``build_itip`` makes the VCALENDAR of a REQUEST or CANCEL, ``build_message``
wraps it in a message that mail clients show as an invitation, and a
``Delivery`` (``FileDelivery`` by default, ``SmtpDelivery`` in production)
sends batches of built messages.
"""

from mail.delivery import (
    Delivery,
    DeliveryResult,
    DeliveryStatus,
    FileDelivery,
    SmtpDelivery,
    backoff_seconds,
)
from mail.itip import build_itip
from mail.message import build_message, make_message_id

__all__ = [
    "Delivery",
    "DeliveryResult",
    "DeliveryStatus",
    "FileDelivery",
    "SmtpDelivery",
    "backoff_seconds",
    "build_itip",
    "build_message",
    "make_message_id",
]
