"""The calendar case table on Radicale and Xandikos."""

from __future__ import annotations

import pytest

from calendar_sync.caldav_source import CalDAVSource
from calendar_sync.quirks import quirks_for

from .cases import CASE_IDS, CASES, Case
from .servers import CalDAVServer
from .uploads import new_calendar, upload_fixture

SERVERS = ["radicale", "xandikos"]

_RADICALE_NO_FREEBUSY = "Radicale 3.9 answers 400 to a PUT of a VFREEBUSY object"

# Fixtures a server refuses to store, with what the server does. A case
# listed here that the server accepts after all runs like any other.
REJECTED_BY_SERVER = {
    ("radicale", "rdate_periods.ics"): (
        "Radicale 3.9 answers 400 to RDATE;VALUE=PERIOD because its vobject "
        "0.9.9 has no PERIOD support"
    ),
    ("radicale", "freebusy_combined.ics"): _RADICALE_NO_FREEBUSY,
    ("radicale", "freebusy_split.ics"): _RADICALE_NO_FREEBUSY,
    ("radicale", "sequence_copies.ics"): (
        "Radicale 3.9 answers 400 to two VEVENTs with one UID and no "
        "RECURRENCE-ID in one resource"
    ),
}


@pytest.fixture(params=SERVERS)
def server(request: pytest.FixtureRequest) -> CalDAVServer:
    return request.getfixturevalue(request.param)


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_caldav_case(server: CalDAVServer, case: Case) -> None:
    calendar_url = new_calendar(server, case.id.replace("_", "-"))
    rejected = upload_fixture(server, calendar_url, case.path)
    if rejected:
        reason = REJECTED_BY_SERVER.get((server.name, case.fixture))
        statuses = ", ".join(f"{r.uid}: HTTP {r.status}" for r in rejected)
        assert reason is not None, f"{server.name} rejected {statuses}"
        pytest.skip(reason)
    source = CalDAVSource(
        calendar_url,
        server.username,
        server.password,
        case.options,
        quirks=quirks_for(server.name),
    )

    report = source.read_busy(case.start, case.end)

    assert [(i.start, i.end, i.kind) for i in report.intervals] == case.expected
