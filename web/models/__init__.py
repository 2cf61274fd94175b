"""The database models."""

from web.models.booking import (
    BookedTime,
    Feedback,
    FollowUp,
    Match,
    MentoringSession,
    Series,
)
from web.models.calendars import BusyBlock, CalendarConnection
from web.models.outbox import AuditEvent, OutboxMessage
from web.models.people import Admin, DateOverride, Person, ProgramAdmin
from web.models.programs import Membership, Program, Request, Topic

__all__ = [
    "Admin",
    "AuditEvent",
    "BookedTime",
    "BusyBlock",
    "CalendarConnection",
    "DateOverride",
    "Feedback",
    "FollowUp",
    "Match",
    "Membership",
    "MentoringSession",
    "OutboxMessage",
    "Person",
    "Program",
    "ProgramAdmin",
    "Request",
    "Series",
    "Topic",
]
