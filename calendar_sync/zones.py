"""Resolve the TZID of an iCalendar value to a time zone.

Calendars name zones three ways: IANA names (``Europe/Berlin``), Windows names
written by Outlook and Exchange (``W. Europe Standard Time``), and names that
only the file's own VTIMEZONE defines (``(UTC+01:00) Amsterdam, Berlin``).
Any other name raises UnknownTimezoneError; it is never read as UTC.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, tzinfo
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

import icalendar
from icalendar.prop import vDDDLists, vDDDTypes, vRecur

logger = logging.getLogger(__name__)

# Windows zone id -> IANA zone, after the territory "001" rows of the Unicode
# CLDR windowsZones table. Where CLDR still names a deprecated IANA link
# (Asia/Calcutta, Europe/Kiev), the current canonical name is used instead.
WINDOWS_ZONES: dict[str, str] = {
    "Dateline Standard Time": "Etc/GMT+12",
    "UTC-11": "Etc/GMT+11",
    "Aleutian Standard Time": "America/Adak",
    "Hawaiian Standard Time": "Pacific/Honolulu",
    "Marquesas Standard Time": "Pacific/Marquesas",
    "Alaskan Standard Time": "America/Anchorage",
    "UTC-09": "Etc/GMT+9",
    "Pacific Standard Time (Mexico)": "America/Tijuana",
    "UTC-08": "Etc/GMT+8",
    "Pacific Standard Time": "America/Los_Angeles",
    "US Mountain Standard Time": "America/Phoenix",
    "Mountain Standard Time (Mexico)": "America/Mazatlan",
    "Mountain Standard Time": "America/Denver",
    "Yukon Standard Time": "America/Whitehorse",
    "Central America Standard Time": "America/Guatemala",
    "Central Standard Time": "America/Chicago",
    "Easter Island Standard Time": "Pacific/Easter",
    "Central Standard Time (Mexico)": "America/Mexico_City",
    "Mexico Standard Time": "America/Mexico_City",
    "Mexico Standard Time 2": "America/Chihuahua",
    "Canada Central Standard Time": "America/Regina",
    "SA Pacific Standard Time": "America/Bogota",
    "Eastern Standard Time (Mexico)": "America/Cancun",
    "Eastern Standard Time": "America/New_York",
    "Haiti Standard Time": "America/Port-au-Prince",
    "Cuba Standard Time": "America/Havana",
    "US Eastern Standard Time": "America/Indiana/Indianapolis",
    "Turks And Caicos Standard Time": "America/Grand_Turk",
    "Paraguay Standard Time": "America/Asuncion",
    "Atlantic Standard Time": "America/Halifax",
    "Venezuela Standard Time": "America/Caracas",
    "Central Brazilian Standard Time": "America/Cuiaba",
    "SA Western Standard Time": "America/La_Paz",
    "Pacific SA Standard Time": "America/Santiago",
    "Newfoundland Standard Time": "America/St_Johns",
    "Tocantins Standard Time": "America/Araguaina",
    "E. South America Standard Time": "America/Sao_Paulo",
    "SA Eastern Standard Time": "America/Cayenne",
    "Argentina Standard Time": "America/Argentina/Buenos_Aires",
    "Greenland Standard Time": "America/Nuuk",
    "Montevideo Standard Time": "America/Montevideo",
    "Magallanes Standard Time": "America/Punta_Arenas",
    "Saint Pierre Standard Time": "America/Miquelon",
    "Bahia Standard Time": "America/Bahia",
    "UTC-02": "Etc/GMT+2",
    "Mid-Atlantic Standard Time": "Etc/GMT+2",
    "Azores Standard Time": "Atlantic/Azores",
    "Cape Verde Standard Time": "Atlantic/Cape_Verde",
    "UTC": "Etc/UTC",
    "Coordinated Universal Time": "Etc/UTC",
    "GMT Standard Time": "Europe/London",
    "Greenwich Standard Time": "Atlantic/Reykjavik",
    "Sao Tome Standard Time": "Africa/Sao_Tome",
    "Morocco Standard Time": "Africa/Casablanca",
    "W. Europe Standard Time": "Europe/Berlin",
    "Central Europe Standard Time": "Europe/Budapest",
    "Romance Standard Time": "Europe/Paris",
    "Central European Standard Time": "Europe/Warsaw",
    "W. Central Africa Standard Time": "Africa/Lagos",
    "Jordan Standard Time": "Asia/Amman",
    "GTB Standard Time": "Europe/Bucharest",
    "Middle East Standard Time": "Asia/Beirut",
    "Egypt Standard Time": "Africa/Cairo",
    "E. Europe Standard Time": "Europe/Chisinau",
    "Syria Standard Time": "Asia/Damascus",
    "West Bank Standard Time": "Asia/Hebron",
    "South Africa Standard Time": "Africa/Johannesburg",
    "FLE Standard Time": "Europe/Kyiv",
    "Israel Standard Time": "Asia/Jerusalem",
    "South Sudan Standard Time": "Africa/Juba",
    "Kaliningrad Standard Time": "Europe/Kaliningrad",
    "Sudan Standard Time": "Africa/Khartoum",
    "Libya Standard Time": "Africa/Tripoli",
    "Namibia Standard Time": "Africa/Windhoek",
    "Arabic Standard Time": "Asia/Baghdad",
    "Turkey Standard Time": "Europe/Istanbul",
    "Arab Standard Time": "Asia/Riyadh",
    "Belarus Standard Time": "Europe/Minsk",
    "Russian Standard Time": "Europe/Moscow",
    "E. Africa Standard Time": "Africa/Nairobi",
    "Volgograd Standard Time": "Europe/Volgograd",
    "Iran Standard Time": "Asia/Tehran",
    "Arabian Standard Time": "Asia/Dubai",
    "Astrakhan Standard Time": "Europe/Astrakhan",
    "Azerbaijan Standard Time": "Asia/Baku",
    "Russia Time Zone 3": "Europe/Samara",
    "Mauritius Standard Time": "Indian/Mauritius",
    "Saratov Standard Time": "Europe/Saratov",
    "Georgian Standard Time": "Asia/Tbilisi",
    "Caucasus Standard Time": "Asia/Yerevan",
    "Armenian Standard Time": "Asia/Yerevan",
    "Afghanistan Standard Time": "Asia/Kabul",
    "West Asia Standard Time": "Asia/Tashkent",
    "Ekaterinburg Standard Time": "Asia/Yekaterinburg",
    "Pakistan Standard Time": "Asia/Karachi",
    "Qyzylorda Standard Time": "Asia/Qyzylorda",
    "India Standard Time": "Asia/Kolkata",
    "Sri Lanka Standard Time": "Asia/Colombo",
    "Nepal Standard Time": "Asia/Kathmandu",
    "Central Asia Standard Time": "Asia/Bishkek",
    "Bangladesh Standard Time": "Asia/Dhaka",
    "Omsk Standard Time": "Asia/Omsk",
    "Myanmar Standard Time": "Asia/Yangon",
    "SE Asia Standard Time": "Asia/Bangkok",
    "Altai Standard Time": "Asia/Barnaul",
    "W. Mongolia Standard Time": "Asia/Hovd",
    "North Asia Standard Time": "Asia/Krasnoyarsk",
    "N. Central Asia Standard Time": "Asia/Novosibirsk",
    "Tomsk Standard Time": "Asia/Tomsk",
    "China Standard Time": "Asia/Shanghai",
    "North Asia East Standard Time": "Asia/Irkutsk",
    "Singapore Standard Time": "Asia/Singapore",
    "W. Australia Standard Time": "Australia/Perth",
    "Taipei Standard Time": "Asia/Taipei",
    "Ulaanbaatar Standard Time": "Asia/Ulaanbaatar",
    "Aus Central W. Standard Time": "Australia/Eucla",
    "Transbaikal Standard Time": "Asia/Chita",
    "Tokyo Standard Time": "Asia/Tokyo",
    "North Korea Standard Time": "Asia/Pyongyang",
    "Korea Standard Time": "Asia/Seoul",
    "Yakutsk Standard Time": "Asia/Yakutsk",
    "Cen. Australia Standard Time": "Australia/Adelaide",
    "AUS Central Standard Time": "Australia/Darwin",
    "E. Australia Standard Time": "Australia/Brisbane",
    "AUS Eastern Standard Time": "Australia/Sydney",
    "West Pacific Standard Time": "Pacific/Port_Moresby",
    "Tasmania Standard Time": "Australia/Hobart",
    "Vladivostok Standard Time": "Asia/Vladivostok",
    "Lord Howe Standard Time": "Australia/Lord_Howe",
    "Bougainville Standard Time": "Pacific/Bougainville",
    "Russia Time Zone 10": "Asia/Srednekolymsk",
    "Magadan Standard Time": "Asia/Magadan",
    "Norfolk Standard Time": "Pacific/Norfolk",
    "Sakhalin Standard Time": "Asia/Sakhalin",
    "Central Pacific Standard Time": "Pacific/Guadalcanal",
    "Russia Time Zone 11": "Asia/Kamchatka",
    "Kamchatka Standard Time": "Asia/Kamchatka",
    "New Zealand Standard Time": "Pacific/Auckland",
    "UTC+12": "Etc/GMT-12",
    "Fiji Standard Time": "Pacific/Fiji",
    "Chatham Islands Standard Time": "Pacific/Chatham",
    "UTC+13": "Etc/GMT-13",
    "Tonga Standard Time": "Pacific/Tongatapu",
    "Samoa Standard Time": "Pacific/Apia",
    "Line Islands Standard Time": "Pacific/Kiritimati",
}

_WINDOWS_BY_LOWER_NAME = {name.lower(): zone for name, zone in WINDOWS_ZONES.items()}


class UnknownTimezoneError(ValueError):
    """A TZID that is no IANA zone, no Windows zone and no VTIMEZONE in the file."""

    def __init__(self, tzid: str) -> None:
        super().__init__(
            f"unknown time zone {tzid!r}: it is not an IANA or Windows zone name "
            "and the calendar has no VTIMEZONE defining it"
        )
        self.tzid = tzid


@lru_cache(maxsize=1)
def _iana_names() -> frozenset[str]:
    return frozenset(available_timezones())


def iana_name(tzid: str) -> str | None:
    """Return the IANA zone a TZID names directly or as a Windows zone id."""
    name = tzid.strip().strip('"')
    if name in _iana_names():
        return name

    windows = _WINDOWS_BY_LOWER_NAME.get(name.lower())
    if windows is not None:
        return windows

    # Some producers prefix the IANA name with a path of their own, such as
    # "/mozilla.org/20050126_1/Europe/Berlin" or "/citadel.org/.../Europe/Rome".
    parts = [part for part in name.split("/") if part]
    for first in range(1, len(parts)):
        candidate = "/".join(parts[first:])
        if candidate in _iana_names():
            return candidate
    return None


def timezone_definitions(calendar: icalendar.Calendar) -> dict[str, icalendar.Timezone]:
    """Collect the VTIMEZONE components of a calendar by TZID."""
    definitions: dict[str, icalendar.Timezone] = {}
    for component in calendar.walk("VTIMEZONE"):
        tzid = str(component.get("TZID", "")).strip()
        if tzid and isinstance(component, icalendar.Timezone):
            definitions[tzid] = component
    return definitions


def resolve_tzid(
    tzid: str, definitions: Mapping[str, icalendar.Timezone] | None = None
) -> tzinfo:
    """Resolve a TZID to a time zone, or raise UnknownTimezoneError.

    IANA and Windows names win over the file's VTIMEZONE because Outlook's
    VTIMEZONEs start in 1601 and apply today's rule to every year, while the
    IANA database contains each year's offsets.
    """
    name = iana_name(tzid)
    if name is not None:
        return ZoneInfo(name)

    definition = (definitions or {}).get(tzid.strip().strip('"'))
    if definition is None:
        raise UnknownTimezoneError(tzid)
    return _zone_from_definition(tzid, definition)


def _zone_from_definition(tzid: str, definition: icalendar.Timezone) -> tzinfo:
    try:
        zone = definition.to_tz(lookup_tzid=False)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        logger.warning("VTIMEZONE %r cannot be read: %s", tzid, exc)
        raise UnknownTimezoneError(tzid) from exc
    if not isinstance(zone, tzinfo):
        raise UnknownTimezoneError(tzid)
    return zone


def owner_zone(name: str) -> ZoneInfo:
    """Return the owner's IANA (or Windows-named) zone, or raise ValueError."""
    resolved = iana_name(name)
    if resolved is None:
        raise ValueError(
            f"owner time zone {name!r} is not an IANA zone name; "
            "use a name such as 'Europe/Berlin'"
        )
    return ZoneInfo(resolved)


def prop_of(component: icalendar.Component, name: str) -> Any:
    """Return a component's property; icalendar's union type is too wide to use."""
    return component[name]


def value_of(component: icalendar.Component, name: str) -> Any:
    """Return the Python value (``.dt``) of a date, time or duration property."""
    prop: Any = component[name]
    return prop.dt


# Copy of a component's DURATION, carried into every expanded occurrence.
EXACT_DURATION = "X-TORACE-DURATION"


class SeriesZones:
    """The zones that place the values of one event series in time.

    ``strict=False`` reads an unknown TZID in the owner's zone. It is used only
    to find the days a broken event covers, so they can be marked unknown.
    """

    def __init__(
        self,
        owner: tzinfo,
        definitions: Mapping[str, icalendar.Timezone],
        *,
        strict: bool = True,
    ) -> None:
        self.owner = owner
        self.definitions = definitions
        self.strict = strict

    def zone_of(self, tzid: str) -> tzinfo:
        """Resolve a TZID, falling back to the owner's zone when not strict."""
        try:
            return resolve_tzid(tzid, self.definitions)
        except UnknownTimezoneError:
            if self.strict:
                raise
            return self.owner


def normalize_series(
    components: list[icalendar.Event], zones: SeriesZones
) -> list[icalendar.Event]:
    """Copy the components of one UID with every date-time made timezone-aware.

    DTSTART and DTEND get their TZID's zone, or the owner's zone when
    floating. RECURRENCE-ID, EXDATE and RDATE are moved into the zone of the
    master's DTSTART (floating ones are read in it), so the expansion library
    compares them with occurrences as instants. UNTIL becomes UTC, or a date
    for an all-day series. Of several copies of one occurrence, the one with
    the highest SEQUENCE is kept.
    """
    resolved = [_resolve_component(component, zones) for component in components]
    master = next((c for c in resolved if "RECURRENCE-ID" not in c), None)
    reference = zones.owner
    if master is not None:
        master_start = value_of(master, "DTSTART")
        if isinstance(master_start, datetime) and master_start.tzinfo is not None:
            reference = master_start.tzinfo

    for component in resolved:
        _move_recurrence_values(component, reference)
        if "RRULE" in component:
            _normalize_until(component, reference, zones.owner)
    return _latest_copies(resolved)


def _resolve_component(event: icalendar.Event, zones: SeriesZones) -> icalendar.Event:
    if "DTSTART" not in event:
        raise ValueError("the event has no DTSTART")
    copy = event.copy()

    start = _aware(prop_of(event, "DTSTART"), zones, zones.owner)
    copy["DTSTART"] = vDDDTypes(start)
    start_zone = start.tzinfo if isinstance(start, datetime) else zones.owner
    if "DTEND" in event:
        copy["DTEND"] = vDDDTypes(_aware(prop_of(event, "DTEND"), zones, start_zone))
    elif "DURATION" in event:
        # The expansion library adds DURATION on the wall clock; the reader
        # needs it to add the exact hours to the UTC start instead.
        copy[EXACT_DURATION] = event["DURATION"]

    if "RECURRENCE-ID" in event:
        original = prop_of(event, "RECURRENCE-ID")
        # A floating RECURRENCE-ID is moved into the master's zone afterwards.
        recurrence = _aware(original, zones, None)
        copy["RECURRENCE-ID"] = vDDDTypes(recurrence)
        if "RANGE" in original.params:
            copy["RECURRENCE-ID"].params["RANGE"] = original.params["RANGE"]

    for name in ("EXDATE", "RDATE"):
        if name in event:
            copy[name] = [vDDDLists(_list_values(prop_of(event, name), zones))]
    return copy


def _aware(prop: Any, zones: SeriesZones, floating: tzinfo | None) -> Any:
    value = prop.dt
    if not isinstance(value, datetime):
        return value
    tzid = prop.params.get("TZID")
    if tzid:
        return value.replace(tzinfo=None).replace(tzinfo=zones.zone_of(str(tzid)))
    if value.tzinfo is None and floating is not None:
        return value.replace(tzinfo=floating)
    return value


def _list_values(prop: Any, zones: SeriesZones) -> list[Any]:
    props = prop if isinstance(prop, list) else [prop]
    values: list[Any] = []
    for one in props:
        tzid = one.params.get("TZID")
        zone = zones.zone_of(str(tzid)) if tzid else None
        for item in one.dts:
            values.append(_with_zone(item.dt, zone))
    return values


def _with_zone(value: Any, zone: tzinfo | None) -> Any:
    if isinstance(value, tuple):
        return tuple(_with_zone(part, zone) for part in value)
    if isinstance(value, datetime) and zone is not None:
        return value.replace(tzinfo=None).replace(tzinfo=zone)
    return value


def _move_recurrence_values(event: icalendar.Event, reference: tzinfo) -> None:
    if "RECURRENCE-ID" in event:
        original = prop_of(event, "RECURRENCE-ID")
        moved = vDDDTypes(_into_zone(original.dt, reference))
        if "RANGE" in original.params:
            moved.params["RANGE"] = original.params["RANGE"]
        event["RECURRENCE-ID"] = moved

    for name in ("EXDATE", "RDATE"):
        if name in event:
            values = [
                _into_zone(item.dt, reference) for item in prop_of(event, name)[0].dts
            ]
            event[name] = [vDDDLists(values)]


def _into_zone(value: Any, zone: tzinfo) -> Any:
    if isinstance(value, tuple):
        return tuple(_into_zone(part, zone) for part in value)
    if not isinstance(value, datetime):
        return value
    if value.tzinfo is None:
        return value.replace(tzinfo=zone)
    return value.astimezone(zone)


def _normalize_until(event: icalendar.Event, reference: tzinfo, owner: tzinfo) -> None:
    rules = prop_of(event, "RRULE")
    if not isinstance(rules, list):
        rules = [rules]
    start = value_of(event, "DTSTART")
    fixed = []
    for rule in rules:
        rule = vRecur(dict(rule))
        if rule.get("UNTIL"):
            rule["UNTIL"] = [_until_value(rule["UNTIL"][0], start, reference, owner)]
        fixed.append(rule)
    event["RRULE"] = fixed[0] if len(fixed) == 1 else fixed


def _until_value(
    until: date, start: date, reference: tzinfo, owner: tzinfo
) -> date | datetime:
    """Bring UNTIL to the type of DTSTART; a date UNTIL includes its whole day."""
    if not isinstance(start, datetime):
        if isinstance(until, datetime):
            return until.astimezone(owner).date() if until.tzinfo else until.date()
        return until
    if not isinstance(until, datetime):
        return datetime.combine(until, time(23, 59, 59), reference).astimezone(UTC)
    if until.tzinfo is None:
        return until.replace(tzinfo=reference).astimezone(UTC)
    return until.astimezone(UTC)


def _latest_copies(components: list[icalendar.Event]) -> list[icalendar.Event]:
    latest: dict[Any, icalendar.Event] = {}
    for component in components:
        key = _occurrence_key(component)
        kept = latest.get(key)
        if kept is None or _sequence(component) >= _sequence(kept):
            latest[key] = component
    return list(latest.values())


def _occurrence_key(component: icalendar.Event) -> Any:
    if "RECURRENCE-ID" not in component:
        return None
    value = value_of(component, "RECURRENCE-ID")
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    return value


def _sequence(component: icalendar.Event) -> int:
    try:
        return int(component.get("SEQUENCE", 0))
    except (TypeError, ValueError):
        return 0
