"""Signed links: one person, one object, one action, one state.

Each purpose has its own itsdangerous salt and maximum age. The payload
carries a fingerprint of the state the link was issued for; a link whose
fingerprint no longer matches is out of date and changes nothing. Keys are
tried newest first, so links signed before a key rotation keep working
until the old key is dropped from ``TORACE_OLD_SECRET_KEYS``.

The purposes, what a link names and what its POST does. "Fingerprint" says
whether an older link is refused once the object has changed: that is
needed wherever an old link could undo a newer change.

==============  =======  ==============  ===========  ============================
purpose         max age  object          fingerprint  POST does
==============  =======  ==============  ===========  ============================
confirm         30 days  series          version      confirms for that person
decline         30 days  series          version      declines the whole series
cancel-session  60 days  session         seq+status   cancels one session
another-time    30 days  session         seq+status   moves it to a listed time
feedback        90 days  session         none         saves the form (replaces)
rate            90 days  session         none         saves rating ``extra``
my-mentoring    90 days  person (self)   none         saves one section of the
                                                      mentor's own settings
request         60 days  program         none         adds the mentee's requests
                                                      (never twice)
volunteer       30 days  topic           none         makes the person a mentor
                                                      for that topic (idempotent)
preferences     365 days person (self)   none         sets reminders and calls
                                                      on or off
unsubscribe     365 days person (self)   none         RFC 8058 one-click: stops
                                                      non-essential mail
approve         14 days  series          version      approval by email
reconnect       14 days  connection      none         calendar reconnection
connect         30 days  person (self)   none         calendar connection page
fresh-link      365 days any             none         reserved for re-sent links
==============  =======  ==============  ===========  ============================

The purposes without a fingerprint only set the state their own form shows
(a rating, a form's fields, a flag), or add rows at most once, so an older
link repeats a choice instead of reversing someone else's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask import current_app
from itsdangerous import BadData, SignatureExpired, URLSafeTimedSerializer
from itsdangerous.encoding import base64_decode, base64_encode

# Maximum age of each kind of link. Series actions live as long as a series
# can reasonably wait for an answer; feedback and self-service links outlive
# the program window so a late click still works.
MAX_AGE: dict[str, timedelta] = {
    "confirm": timedelta(days=30),
    "decline": timedelta(days=30),
    "cancel-session": timedelta(days=60),
    "another-time": timedelta(days=30),
    "feedback": timedelta(days=90),
    "rate": timedelta(days=90),
    "my-mentoring": timedelta(days=90),
    "approve": timedelta(days=14),
    "unsubscribe": timedelta(days=365),
    "preferences": timedelta(days=365),
    "request": timedelta(days=60),
    "volunteer": timedelta(days=30),
    "reconnect": timedelta(days=14),
    "connect": timedelta(days=30),
    "fresh-link": timedelta(days=365),
    "speed-schedule": timedelta(days=90),
}


# payload.timestamp.signature in URL-safe base64; a leading "." marks a
# compressed payload.
_TOKEN = re.compile(r"\.?[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")


class LinkInvalid(Exception):
    """The token is tampered, malformed or for another purpose."""


class LinkExpired(Exception):
    """The token was valid but is older than its purpose allows."""

    def __init__(self, claim: LinkClaim | None) -> None:
        super().__init__("link expired")
        self.claim = claim


@dataclass(frozen=True)
class LinkClaim:
    purpose: str
    person_id: int
    object_id: int
    fingerprint: str
    extra: str = ""


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    if purpose not in MAX_AGE:
        raise KeyError(f"no link purpose {purpose!r}")
    keys = list(current_app.config["TORACE"].secret_keys)
    return URLSafeTimedSerializer(keys, salt=f"torace.link.{purpose}")


def make_token(claim: LinkClaim) -> str:
    payload: dict[str, Any] = {
        "p": claim.person_id,
        "o": claim.object_id,
        "f": claim.fingerprint,
    }
    if claim.extra:
        payload["x"] = claim.extra
    return _serializer(claim.purpose).dumps(payload)


def read_token(purpose: str, token: str) -> LinkClaim:
    """Verify ``token`` for ``purpose``; raise LinkExpired or LinkInvalid."""
    if not _is_canonical(token):
        raise LinkInvalid()
    serializer = _serializer(purpose)
    max_age = int(MAX_AGE[purpose].total_seconds())
    try:
        payload = serializer.loads(token, max_age=max_age)
    except SignatureExpired as error:
        # The signature was checked before the age, so the payload is genuine;
        # itsdangerous hands it over still encoded.
        expired = None
        if isinstance(error.payload, bytes):
            try:
                expired = serializer.load_payload(error.payload)
            except BadData:
                expired = None
        raise LinkExpired(_claim(purpose, expired)) from None
    except BadData:
        raise LinkInvalid() from None
    claim = _claim(purpose, payload)
    if claim is None:
        raise LinkInvalid()
    return claim


def _is_canonical(token: str) -> bool:
    """True if ``token`` is exactly as itsdangerous writes it.

    itsdangerous 2.2 decodes base64 leniently: it skips characters outside
    the alphabet and ignores the spare bits of a segment's last character.
    One genuine token thus has many spellings. Accepting only the canonical
    one keeps the per-token rate limit from being sidestepped.
    """
    if not _TOKEN.fullmatch(token):
        return False
    for part in token.lstrip(".").split("."):
        try:
            if base64_encode(base64_decode(part)) != part.encode("ascii"):
                return False
        except BadData:
            return False
    return True


def _claim(purpose: str, payload: Any) -> LinkClaim | None:
    if not isinstance(payload, dict):
        return None
    person, obj = payload.get("p"), payload.get("o")
    fingerprint, extra = payload.get("f", ""), payload.get("x", "")
    # type() rather than isinstance(): True and False are ints too.
    if type(person) is not int or type(obj) is not int:
        return None
    if not isinstance(fingerprint, str) or not isinstance(extra, str):
        return None
    return LinkClaim(purpose, person, obj, fingerprint, extra)


def link_url(
    purpose: str, person_id: int, object_id: int, fingerprint: str = "", extra: str = ""
) -> str:
    """Build the absolute URL of a signed link, for use in an email."""
    token = make_token(LinkClaim(purpose, person_id, object_id, fingerprint, extra))
    base = current_app.config["TORACE"].base_url.rstrip("/")
    return f"{base}/l/{purpose}/{token}"


class LinkRejected(Exception):
    """A request through a valid link was rejected; the message gives the reason.

    Nothing is stored, and the page shows the message with the form again.
    """
