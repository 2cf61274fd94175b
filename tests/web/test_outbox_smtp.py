"""Outbox delivery over SMTP to a real aiosmtpd server on loopback."""

from __future__ import annotations

import dataclasses
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from aiosmtpd.controller import Controller
from flask import Flask

from tests.mail.smtp_server import LOOPBACK, RecordingHandler, free_port
from tests.web.factories import booked_series
from web.booking import approve
from web.extensions import db
from web.models import OutboxMessage
from web.outbox import deliver_pending


class Smtp:
    """An aiosmtpd server that can be stopped and started on the same port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.handler = RecordingHandler()
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.handler, hostname=LOOPBACK, port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[Smtp]:
    """Point the app's SMTP settings at a started loopback server."""
    server = Smtp()
    server.start()
    settings = app.config["TORACE"]
    app.config["TORACE"] = dataclasses.replace(
        settings, smtp_host=LOOPBACK, smtp_port=server.port, smtp_security="none"
    )
    # smtplib names the client in EHLO with getfqdn(); keep it off the resolver.
    monkeypatch.setattr(socket, "getfqdn", lambda name="": "client.test")
    yield server
    server.stop()


@pytest.fixture
def queued(app: Flask, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Approve a three-session series without delivering; return the Message-IDs."""
    monkeypatch.setattr("web.booking.queue_follow_up", lambda: None)
    approve([booked_series(sessions=3)], "admin")
    return list(db.session.scalars(db.select(OutboxMessage.message_id)))


def statuses() -> list[str]:
    db.session.expire_all()
    return list(
        db.session.scalars(db.select(OutboxMessage.status).order_by(OutboxMessage.id))
    )


def test_delivery_sends_every_message_once(smtp: Smtp, queued: list[str]) -> None:
    counts = deliver_pending()

    assert counts["sent"] == 6
    assert sorted(smtp.handler.received_ids()) == sorted(queued)
    assert statuses() == ["sent"] * 6


def test_huey_task_delivers_over_smtp(
    app: Flask, smtp: Smtp, queued: list[str]
) -> None:
    app.extensions["torace.tasks"].deliver_outbox()

    assert sorted(smtp.handler.received_ids()) == sorted(queued)


def test_server_stopped_mid_batch_delivers_each_once(
    smtp: Smtp, queued: list[str]
) -> None:
    smtp.handler.drop_after = 2
    now = datetime.now(UTC)

    first = deliver_pending(now)
    smtp.stop()
    while_down = deliver_pending(now + timedelta(hours=1))
    smtp.handler.drop_after = None
    smtp.start()
    last = deliver_pending(now + timedelta(days=1))

    assert first["sent"] == 2
    assert while_down["sent"] == 0
    assert last["sent"] == 4
    received = smtp.handler.received_ids()
    assert sorted(received) == sorted(queued)
    assert len(received) == len(set(received))
    assert statuses() == ["sent"] * 6


def test_retry_waits_for_its_backoff(smtp: Smtp, queued: list[str]) -> None:
    smtp.stop()
    now = datetime.now(UTC)
    deliver_pending(now)
    smtp.start()

    soon = deliver_pending(now)

    assert soon["sent"] == 0
    assert smtp.handler.received_ids() == []


def test_permanent_rejection_is_recorded(smtp: Smtp, queued: list[str]) -> None:
    smtp.handler.rcpt_replies["mentee@example.org"] = "550 5.1.1 no such mailbox"

    deliver_pending()

    rows = db.session.scalars(db.select(OutboxMessage)).all()
    rejected = [r for r in rows if r.status == "rejected"]
    assert {r.recipient for r in rejected} == {"mentee@example.org"}
    assert len(rejected) == 3
    assert all("550" in r.last_error for r in rejected)
    assert {r.status for r in rows if r.recipient == "mentor@example.org"} == {"sent"}
