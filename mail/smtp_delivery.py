"""Delivery over SMTP with smtplib: plain, STARTTLS or implicit TLS."""

from __future__ import annotations

import logging
import re
import smtplib
import ssl
from collections.abc import Sequence
from typing import Literal, get_args

from mail.delivery_base import (
    DeliveryResult,
    DeliveryStatus,
    Envelope,
    InvalidMessage,
    read_envelope,
)

logger = logging.getLogger(__name__)

SmtpSecurity = Literal["none", "starttls", "tls"]

_LINE_ENDINGS = re.compile(rb"\r?\n")

# 530, 534, 535 and 538 (RFC 4954) say the session lacks authentication or
# encryption. Fixing the settings lets the same messages through, so they are
# kept for retry although the codes are 5xx.
_SESSION_CODES = frozenset({530, 534, 535, 538})


class SmtpDelivery:
    """Sends each batch over one SMTP connection with smtplib.

    5xx replies make a message ``rejected``, with the server's code and text
    as the detail. 4xx replies, refused connections, timeouts and failures
    before the first message (connect, TLS, login) make it ``retry``, and so
    do the 5xx replies that ask for authentication or encryption. When the
    connection drops, the message in flight and every later one are
    ``retry``.
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        security: SmtpSecurity,
        username: str | None = None,
        password: str | None = None,
        timeout: float = 30.0,
        ssl_context: ssl.SSLContext | None = None,
        local_hostname: str | None = None,
    ) -> None:
        _check_smtp_settings(host, port, security, username, password, timeout)
        self.host = host
        self.port = port
        self.security = security
        self.username = username
        self._password = password
        self.timeout = timeout
        self.ssl_context = ssl_context
        # None makes smtplib use socket.getfqdn() in EHLO.
        self.local_hostname = local_hostname

    def __repr__(self) -> str:
        return (
            f"SmtpDelivery(host={self.host!r}, port={self.port}, "
            f"security={self.security!r}, username={self.username!r})"
        )

    def send_batch(self, messages: Sequence[tuple[str, bytes]]) -> list[DeliveryResult]:
        """Send the messages over one connection; return one result each, in order."""
        if not messages:
            return []

        try:
            connection = self._connect()
        except (smtplib.SMTPException, OSError) as error:
            detail = f"connecting to {self.host}:{self.port} failed: {_describe(error)}"
            logger.error("%s; %d messages left for retry", detail, len(messages))
            return [self._unsent_result(mid, raw, detail) for mid, raw in messages]

        try:
            results = self._send_all(connection, messages)
        finally:
            _close(connection)

        self._log_batch(results)
        return results

    def _connect(self) -> smtplib.SMTP:
        """Open, secure and authenticate one connection, or raise."""
        context = self.ssl_context or ssl.create_default_context()
        connection: smtplib.SMTP
        if self.security == "tls":
            connection = smtplib.SMTP_SSL(
                self.host,
                self.port,
                local_hostname=self.local_hostname,
                timeout=self.timeout,
                context=context,
            )
        else:
            connection = smtplib.SMTP(
                self.host,
                self.port,
                local_hostname=self.local_hostname,
                timeout=self.timeout,
            )

        try:
            connection.ehlo_or_helo_if_needed()
            if self.security == "starttls":
                # starttls() raises when the server offers no STARTTLS, so a
                # missing extension never falls back to plain text.
                connection.starttls(context=context)
                connection.ehlo()
            if self.username is not None:
                connection.login(self.username, self._password or "")
        except BaseException:
            connection.close()
            raise
        return connection

    def _send_all(
        self, connection: smtplib.SMTP, messages: Sequence[tuple[str, bytes]]
    ) -> list[DeliveryResult]:
        results: list[DeliveryResult] = []
        for index, (message_id, raw) in enumerate(messages):
            try:
                results.append(_send_one(connection, message_id, raw))
            except (smtplib.SMTPServerDisconnected, OSError) as error:
                detail = (
                    f"connection to {self.host}:{self.port} lost: {_describe(error)}"
                )
                results.extend(
                    DeliveryResult(later_id, "retry", detail)
                    for later_id, _ in messages[index:]
                )
                break

            if connection.sock is None:
                # smtplib closes the socket itself after a 421 reply.
                detail = f"{self.host}:{self.port} closed the connection"
                results.extend(
                    DeliveryResult(later_id, "retry", detail)
                    for later_id, _ in messages[index + 1 :]
                )
                break
        return results

    def _unsent_result(
        self, message_id: str, raw: bytes, detail: str
    ) -> DeliveryResult:
        """Return ``rejected`` for an undeliverable message, otherwise ``retry``."""
        try:
            read_envelope(message_id, raw)
        except InvalidMessage as error:
            return DeliveryResult(message_id, "rejected", str(error))
        return DeliveryResult(message_id, "retry", detail)

    def _log_batch(self, results: list[DeliveryResult]) -> None:
        for result in results:
            if result.status != "sent":
                logger.warning(
                    "message %s %s: %s", result.message_id, result.status, result.detail
                )
        counts = {status: 0 for status in ("sent", "retry", "rejected")}
        for result in results:
            counts[result.status] += 1
        logger.info(
            "SMTP batch to %s:%d: %d sent, %d retry, %d rejected",
            self.host,
            self.port,
            counts["sent"],
            counts["retry"],
            counts["rejected"],
        )


def _send_one(connection: smtplib.SMTP, message_id: str, raw: bytes) -> DeliveryResult:
    """Send one message; raise only when the connection is lost."""
    try:
        envelope = read_envelope(message_id, raw)
    except InvalidMessage as error:
        return DeliveryResult(message_id, "rejected", str(error))

    data = _LINE_ENDINGS.sub(b"\r\n", raw)
    options = _mail_options(connection, envelope, data)
    try:
        # NOTE: a connection lost after the final "." but before the reply
        # leaves it unknown whether the server took the message. It is
        # retried, and the stable Message-ID lets receivers spot the copy.
        refused = connection.sendmail(
            envelope.sender, list(envelope.recipients), data, mail_options=options
        )
    except smtplib.SMTPRecipientsRefused as error:
        return _refused_result(message_id, error.recipients)
    except smtplib.SMTPResponseException as error:
        return DeliveryResult(
            message_id, _status_for(error.smtp_code), _reply_text(error)
        )
    except smtplib.SMTPServerDisconnected:
        raise
    except smtplib.SMTPException as error:
        # For example SMTPNotSupportedError: the server lacks SMTPUTF8.
        return DeliveryResult(message_id, "rejected", str(error))

    if refused:
        # Some recipients took the message; sending again would repeat it.
        return DeliveryResult(
            message_id, "sent", "some recipients refused: " + _refusals(refused)
        )
    return DeliveryResult(
        message_id, "sent", "accepted for " + ", ".join(envelope.recipients)
    )


def _mail_options(
    connection: smtplib.SMTP, envelope: Envelope, data: bytes
) -> list[str]:
    """Return the MAIL FROM options the envelope and body need."""
    options: list[str] = []
    addresses = (envelope.sender, *envelope.recipients)
    if not all(address.isascii() for address in addresses):
        options.append("SMTPUTF8")
    if not data.isascii() and connection.has_extn("8bitmime"):
        options.append("BODY=8BITMIME")
    return options


def _refused_result(
    message_id: str, refusals: dict[str, tuple[int, bytes]]
) -> DeliveryResult:
    """Return the result when the server refused every recipient."""
    permanent = all(500 <= code < 600 for code, _ in refusals.values())
    status: DeliveryStatus = "rejected" if permanent else "retry"
    return DeliveryResult(message_id, status, _refusals(refusals))


def _refusals(refusals: dict[str, tuple[int, bytes]]) -> str:
    return "; ".join(
        f"{address}: {code} {text.decode('utf-8', 'replace')}"
        for address, (code, text) in refusals.items()
    )


def _status_for(code: int) -> DeliveryStatus:
    """Return ``rejected`` for a 5xx reply about the message, else ``retry``."""
    if code in _SESSION_CODES:
        return "retry"
    return "rejected" if 500 <= code < 600 else "retry"


def _reply_text(error: smtplib.SMTPResponseException) -> str:
    text = error.smtp_error
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return f"{error.smtp_code} {text}"


def _describe(error: BaseException) -> str:
    if isinstance(error, smtplib.SMTPResponseException):
        return _reply_text(error)
    return str(error) or type(error).__name__


def _close(connection: smtplib.SMTP) -> None:
    """Say QUIT, or drop the socket when the server no longer listens."""
    try:
        connection.quit()
    except (smtplib.SMTPException, OSError):
        connection.close()


def _check_smtp_settings(
    host: str,
    port: int,
    security: str,
    username: str | None,
    password: str | None,
    timeout: float,
) -> None:
    if not host:
        raise ValueError("SMTP host is empty; set the mail server's host name")
    if not 0 < port < 65536:
        raise ValueError(f"SMTP port {port} is out of range; use 1 to 65535")
    if security not in get_args(SmtpSecurity):
        raise ValueError(
            f"SMTP security {security!r} is not one of 'none', 'starttls', 'tls'"
        )
    if (username is None) != (password is None):
        raise ValueError("SMTP username and password must be set together")
    if username is not None and security == "none":
        raise ValueError(
            "SMTP login with security 'none' would send the password unencrypted; "
            "use 'starttls' or 'tls'"
        )
    if timeout <= 0:
        raise ValueError(f"SMTP timeout {timeout} must be a positive number of seconds")
