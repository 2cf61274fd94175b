"""Writing mail to the outbox and delivering it."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from flask import current_app, render_template

from calendar_sync.base import Attendee, EventSpec
from config import Settings
from mail.delivery import Delivery, FileDelivery, SmtpDelivery, backoff_seconds
from mail.itip import build_itip
from mail.message import build_message, make_message_id
from web.extensions import db
from web.models import OutboxMessage
from web.models.types import utcnow

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 12
NON_ESSENTIAL = frozenset(
    {"reminder", "call-for-requests", "call-for-mentors", "nudge", "feedback-request"}
)


class Recipient(Protocol):
    """Whoever a message goes to: a participant or an administrator."""

    @property
    def id(self) -> int: ...

    @property
    def email(self) -> str: ...

    @property
    def name(self) -> str: ...

    @property
    def unsubscribed(self) -> bool: ...


@dataclass(frozen=True)
class AdminRecipient:
    """An administrator as a mail recipient; the account has no display name."""

    id: int
    email: str
    name: str
    unsubscribed: bool = False


@dataclass(frozen=True)
class Invitation:
    method: str
    event: EventSpec
    uid: str
    sequence: int


def queue_mail(
    kind: str,
    key: str,
    person: Recipient,
    subject: str,
    template: str,
    invitation: Invitation | None = None,
    **context: object,
) -> OutboxMessage | None:
    """Render an email and add it to the outbox in the current transaction.

    ``key`` names the logical message; the same key gives the same Message-ID,
    so queuing a message twice (a periodic task run twice) adds it once.
    Returns None when it is already there or the person opted out of it.
    """
    settings: Settings = current_app.config["TORACE"]
    domain = settings.mail_from.rpartition("@")[2] or "torace.invalid"
    message_id = make_message_id(f"{kind}:{key}:{person.email}", domain)
    if db.session.scalar(db.select(OutboxMessage.id).filter_by(message_id=message_id)):
        return None
    if kind in NON_ESSENTIAL and person.unsubscribed:
        return None

    unsubscribe = None
    if kind in NON_ESSENTIAL:
        from web.links import link_url

        unsubscribe = link_url("unsubscribe", person.id, person.id)
    context.update(person=person, unsubscribe_url=unsubscribe, settings=settings)
    text = render_template(f"email/{template}.txt", **context)
    html = render_template(f"email/{template}.html", **context)
    calendar = None
    if invitation is not None:
        calendar = build_itip(
            invitation.method,  # type: ignore[arg-type]
            invitation.event,
            uid=invitation.uid,
            sequence=invitation.sequence,
            recipient=Attendee(person.name, person.email),
        )
    message = build_message(
        sender=settings.mail_from,
        sender_name=settings.mail_from_name,
        recipient=person.email,
        subject=subject,
        text=text,
        html=html,
        message_id=message_id,
        calendar=calendar,
        method=invitation.method if invitation else None,
        list_unsubscribe=unsubscribe,
    )
    row = OutboxMessage(
        message_id=message_id,
        kind=kind,
        recipient=person.email,
        subject=subject,
        raw=message.as_bytes(),
    )
    db.session.add(row)
    return row


def make_delivery(settings: Settings) -> Delivery:
    if settings.smtp_host:
        return SmtpDelivery(
            settings.smtp_host,
            settings.smtp_port,
            security=settings.smtp_security,  # type: ignore[arg-type]
            username=settings.smtp_username or None,
            password=settings.smtp_password or None,
        )
    return FileDelivery(settings.resolved_mail_dir)


def deliver_pending(
    now: datetime | None = None, batch_size: int = 100
) -> dict[str, int]:
    """Send the messages that are due, one batch per connection; commit each batch."""
    now = now or utcnow()
    delivery = make_delivery(current_app.config["TORACE"])
    counts = {"sent": 0, "retry": 0, "rejected": 0}
    while True:
        rows = list(
            db.session.scalars(
                db.select(OutboxMessage)
                .filter(
                    OutboxMessage.status == "pending",
                    OutboxMessage.next_attempt_at <= now,
                )
                .order_by(OutboxMessage.id)
                .limit(batch_size)
            )
        )
        if not rows:
            return counts
        by_id = {row.message_id: row for row in rows}
        results = delivery.send_batch([(row.message_id, row.raw) for row in rows])
        for result in results:
            _apply(by_id[result.message_id], result.status, result.detail, now)
            counts[result.status] += 1
        db.session.commit()
        if all(result.status == "retry" for result in results):
            return counts


def _apply(row: OutboxMessage, status: str, detail: str, now: datetime) -> None:
    row.attempts += 1
    if status == "sent":
        row.status, row.sent_at, row.last_error = "sent", now, ""
        return
    row.last_error = detail[:2000]
    if status == "rejected" or row.attempts >= MAX_ATTEMPTS:
        row.status = "rejected"
        log.error(
            "message %s to %s rejected: %s", row.message_id, row.recipient, detail
        )
        return
    row.next_attempt_at = now + timedelta(seconds=backoff_seconds(row.attempts))
    log.warning(
        "message %s will be retried (attempt %d): %s",
        row.message_id,
        row.attempts,
        detail,
    )
