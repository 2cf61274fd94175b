"""MIME messages: plain text and HTML, optionally carrying an iMIP invitation.

The invitation layout follows the CalConnect iMIP best practices and RFC 6047:
``multipart/mixed`` holding a ``multipart/alternative`` of text/plain,
text/html and ``text/calendar; method=...``, plus the same calendar as an
``application/ics`` attachment for clients that read only attachments. The
calendar part has no Content-ID and no ``Content-Disposition: inline``,
because Thunderbird stops recognising the invitation when both are present.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

from icalendar import Calendar

logger = logging.getLogger(__name__)

# CRLF line endings so the bytes can go to SMTP or an .eml file unchanged.
# A 7bit transfer type makes the email package pick quoted-printable or base64
# for non-ASCII bodies, so delivery never depends on the server's 8BITMIME.
MESSAGE_POLICY = policy.SMTP.clone(cte_type="7bit")

ICS_FILENAME = "invite.ics"

ONE_CLICK_POST = "List-Unsubscribe=One-Click"

_NO_HEADERS: Mapping[str, str] = MappingProxyType({})

# Headers this module sets itself; extra_headers may not replace them.
_RESERVED_HEADERS = frozenset(
    name.lower()
    for name in (
        "From",
        "To",
        "Subject",
        "Date",
        "Message-ID",
        "MIME-Version",
        "Content-Type",
        "Content-Transfer-Encoding",
        "Content-Disposition",
        "List-Unsubscribe",
        "List-Unsubscribe-Post",
    )
)

_MESSAGE_ID = re.compile(r"<[^<>@\s]+@[^<>@\s]+>")
_DOMAIN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?")
_HEADER_NAME = re.compile(r"[!-9;-~]+")
_LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


def make_message_id(key: str, domain: str) -> str:
    """Return the Message-ID for ``key``: the same key always gives the same id.

    The key is hashed, so ids from internal keys reveal nothing about them.
    """
    if not key:
        raise ValueError("message key is empty; pass the outbox entry's key")
    if not _DOMAIN.fullmatch(domain):
        raise ValueError(
            f"domain {domain!r} is not a host name; pass Torace's mail domain, "
            "e.g. 'torace.example.org'"
        )

    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]
    return f"<{digest}@{domain.lower()}>"


def build_message(
    *,
    sender: str,
    sender_name: str,
    recipient: str,
    subject: str,
    text: str,
    html: str,
    message_id: str,
    calendar: bytes | None = None,
    method: str | None = None,
    list_unsubscribe: str | None = None,
    extra_headers: Mapping[str, str] = _NO_HEADERS,
    date: datetime | None = None,
) -> EmailMessage:
    """Build one message to one recipient, with an iMIP part if ``calendar`` is set.

    ``method`` defaults to the calendar's METHOD and must equal it when given.
    ``date`` defaults to the current time. Serialise the result with
    ``bytes(message)`` or ``message.as_bytes()``; both give CRLF line endings.
    """
    _check_message_id(message_id)
    if calendar is None and method is not None:
        raise ValueError(f"method {method!r} was given without a calendar")

    message = EmailMessage(policy=MESSAGE_POLICY)
    message["From"] = _sender_address(sender, sender_name)
    message["To"] = _recipient_address(recipient)
    message["Subject"] = _single_line("subject", subject)
    message["Date"] = format_datetime(_message_date(date))
    message["Message-ID"] = message_id
    message["MIME-Version"] = "1.0"
    if list_unsubscribe is not None:
        message["List-Unsubscribe"] = f"<{_unsubscribe_url(list_unsubscribe)}>"
        message["List-Unsubscribe-Post"] = ONE_CLICK_POST
    _add_extra_headers(message, extra_headers)

    if calendar is None:
        _set_alternative_body(message, text, html)
    else:
        _set_invitation_body(message, text, html, calendar, method)

    logger.debug("built message %s (calendar: %s)", message_id, calendar is not None)
    return message


def calendar_method(calendar: bytes) -> str:
    """Return the METHOD of a VCALENDAR, upper-cased, or raise ValueError."""
    try:
        parsed = Calendar.from_ical(calendar)
    except ValueError as error:
        raise ValueError(f"calendar is not valid iCalendar: {error}") from error

    method = parsed.get("METHOD") if isinstance(parsed, Calendar) else None
    if method is None:
        raise ValueError("calendar has no METHOD; build it with mail.itip.build_itip")
    return str(method).upper()


def _set_alternative_body(message: EmailMessage, text: str, html: str) -> None:
    """Make ``message`` a multipart/alternative of text/plain and text/html."""
    message.make_alternative()
    message.attach(_text_part(text, "plain"))
    message.attach(_text_part(html, "html"))


def _set_invitation_body(
    message: EmailMessage,
    text: str,
    html: str,
    calendar: bytes,
    method: str | None,
) -> None:
    """Make ``message`` multipart/mixed with the iMIP alternative and attachment."""
    found = calendar_method(calendar)
    if method is not None and method.upper() != found:
        raise ValueError(
            f"method {method!r} does not match the calendar's METHOD {found!r}; "
            "clients need both to agree to show the invitation buttons"
        )

    alternative = EmailMessage(policy=MESSAGE_POLICY)
    alternative.make_alternative()
    alternative.attach(_text_part(text, "plain"))
    alternative.attach(_text_part(html, "html"))
    alternative.attach(_calendar_part(calendar, found))

    attachment = _body_part(
        calendar, maintype="application", subtype="ics", filename=ICS_FILENAME
    )

    message.make_mixed()
    message.attach(alternative)
    message.attach(attachment)


def _body_part(content: str | bytes, **options: Any) -> EmailMessage:
    """Return a body part holding ``content``; ``options`` go to set_content."""
    part = EmailMessage(policy=MESSAGE_POLICY)
    part.set_content(content, **options)
    # set_content adds MIME-Version, which belongs in the top-level header only.
    del part["MIME-Version"]
    return part


def _text_part(content: str, subtype: str) -> EmailMessage:
    return _body_part(content, subtype=subtype)


def _calendar_part(calendar: bytes, method: str) -> EmailMessage:
    """Return the inline ``text/calendar`` part whose method matches METHOD."""
    try:
        calendar_text = calendar.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ValueError("calendar is not UTF-8 encoded") from error

    # iCalendar lines are folded at 75 octets, so ASCII data fits 7bit as is.
    encoding = "7bit" if calendar_text.isascii() else "base64"
    part = _body_part(calendar_text, subtype="calendar", charset="utf-8", cte=encoding)
    # The email package quotes every parameter value it writes. set_raw keeps
    # the method a bare token, as the example in RFC 6047 section 2.5 has it.
    del part["Content-Type"]
    part.set_raw("Content-Type", f'text/calendar; charset="utf-8"; method={method}')
    return part


def _check_message_id(message_id: str) -> None:
    if not _MESSAGE_ID.fullmatch(message_id):
        raise ValueError(
            f"message id {message_id!r} is not of the form '<local@domain>'; "
            "build it with make_message_id"
        )


def _sender_address(sender: str, sender_name: str) -> Address:
    """Return Torace's own From address with its display name."""
    local, at, domain = sender.partition("@")
    if not (local and at and domain) or _has_line_break(sender + sender_name):
        raise ValueError(
            f"sender {sender!r} is not a plain address such as 'torace@example.org'"
        )
    return Address(display_name=sender_name, username=local, domain=domain)


def _recipient_address(recipient: str) -> str:
    """Return ``recipient`` after checking that it names one address."""
    addresses = [address for _, address in getaddresses([recipient]) if address]
    if len(addresses) != 1 or "@" not in addresses[0] or _has_line_break(recipient):
        raise ValueError(
            f"recipient {recipient!r} is not one address such as "
            "'Zoe <zoe@example.org>'"
        )
    return recipient


def _single_line(name: str, value: str) -> str:
    if _has_line_break(value):
        raise ValueError(f"{name} {value!r} contains a line break; use one line")
    return value


def _message_date(date: datetime | None) -> datetime:
    if date is None:
        return datetime.now(UTC)
    if date.tzinfo is None:
        raise ValueError(f"date {date.isoformat()} has no time zone; pass UTC")
    return date


def _unsubscribe_url(url: str) -> str:
    """Return ``url`` after checking it suits an RFC 8058 one-click header."""
    parts = urlsplit(url)
    # RFC 8058 requires an HTTPS URI. Plain http is let through only for
    # loopback hosts, so a local development instance can still build mail.
    secure = parts.scheme == "https" or (
        parts.scheme == "http" and parts.hostname in _LOOPBACK_HOSTS
    )
    if not secure or not parts.hostname or re.search(r"[\s<>,]", url):
        raise ValueError(
            f"unsubscribe URL {url!r} must be one https:// URL without spaces, "
            "commas or angle brackets"
        )
    return url


def _add_extra_headers(message: EmailMessage, headers: Mapping[str, str]) -> None:
    for name, value in headers.items():
        if not _HEADER_NAME.fullmatch(name):
            raise ValueError(f"header name {name!r} is not a valid field name")
        if name.lower() in _RESERVED_HEADERS:
            raise ValueError(
                f"header {name!r} is set by build_message; pass it as an argument"
            )
        message[name] = _single_line(f"header {name}", value)


def _has_line_break(value: str) -> bool:
    return "\r" in value or "\n" in value
