"""A recording aiosmtpd server on loopback, and a self-signed certificate."""

from __future__ import annotations

import socket
import ssl
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import policy
from email.parser import BytesHeaderParser
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

LOOPBACK = "127.0.0.1"
SERVER_NAME = "smtp.test"
USERNAME = "torace"
PASSWORD = "s3cret-smtp-password"


@dataclass
class Received:
    """One message the server accepted."""

    message_id: str
    recipients: list[str]
    peer: Any
    over_tls: bool
    content: bytes


@dataclass
class RecordingHandler:
    """An aiosmtpd handler that stores messages and sends configured replies.

    ``rcpt_replies`` and ``data_replies`` map a recipient address to the reply
    sent at RCPT or at the end of DATA. After ``drop_after`` stored messages
    the next DATA aborts the connection without a reply, as a server that
    stops mid-batch does.
    """

    rcpt_replies: dict[str, str] = field(default_factory=dict)
    data_replies: dict[str, str] = field(default_factory=dict)
    drop_after: int | None = None
    received: list[Received] = field(default_factory=list)
    mail_peers: list[Any] = field(default_factory=list)
    mail_options: list[list[str]] = field(default_factory=list)

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        self.mail_peers.append(session.peer)
        self.mail_options.append(list(mail_options))
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        reply = self.rcpt_replies.get(address)
        if reply is not None:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.drop_after is not None and len(self.received) >= self.drop_after:
            server.transport.abort()
            return "421 closing"
        for address in envelope.rcpt_tos:
            reply = self.data_replies.get(address)
            if reply is not None:
                return reply

        content = envelope.original_content or b""
        headers = BytesHeaderParser(policy=policy.default).parsebytes(content)
        self.received.append(
            Received(
                message_id=str(headers["Message-ID"]),
                recipients=list(envelope.rcpt_tos),
                peer=session.peer,
                over_tls=server.transport.get_extra_info("ssl_object") is not None,
                content=content,
            )
        )
        return "250 Message accepted for delivery"

    def received_ids(self) -> list[str]:
        return [message.message_id for message in self.received]


@dataclass
class RecordingAuthenticator:
    """Accepts USERNAME/PASSWORD and records each mechanism used."""

    mechanisms: list[str] = field(default_factory=list)

    def __call__(self, server, session, envelope, mechanism, auth_data):
        self.mechanisms.append(mechanism)
        accepted = isinstance(auth_data, LoginPassword) and (
            auth_data.login == USERNAME.encode()
            and auth_data.password == PASSWORD.encode()
        )
        return AuthResult(success=accepted, handled=False)


def free_port() -> int:
    """Return a loopback TCP port that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        return probe.getsockname()[1]


def write_self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """Write a certificate for IP 127.0.0.1 and its key; return both paths."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, SERVER_NAME)])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(IPv4Address(LOOPBACK))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )

    cert_path = directory / "smtp-cert.pem"
    key_path = directory / "smtp-key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def server_context(cert_path: Path, key_path: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_path, key_path)
    return context


def client_context(cert_path: Path) -> ssl.SSLContext:
    """Return a client context that trusts only the test certificate."""
    return ssl.create_default_context(cafile=str(cert_path))
