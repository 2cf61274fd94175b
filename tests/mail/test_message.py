"""Message structure, walked as a mail client would after parsing the bytes."""

from __future__ import annotations

from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import parsedate_to_datetime

import pytest
from icalendar import Calendar

from calendar_sync.base import EventSpec
from mail.itip import build_itip
from mail.message import build_message, make_message_id
from tests.mail.conftest import MENTEE, SESSION_UID

MESSAGE_ID = "<0123456789abcdef@torace.example.org>"
UNSUBSCRIBE_URL = "https://torace.example.org/u/3f9a1c"


def invitation(
    event: EventSpec, itip_method: str = "REQUEST", **options
) -> EmailMessage:
    calendar = build_itip(
        itip_method,  # type: ignore[arg-type]
        event,
        uid=SESSION_UID,
        sequence=0 if itip_method == "REQUEST" else 1,
        recipient=MENTEE,
    )
    return message(calendar=calendar, **options)


def message(**options) -> EmailMessage:
    arguments = {
        "sender": "torace@torace.example.org",
        "sender_name": "Torace mentoring",
        "recipient": "Zoë Brontë <zoe@example.org>",
        "subject": "Invitation: first mentoring session",
        "text": "Hello Zoë, your first session is on Monday.",
        "html": "<p>Hello Zoë, your first session is on Monday.</p>",
        "message_id": MESSAGE_ID,
    }
    arguments.update(options)
    return build_message(**arguments)


def reparse(built: EmailMessage) -> EmailMessage:
    parsed = BytesParser(policy=policy.default).parsebytes(bytes(built))
    assert isinstance(parsed, EmailMessage)
    return parsed


def parts(container: EmailMessage) -> list[EmailMessage]:
    payload = container.get_payload()
    assert isinstance(payload, list)
    return payload


def calendar_part(parsed: EmailMessage) -> EmailMessage:
    return parts(parts(parsed)[0])[2]


def test_invitation_is_mixed_at_top(session_event: EventSpec) -> None:
    parsed = reparse(invitation(session_event))

    assert parsed.get_content_type() == "multipart/mixed"
    assert [part.get_content_type() for part in parts(parsed)] == [
        "multipart/alternative",
        "application/ics",
    ]


def test_alternative_holds_text_html_calendar(session_event: EventSpec) -> None:
    alternative = parts(reparse(invitation(session_event)))[0]

    assert [part.get_content_type() for part in parts(alternative)] == [
        "text/plain",
        "text/html",
        "text/calendar",
    ]


def test_text_and_html_bodies_round_trip(session_event: EventSpec) -> None:
    plain, html, _ = parts(parts(reparse(invitation(session_event)))[0])

    assert plain.get_content().strip() == "Hello Zoë, your first session is on Monday."
    assert "<p>Hello Zoë" in html.get_content()


def test_calendar_part_declares_utf8_and_method(session_event: EventSpec) -> None:
    part = calendar_part(reparse(invitation(session_event)))

    assert part.get_param("method") == "REQUEST"
    assert part.get_content_charset() == "utf-8"


def test_calendar_method_is_bare_token(session_event: EventSpec) -> None:
    lines = bytes(invitation(session_event)).split(b"\r\n")

    assert b'Content-Type: text/calendar; charset="utf-8"; method=REQUEST' in lines


@pytest.mark.parametrize("method", ["REQUEST", "CANCEL"])
def test_mime_method_equals_calendar_method(
    session_event: EventSpec, method: str
) -> None:
    part = calendar_part(reparse(invitation(session_event, method)))

    body = Calendar.from_ical(part.get_payload(decode=True))

    assert part.get_param("method") == method
    assert body["METHOD"] == method


def test_calendar_part_has_no_id_or_disposition(session_event: EventSpec) -> None:
    part = calendar_part(reparse(invitation(session_event)))

    assert part["Content-ID"] is None
    assert part["Content-Disposition"] is None


def test_attachment_is_base64_invite_ics(session_event: EventSpec) -> None:
    attachment = parts(reparse(invitation(session_event)))[1]

    assert attachment.get_filename() == "invite.ics"
    assert attachment.get_content_disposition() == "attachment"
    assert attachment["Content-Transfer-Encoding"] == "base64"


def test_attachment_equals_inline_calendar(session_event: EventSpec) -> None:
    parsed = reparse(invitation(session_event))

    inline = calendar_part(parsed).get_payload(decode=True)
    attached = parts(parsed)[1].get_payload(decode=True)

    assert Calendar.from_ical(attached) == Calendar.from_ical(inline)


def test_calendar_keeps_names_outside_ascii(session_event: EventSpec) -> None:
    part = calendar_part(reparse(invitation(session_event)))

    event = Calendar.from_ical(part.get_payload(decode=True)).events[0]

    assert event["ATTENDEE"].params["CN"] == "Zoë Brontë"


def test_method_argument_must_match_calendar(session_event: EventSpec) -> None:
    with pytest.raises(ValueError, match="does not match"):
        invitation(session_event, "REQUEST", method="CANCEL")


def test_matching_method_argument_is_accepted(session_event: EventSpec) -> None:
    part = calendar_part(reparse(invitation(session_event, "CANCEL", method="cancel")))

    assert part.get_param("method") == "CANCEL"


def test_method_without_calendar_is_rejected() -> None:
    with pytest.raises(ValueError, match="without a calendar"):
        message(method="REQUEST")


def test_calendar_without_method_is_rejected() -> None:
    calendar = (
        b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//x//y//EN\r\nEND:VCALENDAR\r\n"
    )

    with pytest.raises(ValueError, match="no METHOD"):
        message(calendar=calendar)


def test_plain_message_is_alternative() -> None:
    parsed = reparse(message())

    assert parsed.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in parts(parsed)] == [
        "text/plain",
        "text/html",
    ]


def test_message_id_comes_from_argument() -> None:
    assert reparse(message())["Message-ID"] == MESSAGE_ID


def test_malformed_message_id_is_rejected() -> None:
    with pytest.raises(ValueError, match="local@domain"):
        message(message_id="not-an-id")


def test_from_is_torace_with_display_name() -> None:
    sender = reparse(message())["From"]

    assert sender.addresses[0].addr_spec == "torace@torace.example.org"
    assert sender.addresses[0].display_name == "Torace mentoring"


def test_to_is_the_recipient() -> None:
    recipient = reparse(message())["To"]

    assert recipient.addresses[0].addr_spec == "zoe@example.org"
    assert recipient.addresses[0].display_name == "Zoë Brontë"


def test_two_recipients_are_rejected() -> None:
    with pytest.raises(ValueError, match="not one address"):
        message(recipient="zoe@example.org, sam@example.org")


def test_date_header_is_given_instant() -> None:
    sent = datetime(2025, 3, 20, 14, 30, tzinfo=UTC)

    date = reparse(message(date=sent))["Date"]

    assert parsedate_to_datetime(str(date)) == sent


def test_date_header_defaults_to_now() -> None:
    before = datetime.now(UTC).replace(microsecond=0)

    date = parsedate_to_datetime(str(reparse(message())["Date"]))

    assert before <= date <= datetime.now(UTC)


def test_one_click_unsubscribe_headers() -> None:
    parsed = reparse(message(list_unsubscribe=UNSUBSCRIBE_URL))

    assert parsed["List-Unsubscribe"] == f"<{UNSUBSCRIBE_URL}>"
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_no_unsubscribe_headers_by_default() -> None:
    parsed = reparse(message())

    assert parsed["List-Unsubscribe"] is None
    assert parsed["List-Unsubscribe-Post"] is None


@pytest.mark.parametrize(
    "url",
    [
        "http://torace.example.org/u/1",
        "mailto:unsubscribe@torace.example.org",
        "https://torace.example.org/u/1>, <https://evil.example",
    ],
)
def test_unsubscribe_url_must_be_one_https_url(url: str) -> None:
    with pytest.raises(ValueError, match="https://"):
        message(list_unsubscribe=url)


def test_loopback_http_unsubscribe_is_allowed() -> None:
    parsed = reparse(message(list_unsubscribe="http://127.0.0.1:5000/u/1"))

    assert parsed["List-Unsubscribe"] == "<http://127.0.0.1:5000/u/1>"


def test_extra_headers_are_added() -> None:
    parsed = reparse(message(extra_headers={"Auto-Submitted": "auto-generated"}))

    assert parsed["Auto-Submitted"] == "auto-generated"


def test_extra_header_cannot_replace_from() -> None:
    with pytest.raises(ValueError, match="set by build_message"):
        message(extra_headers={"from": "mallory@example.org"})


def test_line_break_in_subject_is_rejected() -> None:
    with pytest.raises(ValueError, match="line break"):
        message(subject="Hello\r\nBcc: mallory@example.org")


def test_serialised_message_uses_crlf(session_event: EventSpec) -> None:
    raw = bytes(invitation(session_event))

    assert b"\n" not in raw.replace(b"\r\n", b"")


def test_serialised_message_is_seven_bit(session_event: EventSpec) -> None:
    raw = bytes(invitation(session_event))

    assert raw.isascii()


def test_single_mime_version_header(session_event: EventSpec) -> None:
    raw = bytes(invitation(session_event))

    assert raw.count(b"MIME-Version:") == 1


def test_message_id_is_deterministic() -> None:
    first = make_message_id("series-4/session-17/request/zoe", "torace.example.org")
    again = make_message_id("series-4/session-17/request/zoe", "torace.example.org")

    assert first == again


def test_message_id_differs_by_key() -> None:
    request = make_message_id("series-4/session-17/request/zoe", "torace.example.org")
    cancel = make_message_id("series-4/session-17/cancel/zoe", "torace.example.org")

    assert request != cancel


def test_message_id_has_rfc5322_form() -> None:
    message_id = make_message_id("series-4/session-17", "Torace.Example.org")

    assert message_id.startswith("<")
    assert message_id.endswith("@torace.example.org>")
    assert "series-4" not in message_id


def test_message_id_domain_is_checked() -> None:
    with pytest.raises(ValueError, match="not a host name"):
        make_message_id("key", "torace example")
