"""The exceptions every calendar adapter raises, whatever the provider."""

from __future__ import annotations


class CalendarError(Exception):
    """A calendar could not be read or written."""

    def __init__(self, message: str, *, provider: str, calendar: str) -> None:
        super().__init__(message)
        self.provider = provider
        self.calendar = calendar

    def __str__(self) -> str:
        return f"{self.provider} calendar {self.calendar}: {self.args[0]}"


class AuthError(CalendarError):
    """The credentials were rejected, expired or revoked; the owner must reconnect."""


class NotFoundError(CalendarError):
    """The calendar or event does not exist."""


class RateLimitedError(CalendarError):
    """The provider asked the client to wait ``retry_after`` seconds."""

    def __init__(
        self, message: str, *, provider: str, calendar: str, retry_after: float
    ) -> None:
        super().__init__(message, provider=provider, calendar=calendar)
        self.retry_after = retry_after


class ServerError(CalendarError):
    """The provider failed on its side (5xx or a garbled answer)."""


class ProviderTimeoutError(CalendarError):
    """The provider did not answer in time."""


class InvalidDataError(CalendarError):
    """The provider's data could not be parsed."""
