"""A fixed-window request limit per client address and per signed-link token.

Counts live in the process, so each web worker limits on its own; several
workers multiply the effective limit by their number. Limits come from
``app.config["LINK_RATE_LIMITS"]``: ``{"address": (count, seconds), "token":
(count, seconds)}``. A missing entry uses the default below.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from flask import Flask, current_app, request

log = logging.getLogger(__name__)

DEFAULT_LIMITS: dict[str, tuple[int, int]] = {
    # An office behind one NAT address shares the address limit, so it is
    # far above what one person clicking links would reach.
    "address": (120, 60),
    "token": (20, 60),
}


@dataclass
class FixedWindow:
    """Counts hits per key in windows of ``seconds`` that start on multiples."""

    name: str
    count: int
    seconds: int
    clock: Callable[[], float] = time.monotonic
    _window: int = -1
    _hits: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def hit(self, key: str) -> float | None:
        """Count one hit; return None if allowed, else seconds until the reset."""
        now = self.clock()
        window = int(now // self.seconds)
        with self._lock:
            if window != self._window:
                # A new window drops every key, so memory stays bounded.
                self._window, self._hits = window, {}
            hits = self._hits.get(key, 0) + 1
            self._hits[key] = hits
        if hits <= self.count:
            return None
        if hits == self.count + 1:
            # Logged once per key and window, not on every rejected request.
            log.warning("%s rate limit of %d reached", self.name, self.count)
        return (window + 1) * self.seconds - now


class LinkLimiter:
    """The windows for one app: one per kind of key."""

    def __init__(self, limits: dict[str, tuple[int, int]]) -> None:
        merged = {**DEFAULT_LIMITS, **limits}
        self.windows = {
            kind: FixedWindow(kind, count, seconds)
            for kind, (count, seconds) in merged.items()
        }

    def check(self, address: str, token: str) -> float | None:
        """Count a request; return the wait in seconds if it is over a limit."""
        waits = [
            self.windows["address"].hit(address),
            self.windows["token"].hit(token),
        ]
        over = [w for w in waits if w is not None]
        return max(over) if over else None


def limiter_for(app: Flask) -> LinkLimiter:
    """Return the app's limiter, building it from the config on first use."""
    limiter = app.extensions.get("torace.link_limiter")
    if limiter is None:
        limiter = LinkLimiter(dict(app.config.get("LINK_RATE_LIMITS", {})))
        app.extensions["torace.link_limiter"] = limiter
    return limiter


def over_limit(token: str) -> int | None:
    """Count this request; return whole seconds to wait when it is over a limit."""
    # NOTE: behind a reverse proxy remote_addr is the proxy's address unless
    # the deployment wraps the app in werkzeug's ProxyFix.
    address = request.remote_addr or "unknown"
    wait = limiter_for(current_app).check(address, token)
    if wait is None:
        return None
    return max(1, int(wait + 0.999))
