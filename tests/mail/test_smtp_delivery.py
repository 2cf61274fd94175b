"""SMTP delivery against a real aiosmtpd server on loopback."""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from mail.delivery import SmtpDelivery
from tests.mail.helpers import batch, raw_message
from tests.mail.smtp_server import (
    LOOPBACK,
    PASSWORD,
    SERVER_NAME,
    USERNAME,
    RecordingAuthenticator,
    RecordingHandler,
    client_context,
    free_port,
    server_context,
    write_self_signed_certificate,
)


@dataclass
class Server:
    """An aiosmtpd server on loopback and what it records."""

    port: int
    handler: RecordingHandler
    authenticator: RecordingAuthenticator
    controller: Controller
    running: bool = True

    def stop(self) -> None:
        if self.running:
            self.controller.stop()
            self.running = False


StartServer = Callable[..., Server]


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return write_self_signed_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def start_server(certificate: tuple[Path, Path]) -> Iterator[StartServer]:
    """Yield a function that starts a server; every server stops at teardown."""
    servers: list[Server] = []

    def start(
        security: str = "none",
        *,
        handler: RecordingHandler | None = None,
        port: int | None = None,
        **smtp_options: Any,
    ) -> Server:
        handler = handler or RecordingHandler()
        authenticator = RecordingAuthenticator()
        port = port or free_port()
        tls = server_context(*certificate)
        if security == "starttls":
            smtp_options.setdefault("tls_context", tls)
            smtp_options.setdefault("require_starttls", True)
        if security == "tls":
            smtp_options["ssl_context"] = tls

        controller = Controller(
            handler,
            hostname=LOOPBACK,
            port=port,
            server_hostname=SERVER_NAME,
            authenticator=authenticator,
            **smtp_options,
        )
        controller.start()
        server = Server(port, handler, authenticator, controller)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def delivery_for(
    server: Server, certificate: tuple[Path, Path], security: str = "none", **options
) -> SmtpDelivery:
    return SmtpDelivery(
        LOOPBACK,
        server.port,
        security=security,  # type: ignore[arg-type]
        ssl_context=client_context(certificate[0]),
        local_hostname="client.test",
        timeout=5.0,
        **options,
    )


def statuses(results) -> list[str]:
    return [result.status for result in results]


def test_plain_batch_delivers_every_message(
    start_server: StartServer, certificate: tuple[Path, Path]
) -> None:
    server = start_server()
    messages = batch(3)

    results = delivery_for(server, certificate).send_batch(messages)

    assert statuses(results) == ["sent"] * 3
    assert server.handler.received_ids() == [mid for mid, _ in messages]


def test_server_receives_the_raw_bytes(
    start_server: StartServer, certificate: tuple[Path, Path]
) -> None:
    server = start_server()
    message_id, raw = raw_message("one")

    delivery_for(server, certificate).send_batch([(message_id, raw)])

    assert server.handler.received[0].content == raw


def test_sent_detail_names_recipient(
    start_server: StartServer, certificate: tuple[Path, Path]
) -> None:
    server = start_server()

    results = delivery_for(server, certificate).send_batch(batch(1))

    assert results[0].detail == "accepted for zoe@example.org"


def test_envelope_recipient_comes_from_to(
    start_server: StartServer, certificate: tuple[Path, Path]
) -> None:
    server = start_server()
    message = raw_message("one", recipient="Sam <sam@example.org>")

    delivery_for(server, certificate).send_batch([message])

    assert server.handler.received[0].recipients == ["sam@example.org"]


def test_batch_uses_one_connection(
    start_server: StartServer, certificate: tuple[Path, Path]
) -> None:
    server = start_server()

    delivery_for(server, certificate).send_batch(batch(4))

    assert len(server.handler.mail_peers) == 4
    assert len(set(server.handler.mail_peers)) == 1


def test_each_batch_opens_its_own_connection(
    start_server: StartServer, certificate: tuple[Path, Path]
) -> None:
    server = start_server()
    delivery = delivery_for(server, certificate)

    delivery.send_batch(batch(2, prefix="first"))
    delivery.send_batch(batch(2, prefix="second"))

    assert len(set(server.handler.mail_peers)) == 2


def test_empty_batch_opens_no_connection(
    start_server: StartServer, certificate: tuple[Path, Path]
) -> None:
    server = start_server()

    results = delivery_for(server, certificate).send_batch([])

    assert results == []
    assert server.handler.mail_peers == []


def test_starttls_delivers_over_tls(
    start_server: StartServer, certificate: tuple[Path, Path]
) -> None:
    server = start_server("starttls")

    results = delivery_for(server, certificate, "starttls").send_batch(batch(2))

    assert statuses(results) == ["sent", "sent"]
    assert [message.over_tls for message in server.handler.received] == [True, True]


def test_starttls_missing_on_server_gives_retry(
    start_server: StartServer, certificate: tuple[Path, Path]
) -> None:
    server = start_server("none")

    results = delivery_for(server, certificate, "starttls").send_batch(batch(2))

    assert statuses(results) == ["retry", "retry"]
    assert "STARTTLS" in results[0].detail
    assert server.handler.received == []


def test_implicit_tls_delivers(
    start_server: StartServer, certificate: tuple[Path, Path]
) -> None:
    server = start_server("tls")

    results = delivery_for(server, certificate, "tls").send_batch(batch(2))

    assert statuses(results) == ["sent", "sent"]
    assert [message.over_tls for message in server.handler.received] == [True, True]


def test_untrusted_certificate_gives_retry(
    start_server: StartServer, certificate: tuple[Path, Path]
) -> None:
    server = start_server("tls")
    # The system trust store does not contain the self-signed certificate.
    delivery = SmtpDelivery(
        LOOPBACK, server.port, security="tls", local_hostname="client.test"
    )

    results = delivery.send_batch(batch(1))

    assert statuses(results) == ["retry"]
    assert "CERTIFICATE_VERIFY_FAILED" in results[0].detail
    assert server.handler.received == []


@pytest.mark.parametrize("mechanism", ["LOGIN", "PLAIN"])
def test_login_uses_offered_mechanism(
    start_server: StartServer, certificate: tuple[Path, Path], mechanism: str
) -> None:
    other = {"LOGIN": "PLAIN", "PLAIN": "LOGIN"}[mechanism]
    server = start_server(
        "starttls", auth_required=True, auth_exclude_mechanism=[other]
    )
    delivery = delivery_for(
        server, certificate, "starttls", username=USERNAME, password=PASSWORD
    )

    results = delivery.send_batch(batch(1))

    assert statuses(results) == ["sent"]
    assert server.authenticator.mechanisms == [mechanism]


def test_login_over_implicit_tls(
    start_server: StartServer, certificate: tuple[Path, Path]
) -> None:
    # aiosmtpd 1.4 counts only STARTTLS sessions as encrypted, so over implicit
    # TLS it offers AUTH only with auth_require_tls switched off.
    server = start_server("tls", auth_require_tls=False)
    delivery = delivery_for(
        server, certificate, "tls", username=USERNAME, password=PASSWORD
    )

    assert statuses(delivery.send_batch(batch(1))) == ["sent"]
    assert len(server.authenticator.mechanisms) == 1


def test_wrong_password_gives_retry(
    start_server: StartServer, certificate: tuple[Path, Path]
) -> None:
    server = start_server("starttls", auth_required=True)
    delivery = delivery_for(
        server, certificate, "starttls", username=USERNAME, password="wrong"
    )

    results = delivery.send_batch(batch(2))

    assert statuses(results) == ["retry", "retry"]
    assert "535" in results[0].detail
    assert server.handler.received == []


def test_missing_login_gives_retry(
    start_server: StartServer, certificate: tuple[Path, Path]
) -> None:
    server = start_server("starttls", auth_required=True)

    results = delivery_for(server, certificate, "starttls").send_batch(batch(1))

    # 530 asks for authentication: a settings problem, not a bad message.
    assert statuses(results) == ["retry"]
    assert "530" in results[0].detail


def test_login_without_tls_is_refused() -> None:
    with pytest.raises(ValueError, match="unencrypted"):
        SmtpDelivery(
            LOOPBACK, 2525, security="none", username=USERNAME, password=PASSWORD
        )


def test_repr_hides_password() -> None:
    delivery = SmtpDelivery(
        LOOPBACK, 2525, security="tls", username=USERNAME, password=PASSWORD
    )

    assert PASSWORD not in repr(delivery)


def test_password_and_body_never_logged(
    start_server: StartServer,
    certificate: tuple[Path, Path],
    caplog: pytest.LogCaptureFixture,
) -> None:
    server = start_server("starttls", auth_required=True)
    server.handler.rcpt_replies["zoe@example.org"] = "550 5.1.1 No such user"
    delivery = delivery_for(
        server, certificate, "starttls", username=USERNAME, password=PASSWORD
    )

    with caplog.at_level(logging.DEBUG):
        delivery.send_batch(batch(2))

    assert caplog.records
    assert PASSWORD not in caplog.text
    assert "Body of message-0" not in caplog.text


def test_550_is_rejected_with_server_text(
    start_server: StartServer, certificate: tuple[Path, Path]
) -> None:
    server = start_server()
    server.handler.rcpt_replies["zoe@example.org"] = "550 5.1.1 No such user here"

    results = delivery_for(server, certificate).send_batch(batch(1))

    assert statuses(results) == ["rejected"]
    assert "550" in results[0].detail
    assert "No such user here" in results[0].detail


def test_550_at_data_is_rejected(
    start_server: StartServer, certificate: tuple[Path, Path]
) -> None:
    server = start_server()
    server.handler.data_replies["zoe@example.org"] = "554 5.7.1 Message refused"

    results = delivery_for(server, certificate).send_batch(batch(1))

    assert statuses(results) == ["rejected"]
    assert "554 5.7.1 Message refused" in results[0].detail


def test_451_is_retry(
    start_server: StartServer, certificate: tuple[Path, Path]
) -> None:
    server = start_server()
    server.handler.data_replies["zoe@example.org"] = "451 4.3.0 Try again later"

    results = delivery_for(server, certificate).send_batch(batch(1))

    assert statuses(results) == ["retry"]
    assert "451 4.3.0 Try again later" in results[0].detail


def test_450_at_rcpt_is_retry(
    start_server: StartServer, certificate: tuple[Path, Path]
) -> None:
    server = start_server()
    server.handler.rcpt_replies["zoe@example.org"] = "450 4.2.1 Mailbox busy"

    results = delivery_for(server, certificate).send_batch(batch(1))

    assert statuses(results) == ["retry"]


def test_rejection_does_not_stop_batch(
    start_server: StartServer, certificate: tuple[Path, Path]
) -> None:
    server = start_server()
    server.handler.rcpt_replies["gone@example.org"] = "550 5.1.1 No such user"
    messages = [
        raw_message("first"),
        raw_message("bounce", recipient="gone@example.org"),
        raw_message("last"),
    ]

    results = delivery_for(server, certificate).send_batch(messages)

    assert statuses(results) == ["sent", "rejected", "sent"]
    assert len(set(server.handler.mail_peers)) == 1


def test_421_leaves_rest_for_retry(
    start_server: StartServer, certificate: tuple[Path, Path]
) -> None:
    server = start_server()
    server.handler.data_replies["zoe@example.org"] = "421 4.3.2 Shutting down"

    results = delivery_for(server, certificate).send_batch(batch(3))

    assert statuses(results) == ["retry", "retry", "retry"]
    assert "closed the connection" in results[1].detail


def test_refused_connection_gives_retry(certificate: tuple[Path, Path]) -> None:
    delivery = SmtpDelivery(
        LOOPBACK, free_port(), security="none", local_hostname="client.test"
    )

    results = delivery.send_batch(batch(2))

    assert statuses(results) == ["retry", "retry"]


def test_silent_server_times_out_as_retry() -> None:
    with socket.create_server((LOOPBACK, 0)) as listener:
        # Accepts the connection but never sends the SMTP greeting.
        port = listener.getsockname()[1]
        delivery = SmtpDelivery(
            LOOPBACK, port, security="none", timeout=0.5, local_hostname="c.test"
        )

        results = delivery.send_batch(batch(1))

    assert statuses(results) == ["retry"]
    assert "timed out" in results[0].detail


def test_invalid_message_is_rejected_without_sending(
    start_server: StartServer, certificate: tuple[Path, Path]
) -> None:
    server = start_server()
    _, raw = raw_message("one")

    results = delivery_for(server, certificate).send_batch(
        [("<someone-else@torace.example.org>", raw), raw_message("two")]
    )

    assert statuses(results) == ["rejected", "sent"]
    assert len(server.handler.received) == 1


def test_server_stopped_mid_batch_leaves_rest_for_retry(
    start_server: StartServer, certificate: tuple[Path, Path]
) -> None:
    server = start_server(handler=RecordingHandler(drop_after=2))

    results = delivery_for(server, certificate).send_batch(batch(5))

    assert statuses(results) == ["sent", "sent", "retry", "retry", "retry"]


def test_restart_delivers_each_exactly_once(
    start_server: StartServer, certificate: tuple[Path, Path]
) -> None:
    first = start_server(handler=RecordingHandler(drop_after=2))
    delivery = delivery_for(first, certificate)
    messages = batch(5)
    results = delivery.send_batch(messages)
    first.stop()

    second = start_server(port=first.port)
    unsent = [m for m, r in zip(messages, results, strict=True) if r.status == "retry"]
    retried = delivery.send_batch(unsent)

    assert statuses(retried) == ["sent", "sent", "sent"]
    received = first.handler.received_ids() + second.handler.received_ids()
    assert sorted(received) == sorted(mid for mid, _ in messages)


def test_stopped_server_gives_retry(
    start_server: StartServer, certificate: tuple[Path, Path]
) -> None:
    server = start_server()
    server.stop()

    results = delivery_for(server, certificate).send_batch(batch(1))

    assert statuses(results) == ["retry"]
