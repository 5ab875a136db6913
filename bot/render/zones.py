"""Time zone names for people: "Kyiv (UTC+02:00)", localized where Babel knows the city.

Babel 2.19 (the lock's floor) keys its zone data by the current IANA names (Europe/Kyiv,
Asia/Kolkata, ...); older releases knew the renamed zones only by their old names, hence
`babel>=2.19` in pyproject.toml.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING

from babel import Locale
from babel.dates import get_timezone_location

from bot.services.timezones import canonical_zone, zone

if TYPE_CHECKING:
    from bot.services.zone_search import ZoneMatch

UNIVERSAL = "UTC"


@lru_cache(maxsize=4096)
def zone_city(name: str, locale: str) -> str:
    """The zone's city in `locale` ("Київ" for Europe/Kyiv in uk); the IANA city part where Babel has none."""
    canonical = canonical_zone(name)
    if canonical == UNIVERSAL:
        return UNIVERSAL
    city = Locale.parse(locale).time_zones.get(canonical, {}).get("city")
    if city:
        return str(city)
    return str(get_timezone_location(canonical, locale=locale, return_city=True))


def utc_offset(name: str, at: datetime) -> str:
    """ "UTC+02:00", "UTC-04:00", "UTC+05:30" at the instant `at` (offsets change with DST)."""
    offset = at.astimezone(zone(name)).utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset is not None else 0
    sign = "+" if minutes >= 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours:02d}:{rest:02d}"


def zone_label(name: str, locale: str, at: datetime) -> str:
    """ "Kyiv (UTC+02:00)": what onboarding shows back and every time carries."""
    if canonical_zone(name) == UNIVERSAL:
        return UNIVERSAL
    return f"{zone_city(name, locale)} ({utc_offset(name, at)})"


def zone_choice(match: ZoneMatch, at: datetime) -> str:
    """A candidate's button: "Kharkiv, Ukraine (UTC+02:00)", "UTC" for UTC itself."""
    if canonical_zone(match.zone) == UNIVERSAL:
        return UNIVERSAL
    return f"{match.place_name} ({utc_offset(match.zone, at)})"
