"""Which calendar addresses a mentor may ask the server to fetch."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from config import Settings


class AddressRejected(ValueError):
    """The address points into the server's own network."""


def check_public(url: str, settings: Settings) -> None:
    """Raise AddressRejected when ``url`` names a loopback or private host.

    A calendar address is fetched by the server, so in production it must not
    reach the server's own network (loopback, private, link-local or reserved
    ranges). Development and test runs keep loopback calendars working.
    """
    if not settings.production:
        return
    host = urlsplit(url).hostname or ""
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise AddressRejected(f"the host {host!r} could not be found") from None
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global:
            raise AddressRejected(
                f"{host} is an address inside the server's own network; "
                "use the calendar's public address"
            )
