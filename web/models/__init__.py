"""The database models."""

from web.models.booking import Feedback, Match, MentoringSession, Series
from web.models.calendars import BusyBlock, CalendarConnection
from web.models.outbox import AuditEvent, OutboxMessage
from web.models.people import Admin, Person, ProgramAdmin
from web.models.programs import Membership, Program, Request, Topic

__all__ = [
    "Admin",
    "AuditEvent",
    "BusyBlock",
    "CalendarConnection",
    "Feedback",
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
