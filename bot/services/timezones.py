"""IANA time zone names: validation and canonicalisation (`Europe/Kiev` -> `Europe/Kyiv`)."""

from __future__ import annotations

from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from bot.services.errors import InvalidTimeZone

# Old names tzdata still loads under their old key; people and old systems still send them.
_RENAMED = {
    "Europe/Kiev": "Europe/Kyiv",
    "Europe/Uzhgorod": "Europe/Kyiv",
    "Europe/Zaporozhye": "Europe/Kyiv",
    "Asia/Calcutta": "Asia/Kolkata",
    "Asia/Saigon": "Asia/Ho_Chi_Minh",
    "Asia/Katmandu": "Asia/Kathmandu",
    "Asia/Rangoon": "Asia/Yangon",
    "Asia/Dacca": "Asia/Dhaka",
    "Asia/Thimbu": "Asia/Thimphu",
    "Asia/Ulan_Bator": "Asia/Ulaanbaatar",
    "Asia/Ashkhabad": "Asia/Ashgabat",
    "Asia/Chungking": "Asia/Chongqing",
    "Asia/Macao": "Asia/Macau",
    "Atlantic/Faeroe": "Atlantic/Faroe",
    "America/Godthab": "America/Nuuk",
    "America/Buenos_Aires": "America/Argentina/Buenos_Aires",
    "America/Indianapolis": "America/Indiana/Indianapolis",
    "Pacific/Truk": "Pacific/Chuuk",
    "Pacific/Ponape": "Pacific/Pohnpei",
    "Pacific/Enderbury": "Pacific/Kanton",
    "US/Eastern": "America/New_York",
    "US/Central": "America/Chicago",
    "US/Mountain": "America/Denver",
    "US/Pacific": "America/Los_Angeles",
    "UTC": "UTC",
    "Etc/UTC": "UTC",
    "Etc/GMT": "UTC",
    "GMT": "UTC",
    "Z": "UTC",
}


@lru_cache(maxsize=1)
def _known() -> dict[str, str]:
    """Every loadable name, keyed case-insensitively."""
    return {name.lower(): name for name in available_timezones()}


def canonical_zone(name: str) -> str:
    """The canonical IANA name for `name` (any case, old names accepted); InvalidTimeZone otherwise."""
    cleaned = name.strip().replace(" ", "_")
    if not cleaned or len(cleaned) > 64:
        raise InvalidTimeZone(name)
    exact = _known().get(cleaned.lower())
    for candidate in (cleaned, exact):
        if candidate and candidate in _RENAMED:
            return _RENAMED[candidate]
    if exact is None:
        raise InvalidTimeZone(name)
    return exact


@lru_cache(maxsize=512)
def zone(name: str) -> ZoneInfo:
    """The ZoneInfo for a canonical or old name; InvalidTimeZone for anything else."""
    try:
        return ZoneInfo(canonical_zone(name))
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidTimeZone(name) from exc
